import { afterEach, describe, expect, it } from 'vitest';
import { HEALTH_DB_DOWN, HEALTH_OK, json, stubFetch } from '../test/fetch';
import { expectShape, queryString, request, setCsrfToken, setUnauthorizedHandler } from './client';
import { ApiError } from './errors';
import { getHealth } from './health';

async function rejection(promise: Promise<unknown>): Promise<ApiError> {
  try {
    await promise;
  } catch (e) {
    if (e instanceof ApiError) return e;
    throw e;
  }
  throw new Error('expected the call to fail');
}

describe('request', () => {
  it('asks for JSON on the same origin and sends bodies as JSON', async () => {
    const fetchSpy = stubFetch(() => json({ done: true }));
    await expect(request('/api/v1/thing', { method: 'POST', body: { a: 1 } })).resolves.toEqual({ done: true });
    const [url, init] = fetchSpy.mock.calls[0] ?? [];
    expect(url).toBe('/api/v1/thing');
    expect(init?.method).toBe('POST');
    expect(init?.credentials).toBe('same-origin');
    expect(init?.headers).toEqual({ Accept: 'application/json', 'Content-Type': 'application/json' });
    expect(init?.body).toBe('{"a":1}');
  });

  it('maps an {error, code} body to an ApiError with the status, code and message', async () => {
    stubFetch(() => json({ error: 'Host not found', code: 'not_found' }, 404));
    const err = await rejection(request('/api/v1/hosts/x'));
    expect(err.status).toBe(404);
    expect(err.code).toBe('not_found');
    expect(err.message).toBe('Host not found');
    expect(err.body).toEqual({ error: 'Host not found', code: 'not_found' });
    expect(err.isTransient).toBe(false);
  });

  it('keeps extra fields of the error body', async () => {
    stubFetch(() => json({ error: 'Too many requests', code: 'rate_limited', retryAfter: 30 }, 429));
    const err = await rejection(request('/api/v1/x'));
    expect(err.code).toBe('rate_limited');
    expect(err.body?.retryAfter).toBe(30);
  });

  it('gives a status-based code when an error response has no JSON body', async () => {
    stubFetch(() => new Response('<html>Bad gateway</html>', { status: 502, statusText: 'Bad Gateway' }));
    const err = await rejection(request('/api/v1/x'));
    expect(err.status).toBe(502);
    expect(err.code).toBe('http_502');
    expect(err.message).toBe('Server answered 502: Bad Gateway');
    expect(err.body).toBeUndefined();
    expect(err.isTransient).toBe(true);
  });

  it('reports a network failure as status 0, network_error', async () => {
    stubFetch(() => Promise.reject(new TypeError('Failed to fetch')));
    const err = await rejection(request('/health'));
    expect(err.status).toBe(0);
    expect(err.code).toBe('network_error');
    expect(err.cause).toBeInstanceOf(TypeError);
    expect(err.isTransient).toBe(true);
  });

  it('rejects a successful answer that is not JSON', async () => {
    stubFetch(() => new Response('<!doctype html><title>app</title>', { status: 200 }));
    const err = await rejection(request('/api/v1/x'));
    expect(err.code).toBe('invalid_response');
  });
});

describe('getHealth', () => {
  it('returns the health document', async () => {
    const fetchSpy = stubFetch(() => json(HEALTH_OK));
    await expect(getHealth()).resolves.toEqual(HEALTH_OK);
    expect(fetchSpy.mock.calls[0]?.[0]).toBe('/health');
  });

  it('turns a 503 into an ApiError carrying the health body', async () => {
    stubFetch(() => json(HEALTH_DB_DOWN, 503));
    const err = await rejection(getHealth());
    expect(err.status).toBe(503);
    expect(err.code).toBe('unavailable');
    expect(err.message).toBe('Database unreachable');
    expect(err.body?.database).toBe('unreachable');
  });

  it('rejects a 200 that lacks the fields the page shows', async () => {
    stubFetch(() => json({ status: 'ok' }));
    const err = await rejection(getHealth());
    expect(err.code).toBe('invalid_response');
  });
});

describe('request: session and CSRF', () => {
  afterEach(() => {
    document.cookie = 'patchmon_csrf=; expires=Thu, 01 Jan 1970 00:00:00 GMT; path=/';
    setCsrfToken(null);
  });

  it('sends the CSRF token from the readable cookie on writes, never on reads', async () => {
    document.cookie = 'patchmon_csrf=tok%2Fen-1; path=/';
    const fetchSpy = stubFetch(() => json({ ok: true }));
    await request('/api/v1/x', { method: 'PUT', body: {} });
    await request('/api/v1/x');
    const writeHeaders = fetchSpy.mock.calls[0]?.[1]?.headers as Record<string, string>;
    const readHeaders = fetchSpy.mock.calls[1]?.[1]?.headers as Record<string, string>;
    expect(writeHeaders['X-CSRF-Token']).toBe('tok/en-1');
    expect(readHeaders['X-CSRF-Token']).toBeUndefined();
  });

  it('falls back to the token of the login answer when there is no cookie', async () => {
    setCsrfToken('from-login');
    const fetchSpy = stubFetch(() => json({}));
    await request('/api/v1/x', { method: 'DELETE' });
    expect((fetchSpy.mock.calls[0]?.[1]?.headers as Record<string, string>)['X-CSRF-Token']).toBe('from-login');
  });

  it('reports a 401 to the unauthorized handler, unless the caller expects it', async () => {
    const seen: ApiError[] = [];
    const unregister = setUnauthorizedHandler((e) => seen.push(e));
    stubFetch(() => json({ error: 'Authentication required', code: 'unauthorized' }, 401));
    const err = await rejection(request('/api/v1/hosts'));
    expect(err.status).toBe(401);
    expect(seen).toHaveLength(1);
    await rejection(request('/api/v1/auth/login', { method: 'POST', body: {}, allow401: true }));
    expect(seen).toHaveLength(1);
    unregister();
    await rejection(request('/api/v1/hosts'));
    expect(seen).toHaveLength(1);
  });

  it('does not call the unauthorized handler for a 403', async () => {
    const seen: ApiError[] = [];
    const unregister = setUnauthorizedHandler((e) => seen.push(e));
    stubFetch(() => json({ error: 'Insufficient permissions', code: 'forbidden' }, 403));
    const err = await rejection(request('/api/v1/settings'));
    expect(err.message).toBe('Insufficient permissions');
    expect(seen).toHaveLength(0);
    unregister();
  });

  it('keeps the message of an {"error"} body that has no code', async () => {
    stubFetch(() => json({ error: 'Setup has already been completed' }, 400));
    const err = await rejection(request('/api/v1/auth/setup-admin', { method: 'POST', body: {} }));
    expect(err.message).toBe('Setup has already been completed');
    expect(err.code).toBe('http_400');
  });

  it('accepts an empty successful answer', async () => {
    stubFetch(() => new Response(null, { status: 204 }));
    await expect(request('/api/v1/x', { method: 'DELETE' })).resolves.toBeNull();
  });
});

describe('expectShape and queryString', () => {
  it('rejects an answer missing a field the screen relies on', () => {
    expect(() => expectShape({ hosts: {} }, 'hosts', { hosts: 'array' })).toThrow('Unexpected answer from the server (hosts: hosts)');
    expect(expectShape({ hosts: [] }, 'hosts', { hosts: 'array' })).toEqual({ hosts: [] });
  });

  it('leaves out empty parameters', () => {
    expect(queryString({ page: 2, search: '', os: undefined, needs_updates: true })).toBe('?page=2&needs_updates=true');
    expect(queryString({})).toBe('');
  });
});
