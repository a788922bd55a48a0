// Checks that every API call the web app makes (request(`/api/v1/…`) in
// src/api/*.ts) is a route the server documents in docs/openapi.json, with the
// same method. docs/openapi.json is generated from the server's route table
// and checked by the server's tests, so this catches a renamed or removed
// route before a browser does. Runs in `npm test`; exits 1 on a mismatch.

import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const apiDir = path.resolve(here, '../src/api');
const spec = JSON.parse(readFileSync(path.resolve(here, '../../docs/openapi.json'), 'utf8'));

/** `/api/v1/hosts/{host_id}/groups` → `/api/v1/hosts/{}/groups` */
const normalise = (p) => p.replace(/\{[^}]*\}/g, '{}');

const documented = new Set();
for (const [p, ops] of Object.entries(spec.paths ?? {})) {
  for (const method of Object.keys(ops)) documented.add(`${method.toUpperCase()} ${normalise(p)}`);
}

const calls = [];
for (const file of readdirSync(apiDir).filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'))) {
  const src = readFileSync(path.join(apiDir, file), 'utf8');
  const re = /request\(\s*[`'](\/api\/v1\/[^`']*)[`']\s*(?:,\s*\{([^}]*)\})?/g;
  for (const m of src.matchAll(re)) {
    const url = m[1].replace(/\$\{queryString\([^)]*\)\}/g, '').replace(/\?.*$/, '').replace(/\$\{[^}]*\}/g, '{}');
    const method = /method:\s*'([A-Z]+)'/.exec(m[2] ?? '')?.[1] ?? 'GET';
    calls.push({ call: `${method} ${url}`, file });
  }
}

const missing = calls.filter((c) => !documented.has(c.call));
if (calls.length < 40) {
  console.error(`check-api-routes: found only ${calls.length} calls in src/api; the scan is broken`);
  process.exit(1);
}
if (missing.length > 0) {
  for (const m of missing) console.error(`check-api-routes: ${m.call} (src/api/${m.file}) is not in docs/openapi.json`);
  process.exit(1);
}
console.log(`check-api-routes: ${calls.length} API calls, all documented in docs/openapi.json`);
