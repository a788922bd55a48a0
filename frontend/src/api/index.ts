export { ApiError, CLIENT_ERROR_CODES, errorMessage, isApiErrorBody } from './errors';
export { request, type RequestOptions } from './client';
export { getHealth } from './health';
export type { ApiErrorBody, HealthOk, HealthUnavailable } from './model';
