import { vi } from 'vitest';

/** A JSON response as the server would send it. */
export function json(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });
}

type Handler = (url: string, init: RequestInit | undefined) => Response | Promise<Response>;

/**
 * Replaces the global fetch (the network boundary) with `handler` for one
 * test (vitest's unstubGlobals restores it). Returns the spy to inspect calls.
 */
export function stubFetch(handler: Handler) {
  const spy = vi.fn((input: RequestInfo | URL, init?: RequestInit) => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    return Promise.resolve(handler(url, init));
  });
  vi.stubGlobal('fetch', spy);
  return spy;
}

/** A promise with its resolve function exposed, to hold a response back. */
export function deferred<T>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

export const HEALTH_OK = {
  status: 'ok',
  database: 'ok',
  dialect: 'sqlite',
  version: '0.1.0',
  agents_connected: 3,
} as const;

export const HEALTH_DB_DOWN = {
  status: 'error',
  database: 'unreachable',
  dialect: 'postgres',
  error: 'Database unreachable',
  code: 'unavailable',
} as const;

type Perms = Partial<Record<import('../api/model').Permission, boolean>>;

/** The permissions of the built-in admin role (docs/auth.md). */
export const ADMIN_PERMISSIONS: Perms = Object.fromEntries(
  (
    [
      'can_view_dashboard', 'can_view_hosts', 'can_manage_hosts', 'can_view_packages', 'can_manage_packages', 'can_view_users',
      'can_manage_users', 'can_view_reports', 'can_export_data', 'can_manage_settings', 'can_manage_notifications',
      'can_view_notification_logs', 'can_manage_patching', 'can_manage_compliance', 'can_manage_docker', 'can_manage_alerts',
      'can_manage_automation', 'can_use_remote_access', 'can_manage_billing',
    ] as const
  ).map((p) => [p, true]),
);

/** The permissions of the built-in readonly role. */
export const READONLY_PERMISSIONS: Perms = {
  can_view_dashboard: true,
  can_view_hosts: true,
  can_view_packages: true,
  can_view_reports: true,
};

/** A `GET /api/v1/auth/profile` answer for a user with `permissions` (the rest false). */
export function profile(role: string, permissions: Perms) {
  return {
    user: {
      id: '11111111-1111-4111-8111-111111111111',
      username: 'alice',
      email: 'alice@example.com',
      first_name: 'Alice',
      last_name: 'Admin',
      role,
      is_active: true,
      tfa_enabled: false,
      preferences: {},
      permissions: { role, description: null, is_builtin: true, ...permissions },
    },
  };
}

/**
 * Wraps a fetch handler so the app sees a signed-in user: the profile probe
 * answers with `role`/`permissions`; every other call goes to `handler`.
 */
export function withSession(handler: Handler, role = 'admin', permissions: Perms = ADMIN_PERMISSIONS): Handler {
  return (url, init) => {
    if (url === '/api/v1/auth/profile') return json(profile(role, permissions));
    return handler(url, init);
  };
}
