// The web app's API calls against the server's contract (docs/openapi.json,
// generated from the server's route table and Rust types, checked by the
// server's tests):
//
// 1. every call (`request('/api/v1/…')` in src/api/*.ts) is a documented
//    route with the same method;
// 2. every call whose answer the client reads declares its type
//    (`expectShape<T>(await request(…))` or `expectArray<T>(…)`), and that
//    route documents a response schema;
// 3. src/api/contract.gen.ts states, for each such call, that the
//    documented response type is assignable to the declared type, so
//    `tsc -b` (npm run build) fails when client and server disagree on a field;
// 4. every call to a route that documents a JSON request body sends it as
//    `body: { … } satisfies ApiRequest<'METHOD /documented/{path}'>` naming
//    that very route (or, for a variable, `body: input satisfies
//    ApiRequest<'…', typeof input>`), so tsc checks what the client sends
//    against the server's input type, unknown or misspelt fields included;
//    a body sent to a route that documents none must be a Blob (`body: file`).
//
// `node scripts/check-api-routes.mjs --write` rewrites contract.gen.ts
// (`npm run gen:types` does both generators); without it the file must be
// current. Exits 1 on any mismatch.

import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const apiDir = path.resolve(here, '../src/api');
const contractPath = path.join(apiDir, 'contract.gen.ts');
const spec = JSON.parse(readFileSync(path.resolve(here, '../../docs/openapi.json'), 'utf8'));
const write = process.argv.includes('--write');

/** `/api/v1/hosts/{host_id}/groups` → `/api/v1/hosts/{}/groups` */
const normalise = (p) => p.replace(/\{[^}]*\}/g, '{}');

/** `METHOD /normalised/path` → { key: 'METHOD /documented/{path}', hasBody, takesJson } */
const documented = new Map();
for (const [p, ops] of Object.entries(spec.paths ?? {})) {
  for (const [method, op] of Object.entries(ops)) {
    const ok = Object.entries(op.responses ?? {}).some(([code, r]) => /^2/.test(code) && r?.content?.['application/json']?.schema);
    const takesJson = Boolean(op.requestBody?.content?.['application/json']?.schema);
    documented.set(`${method.toUpperCase()} ${normalise(p)}`, { key: `${method.toUpperCase()} ${p}`, hasBody: ok, takesJson });
  }
}

/**
 * The text inside the bracket pair that opens at `open` (`(` or `<`), up to
 * its match; an arrow's `=>` is not a closing `>`.
 */
function inside(src, open) {
  const [opener, closer] = src[open] === '<' ? ['<', '>'] : ['(', ')'];
  let depth = 0;
  for (let i = open; i < src.length; i += 1) {
    if (src[i] === opener) depth += 1;
    else if (src[i] === closer && !(closer === '>' && src[i - 1] === '=')) {
      depth -= 1;
      if (depth === 0) return src.slice(open + 1, i);
    }
  }
  throw new Error(`unbalanced ${opener}`);
}

const calls = [];
const problems = [];
const files = readdirSync(apiDir).filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts') && !f.endsWith('.gen.ts') && f !== 'types.ts');
for (const file of files) {
  let src = readFileSync(path.join(apiDir, file), 'utf8');
  // `const BASE = '/api/v1/…'` used as `request(BASE…)` / `` request(`${BASE}/…`) ``.
  for (const m of src.matchAll(/const (\w+) = '(\/api\/v1\/[^']*)';/g)) {
    src = src.replaceAll(`\${${m[1]}}`, m[2]).replace(new RegExp(`request\\(${m[1]}\\b`, 'g'), `request('${m[2]}'`);
  }
  const re = /request\(\s*[`'](\/api\/v1\/[^`']*)[`']\s*(?:,\s*\{([^}]*)\})?/g;
  for (const m of src.matchAll(re)) {
    const url = m[1].replace(/\$\{queryString\([^)]*\)\}/g, '').replace(/\?.*$/, '').replace(/\$\{[^}]*\}/g, '{}');
    const method = /method:\s*'([A-Z]+)'/.exec(m[2] ?? '')?.[1] ?? 'GET';
    const call = `${method} ${url}`;
    // What the answer is read as: the expectShape/expectArray wrapping this call.
    const before = src.slice(Math.max(0, m.index - 200), m.index);
    const wrap = /(expectShape|expectArray)(<)(?:[\s\S](?!expectShape|expectArray))*?\(\s*await\s*$/.exec(before);
    let type = null;
    if (wrap) {
      const start = m.index - before.length + wrap.index + wrap[1].length;
      const t = inside(src, start);
      type = wrap[1] === 'expectArray' ? `(${t})[]` : t;
    } else if (!new RegExp(`^\\s*await\\s*$`).test(before.split(/[;{}]\s*\n/).pop() ?? '')) {
      problems.push(`${call} (src/api/${file}): its answer is read without expectShape<T>/expectArray<T>`);
    }
    // What the call sends: `body: … satisfies ApiRequest<'KEY'>`, or a Blob.
    const text = inside(src, m.index + 'request'.length);
    const sends = /\bbody:/.test(text);
    const sat = /body:\s*([\w.]+)?[^]*?satisfies\s+ApiRequest<\s*'([^']+)'\s*(?:,\s*typeof\s+([\w.]+)\s*)?>/.exec(text);
    const declared = sat?.[2] ?? null;
    if (sat && sat[1] && sat[3] !== sat[1]) {
      problems.push(`${call} (src/api/${file}): a variable body needs \`${sat[1]} satisfies ApiRequest<'…', typeof ${sat[1]}>\` (so extra keys are refused)`);
    }
    calls.push({ call, file, type, sends, declared });
  }
}

if (calls.length < 40) {
  console.error(`check-api-routes: found only ${calls.length} calls in src/api; the scan is broken`);
  process.exit(1);
}

const lines = [];
for (const c of calls) {
  const doc = documented.get(c.call);
  if (!doc) {
    problems.push(`${c.call} (src/api/${c.file}) is not in docs/openapi.json`);
    continue;
  }
  if (doc.takesJson && c.declared !== doc.key) {
    problems.push(
      `${c.call} (src/api/${c.file}) must send its body as \`… satisfies ApiRequest<'${doc.key}'>\`` +
        (c.declared ? ` (it names '${c.declared}')` : ''),
    );
  } else if (!doc.takesJson && c.sends && c.declared) {
    problems.push(`${c.call} (src/api/${c.file}) declares ApiRequest<'${c.declared}'>, but the server documents no JSON body for it`);
  } else if (!doc.takesJson && c.sends && c.call !== 'PUT /api/v1/settings/logo') {
    // The only body the server documents no JSON schema for: the logo upload, a Blob.
    problems.push(`${c.call} (src/api/${c.file}) sends a body, but the server documents none for it`);
  }
  if (c.type === null) continue;
  if (!doc.hasBody) {
    problems.push(`${c.call} (src/api/${c.file}) reads the answer as ${c.type}, but the server documents no response schema for it`);
    continue;
  }
  const local = c.type.replace(/\b([A-Z][A-Za-z0-9_]*)\b/g, (n) => (['Record', 'Partial', 'Pick', 'Omit', 'Array'].includes(n) ? n : `M.${n}`));
  lines.push(`  Expect<Assignable<ApiResponses[${JSON.stringify(doc.key)}], ${local}>>, // ${c.file}`);
}

const contract = `// GENERATED by scripts/check-api-routes.mjs — do not edit.
// For each API call the web app reads: the server's documented answer
// (ApiResponses, from docs/openapi.json) must be assignable to the type the
// client declares. \`tsc -b\` checks it.
import type { ApiResponses } from './types';
import type * as M from './model';

type Assignable<A, B> = [A] extends [B] ? true : false;
type Expect<T extends true> = T;

export type ApiContract = [
${lines.join('\n')}
];
`;

if (write) {
  writeFileSync(contractPath, contract);
} else {
  let current = '';
  try {
    current = readFileSync(contractPath, 'utf8');
  } catch {
    // missing: reported below
  }
  if (current !== contract) problems.push('src/api/contract.gen.ts is out of date; run: npm run gen:types');
}

// A hand-written type must not shadow a generated one (model.ts re-exports types.ts).
const generated = new Set([...readFileSync(path.join(apiDir, 'types.ts'), 'utf8').matchAll(/^export (?:interface|type) (\w+)/gm)].map((m) => m[1]));
for (const file of files) {
  for (const m of readFileSync(path.join(apiDir, file), 'utf8').matchAll(/^export (?:interface|type|const) (\w+)/gm)) {
    if (generated.has(m[1])) problems.push(`src/api/${file} declares ${m[1]}, which the server's contract already defines (src/api/types.ts)`);
  }
}

if (problems.length > 0) {
  for (const p of problems) console.error(`check-api-routes: ${p}`);
  process.exit(1);
}
const bodies = calls.filter((c) => c.declared).length;
console.log(
  `check-api-routes: ${calls.length} API calls documented; ${lines.length} typed answers and ${bodies} request bodies checked against the server's schemas`,
);
