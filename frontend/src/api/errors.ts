import type { ApiErrorBody } from './model';

/** Codes the client itself produces when there is no server error body to read. */
export const CLIENT_ERROR_CODES = {
  /** The request never got an HTTP answer (server down, DNS, connection reset). */
  network: 'network_error',
  /** The server answered, but not with the JSON we expect. */
  invalidResponse: 'invalid_response',
} as const;

/**
 * A failed API call. `status` is the HTTP status (0 when there was no answer),
 * `code` the server's stable error code (or one of CLIENT_ERROR_CODES),
 * `body` the parsed error body when the server sent one.
 */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  readonly status: number;
  readonly code: string;
  readonly body: ApiErrorBody | undefined;

  constructor(status: number, code: string, message: string, body?: ApiErrorBody, options?: ErrorOptions) {
    super(message, options);
    this.status = status;
    this.code = code;
    this.body = body;
  }

  /** True for failures worth retrying: no answer, or a 5xx. */
  get isTransient(): boolean {
    return this.status === 0 || this.status >= 500;
  }
}

export function isApiErrorBody(value: unknown): value is ApiErrorBody {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as Record<string, unknown>).error === 'string' &&
    typeof (value as Record<string, unknown>).code === 'string'
  );
}

/** A readable message for any thrown value, for toasts and error panels. */
export function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}
