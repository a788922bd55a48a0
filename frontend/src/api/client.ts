import { ApiError, CLIENT_ERROR_CODES, isApiErrorBody } from './errors';

export interface RequestOptions {
  method?: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** Serialised as JSON. */
  body?: unknown;
  signal?: AbortSignal;
}

/**
 * Calls the server's JSON API at `path` (same origin) and returns the parsed
 * body, or throws an ApiError. The response body is not validated here; each
 * endpoint module checks the shape it relies on (see `health.ts`).
 */
export async function request(path: string, options: RequestOptions = {}): Promise<unknown> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  const init: RequestInit = {
    method: options.method ?? 'GET',
    headers,
    credentials: 'same-origin',
  };
  if (options.body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(options.body);
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
    if (isJson && isApiErrorBody(parsed)) {
      throw new ApiError(response.status, parsed.code, parsed.error, parsed);
    }
    const reason = response.statusText || 'request failed';
    throw new ApiError(response.status, `http_${response.status}`, `Server answered ${response.status}: ${reason}`);
  }
  if (!isJson) {
    throw new ApiError(response.status, CLIENT_ERROR_CODES.invalidResponse, 'The server did not answer with JSON');
  }
  return parsed;
}

/** For endpoint modules: the answer was JSON but not the shape they rely on. */
export function invalidResponse(what: string): ApiError {
  return new ApiError(200, CLIENT_ERROR_CODES.invalidResponse, `Unexpected answer from the server (${what})`);
}
