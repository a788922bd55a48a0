import { ApiError, CLIENT_ERROR_CODES, isApiErrorBody } from './errors';

export interface RequestOptions {
  method?: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** Serialised as JSON. */
  body?: unknown;
  signal?: AbortSignal;
  /**
   * Do not report a 401 to the unauthorized handler. For calls where a 401 is
   * an expected answer (the login form, the "who am I" probe).
   */
  allow401?: boolean;
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
const CSRF_COOKIE = 'patchmon_csrf';

/** The CSRF token from the login answer; the readable cookie wins when present (it survives reloads). */
let csrfFromLogin: string | null = null;

export function setCsrfToken(token: string | null): void {
  csrfFromLogin = token;
}

export function csrfToken(): string | null {
  for (const part of document.cookie.split(';')) {
    const [name, ...rest] = part.trim().split('=');
    if (name === CSRF_COOKIE) return decodeURIComponent(rest.join('='));
  }
  return csrfFromLogin;
}

type UnauthorizedHandler = (error: ApiError) => void;
let onUnauthorized: UnauthorizedHandler | null = null;

/**
 * Registers what to do when a call answers 401 (session expired or revoked):
 * the app sends the user to the login page. Returns an unregister function.
 */
export function setUnauthorizedHandler(handler: UnauthorizedHandler | null): () => void {
  onUnauthorized = handler;
  return () => {
    if (onUnauthorized === handler) onUnauthorized = null;
  };
}

/**
 * Calls the server's JSON API at `path` (same origin) and returns the parsed
 * body, or throws an ApiError. Cookie-authenticated writes carry the CSRF
 * header. The response body is not validated here; each endpoint module
 * checks the shape it relies on.
 */
export async function request(path: string, options: RequestOptions = {}): Promise<unknown> {
  const method = options.method ?? 'GET';
  const headers: Record<string, string> = { Accept: 'application/json' };
  const init: RequestInit = { method, headers, credentials: 'same-origin' };
  if (options.body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(options.body);
  }
  if (!SAFE_METHODS.has(method)) {
    const token = csrfToken();
    if (token) headers['X-CSRF-Token'] = token;
  }
  if (options.signal) init.signal = options.signal;

  let response: Response;
  try {
    response = await fetch(path, init);
  } catch (cause) {
    // An abort is the caller's doing, not a failure to report.
    if (cause instanceof DOMException && cause.name === 'AbortError') throw cause;
    throw new ApiError(0, CLIENT_ERROR_CODES.network, 'Could not reach the server', undefined, { cause });
  }

  const text = await response.text();
  let parsed: unknown = undefined;
  let isJson = false;
  if (text.length > 0) {
    try {
      parsed = JSON.parse(text);
      isJson = true;
    } catch {
      isJson = false;
    }
  }

  if (!response.ok) {
    let error: ApiError;
    if (isJson && isApiErrorBody(parsed)) {
      error = new ApiError(response.status, parsed.code, parsed.error, parsed);
    } else if (isJson && isLooseErrorBody(parsed)) {
      // `{"error": "..."}` without a code: keep the server's words.
      error = new ApiError(response.status, `http_${response.status}`, parsed.error, { ...parsed, code: `http_${response.status}` });
    } else {
      const reason = response.statusText || 'request failed';
      error = new ApiError(response.status, `http_${response.status}`, `Server answered ${response.status}: ${reason}`);
    }
    if (response.status === 401 && !options.allow401 && onUnauthorized) onUnauthorized(error);
    throw error;
  }
  if (!isJson) {
    if (response.status === 204 || text.length === 0) return null;
    throw new ApiError(response.status, CLIENT_ERROR_CODES.invalidResponse, 'The server did not answer with JSON');
  }
  return parsed;
}

function isLooseErrorBody(value: unknown): value is { error: string } {
  return typeof value === 'object' && value !== null && typeof (value as Record<string, unknown>).error === 'string';
}

/** For endpoint modules: the answer was JSON but not the shape they rely on. */
export function invalidResponse(what: string): ApiError {
  return new ApiError(200, CLIENT_ERROR_CODES.invalidResponse, `Unexpected answer from the server (${what})`);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Checks that `value` is an object whose listed keys have the given kinds
 * (`array`, `object`, `string`, `number`, `boolean`), and returns it typed.
 * Only the fields a screen relies on are listed; the rest is trusted to types.ts.
 */
// eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters -- the caller names the checked type
export function expectShape<T>(
  value: unknown,
  what: string,
  fields: Record<string, 'array' | 'object' | 'string' | 'number' | 'boolean'> = {},
): T {
  if (!isObject(value)) throw invalidResponse(what);
  for (const [key, kind] of Object.entries(fields)) {
    const v = value[key];
    const ok = kind === 'array' ? Array.isArray(v) : kind === 'object' ? isObject(v) : typeof v === kind;
    if (!ok) throw invalidResponse(`${what}: ${key}`);
  }
  return value as T;
}

/** Checks that `value` is an array and returns it typed. */
export function expectArray<T>(value: unknown, what: string): T[] {
  if (!Array.isArray(value)) throw invalidResponse(what);
  return value as T[];
}

/** `?a=1&b=x` from the defined, non-empty entries (empty string when none). */
export function queryString(params: Record<string, string | number | boolean | undefined | null>): string {
  const qs = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined || v === null || v === '') continue;
    qs.set(k, String(v));
  }
  const s = qs.toString();
  return s ? `?${s}` : '';
}
