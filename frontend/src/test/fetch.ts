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
