import { invalidResponse, request } from './client';
import type { HealthOk } from './model';

function isHealthOk(value: unknown): value is HealthOk {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return (
    v.status === 'ok' &&
    typeof v.database === 'string' &&
    typeof v.dialect === 'string' &&
    typeof v.version === 'string' &&
    typeof v.agents_connected === 'number'
  );
}

/**
 * `GET /health`. Resolves with the server's status when it and its database
 * answer; a 503 (database unreachable) rejects with an ApiError whose `body`
 * is the HealthUnavailable document.
 */
export async function getHealth(signal?: AbortSignal): Promise<HealthOk> {
  const body = await request('/health', signal ? { signal } : {});
  if (!isHealthOk(body)) throw invalidResponse('GET /health');
  return body;
}
