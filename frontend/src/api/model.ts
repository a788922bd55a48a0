// The web app's types: every wire type generated from the server's OpenAPI
// document (./types.ts, `npm run gen:types`), re-exported here, plus the few
// the client shapes itself (and PatchMon-shaped answers the server does not
// describe yet). `npm test` fails if a name here shadows a generated one.

export type * from './types';
import type {
  ApiRequests,
  DiskInfo,
  Health,
  IntegrationToken,
  InterfaceAddressInfo,
  InterfaceInfo,
  PackageDetail,
  PackageHost,
  RolePermissions,
} from './types';

/**
 * The JSON body the server documents for a route, keyed `'METHOD /api/v1/path/{param}'`.
 * Calls send a literal as `body: { … } satisfies ApiRequest<'…'>` and a variable
 * as `body: input satisfies ApiRequest<'…', typeof input>`; with the second
 * argument, a key the server's type does not have is an error too (what an
 * object literal gets for free). scripts/check-api-routes.mjs enforces both forms.
 */
export type ApiRequest<K extends keyof ApiRequests, T = ApiRequests[K]> = ApiRequests[K] & {
  [P in Exclude<keyof T, keyof ApiRequests[K]>]: never;
};

/** Every error response: `{"error": "<human text>", "code": "<stable_snake_case>"}` plus extras. */
export interface ApiErrorBody {
  error: string;
  code: string;
  [extra: string]: unknown;
}

/** `GET /health` when the database answers (200). */
export interface HealthOk extends Health {
  status: 'ok';
  version: string;
  agents_connected: number;
}

/** `GET /health` when the database does not answer (503). */
export interface HealthUnavailable extends Health {
  status: 'error';
  error: string;
  code: string;
}

// ---------------------------------------------------------------------------
// Users, sessions and permissions (docs/auth.md)

/** Permission flags of a role (`role_permissions`). */
export const PERMISSIONS = [
  'can_view_dashboard',
  'can_view_hosts',
  'can_manage_hosts',
  'can_view_packages',
  'can_manage_packages',
  'can_view_users',
  'can_manage_users',
  'can_manage_superusers',
  'can_view_reports',
  'can_export_data',
  'can_manage_settings',
  'can_manage_notifications',
  'can_view_notification_logs',
  'can_manage_patching',
  'can_manage_compliance',
  'can_manage_docker',
  'can_manage_alerts',
  'can_manage_automation',
  'can_use_remote_access',
  'can_manage_billing',
] as const;

export type Permission = (typeof PERMISSIONS)[number];

export type PermissionFlags = Record<Permission, boolean>;

type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type Expect<T extends true> = T;
/** Compile-time check: PERMISSIONS lists exactly the server's permission flags. */
export type PermissionsMatchServer = Expect<Same<Permission, Exclude<keyof RolePermissions, 'role' | 'description' | 'is_builtin'>>>;

// ---------------------------------------------------------------------------
// Fleet: hosts, groups, packages, repositories, dashboard, settings
// (docs/api.md, "Web app API")

/** A network interface / address / disk as the agent reported them. */
export type NetworkInterface = InterfaceInfo;
export type NetworkAddress = InterfaceAddressInfo;
export type DiskDetail = DiskInfo;

/** `GET /api/v1/packages/{id}` as `getPackage` returns it (`installations` → `hosts`, the `hosts` count → `host_count`). */
export interface PackageDetailView extends Omit<PackageDetail, 'hosts' | 'installations'> {
  host_count: number;
  hosts: PackageHost[];
}

// Integrations (docs/integrations.md "Token administration")

export type IntegrationType = 'proxmox-lxc' | 'direct-host' | 'api' | 'gethomepage';

/** Resource → actions, for `api` tokens only (e.g. `{"host": ["get"]}`). */
export type TokenScopes = Record<string, string[]>;

/** The create answer's token: the only time `token_secret` is sent. */
export type CreatedIntegrationToken = IntegrationToken & { token_secret: string };

export interface TokenCreateInput {
  token_name?: string;
  integration_type?: IntegrationType;
  max_hosts_per_day?: number;
  allowed_ip_ranges?: string[];
  default_host_group_id?: string | null;
  /** ISO 8601 or a bare date (end of that day, UTC). */
  expires_at?: string | null;
  scopes?: TokenScopes;
}

/** An edit sends only what changed; `""`/null clears the group and the expiry. */
export interface TokenUpdateInput extends Omit<TokenCreateInput, 'integration_type'> {
  is_active?: boolean;
}
