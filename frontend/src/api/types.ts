// Wire types of the server's JSON API.
//
// Written by hand for now, from backend/src/health.rs and the error shape in
// DESIGN.md §7. Once the server publishes docs/openapi.json this file is to be
// generated from it (and CI fails on a diff), as DESIGN.md §7 requires.

/** Every error response: `{"error": "<human text>", "code": "<stable_snake_case>"}` plus extras. */
export interface ApiErrorBody {
  error: string;
  code: string;
  [extra: string]: unknown;
}

/** `GET /health` when the database answers (200). */
export interface HealthOk {
  status: 'ok';
  /** `ok` today; typed wider so a new state renders instead of failing validation. */
  database: string;
  /** `sqlite` or `postgres`. */
  dialect: string;
  /** Server version (the crate version). */
  version: string;
  /** Agents holding a WebSocket to this server process right now. */
  agents_connected: number;
}

/** `GET /health` when the database does not answer (503). */
export interface HealthUnavailable extends ApiErrorBody {
  status: 'error';
  database: 'unreachable';
  dialect?: string;
}
