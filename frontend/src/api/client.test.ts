import { describe, expect, it } from 'vitest';
import { HEALTH_DB_DOWN, HEALTH_OK, json, stubFetch } from '../test/fetch';
import { request } from './client';
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
