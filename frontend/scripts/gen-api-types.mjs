// Generates src/api/types.ts from the server's OpenAPI document
// (docs/openapi.json, itself generated from the Rust types and checked by the
// server's tests), as DESIGN.md §7 requires:
//
// - one exported type per schema in `components.schemas`;
// - `ApiResponses`: the success body of every documented operation, keyed
//   `'METHOD /api/v1/path/{param}'`;
// - `ApiRequests`: the JSON request body of every operation that documents one.
//
// `node scripts/gen-api-types.mjs` writes the file; `--check` exits 1 when the
// file on disk differs (run by `npm test`, so CI fails on a stale file).
//
// Rule for optional fields: the server serialises `Option<T>` as `null`, so in
// an answer a nullable property is always present (`T | null`) and a property
// that is neither required nor nullable may be absent (`name?: T`). A schema
// used only in request bodies is input: every property not required may be
// left out (`name?: T | null`), as the server's `Option` fields allow.

import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const specPath = path.resolve(here, '../../docs/openapi.json');
const outPath = path.resolve(here, '../src/api/types.ts');

const spec = JSON.parse(readFileSync(specPath, 'utf8'));
const schemas = spec.components?.schemas ?? {};

const IDENT = /^[A-Za-z_$][A-Za-z0-9_$]*$/;
const key = (k) => (IDENT.test(k) ? k : JSON.stringify(k));

function refName(ref) {
  const prefix = '#/components/schemas/';
  if (!ref.startsWith(prefix)) throw new Error(`unsupported $ref ${ref}`);
  const name = ref.slice(prefix.length);
  if (!(name in schemas)) throw new Error(`$ref to missing schema ${name}`);
  return name;
}

function isNullable(s) {
  if (!s || typeof s !== 'object') return false;
  if (Array.isArray(s.type) && s.type.includes('null')) return true;
  if (s.type === 'null') return true;
  for (const alt of s.oneOf ?? s.anyOf ?? []) if (isNullable(alt)) return true;
  return false;
}

const wrap = (t) => (/[|&]/.test(t) && !/^\{[\s\S]*\}$/.test(t) ? `(${t})` : t);

function union(parts) {
  const uniq = [...new Set(parts)];
  // `null` last reads best: `string | null`.
  uniq.sort((a, b) => (a === 'null') - (b === 'null'));
  return uniq.join(' | ');
}

function comment(text, indent) {
  if (!text) return '';
  const lines = String(text).trim().split('\n');
  if (lines.length === 1) return `${indent}/** ${lines[0].replace(/\*\//g, '*\\/')} */\n`;
  return `${indent}/**\n${lines.map((l) => `${indent} * ${l.replace(/\*\//g, '*\\/')}`.trimEnd()).join('\n')}\n${indent} */\n`;
}

function objectType(s, indent, input) {
  const props = s.properties ?? {};
  const required = new Set(s.required ?? []);
  const names = Object.keys(props);
  const extra = s.additionalProperties;
  if (names.length === 0) {
    if (extra && typeof extra === 'object') return `Record<string, ${tsType(extra, indent, input)}>`;
    return 'Record<string, unknown>';
  }
  const inner = `${indent}  `;
  let out = '{\n';
  for (const name of names) {
    const p = props[name];
    const optional = !required.has(name) && (input || !isNullable(p));
    out += comment(p.description, inner);
    out += `${inner}${key(name)}${optional ? '?' : ''}: ${tsType(p, inner, input)};\n`;
  }
  if (extra && typeof extra === 'object') out += `${inner}[key: string]: unknown;\n`;
  return `${out}${indent}}`;
}

function tsType(s, indent = '', input = false) {
  if (s === true || s === undefined || s === null) return 'unknown';
  if (s.$ref) return refName(s.$ref);
  if (s.enum) return union(s.enum.map((v) => (v === null ? 'null' : JSON.stringify(v))));
  if ('const' in s) return JSON.stringify(s.const);
  if (s.oneOf || s.anyOf) return union((s.oneOf ?? s.anyOf).map((x) => tsType(x, indent, input)));
  if (s.allOf) {
    const parts = s.allOf.map((x) => tsType(x, indent, input));
    return parts.length === 1 ? parts[0] : parts.map(wrap).join(' & ');
  }
  const types = Array.isArray(s.type) ? s.type : s.type ? [s.type] : [];
  if (types.length === 0) return s.properties ? objectType(s, indent, input) : 'unknown';
  return union(
    types.map((t) => {
      switch (t) {
        case 'null':
          return 'null';
        case 'string':
          return 'string';
        case 'integer':
        case 'number':
          return 'number';
        case 'boolean':
          return 'boolean';
        case 'array':
          return `${wrap(tsType(s.items, indent, input))}[]`;
        case 'object':
          return objectType(s, indent, input);
        default:
          throw new Error(`unsupported schema type ${t}`);
      }
    }),
  );
}

function successBody(op) {
  const responses = op.responses ?? {};
  const codes = Object.keys(responses).filter((c) => /^2/.test(c)).sort();
  for (const code of codes) {
    const schema = responses[code]?.content?.['application/json']?.schema;
    if (schema) return tsType(schema, '  ');
  }
  return null;
}

let out = `// GENERATED by scripts/gen-api-types.mjs from docs/openapi.json — do not edit.
// Regenerate: npm run gen:types (after UPDATE_OPENAPI=1 cargo test -p patchmon-server --test it openapi).

`;

/** Every schema name reachable through `$ref`s from `roots`. */
function reachable(roots) {
  const seen = new Set();
  const walk = (v) => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object') {
      if (typeof v.$ref === 'string') {
        const name = refName(v.$ref);
        if (!seen.has(name)) {
          seen.add(name);
          walk(schemas[name]);
        }
      }
      Object.values(v).forEach(walk);
    }
  };
  walk(roots);
  return seen;
}
const ops = Object.values(spec.paths ?? {}).flatMap((item) => Object.values(item));
const answered = reachable(ops.map((op) => op.responses ?? {}));
const inputOnly = new Set([...reachable(ops.map((op) => op.requestBody ?? {}))].filter((n) => !answered.has(n)));

for (const name of Object.keys(schemas).sort()) {
  const s = schemas[name];
  out += comment(s.description, '');
  const body = tsType(s, '', inputOnly.has(name));
  if (body.startsWith('{')) out += `export interface ${name} ${body}\n\n`;
  else out += `export type ${name} = ${body};\n\n`;
}

const responses = [];
const requests = [];
for (const [p, item] of Object.entries(spec.paths ?? {}).sort(([a], [b]) => a.localeCompare(b))) {
  for (const [method, op] of Object.entries(item)) {
    const k = JSON.stringify(`${method.toUpperCase()} ${p}`);
    const res = successBody(op);
    if (res) responses.push(`  ${k}: ${res};\n`);
    const req = op.requestBody?.content?.['application/json']?.schema;
    if (req) requests.push(`  ${k}: ${tsType(req, '  ', true)};\n`);
  }
}
out += `/** The success body of every operation that documents one. */\nexport interface ApiResponses {\n${responses.join('')}}\n\n`;
out += `/** The JSON request body of every operation that documents one. */\nexport interface ApiRequests {\n${requests.join('')}}\n`;

if (process.argv.includes('--check')) {
  let current = '';
  try {
    current = readFileSync(outPath, 'utf8');
  } catch {
    // missing: reported below
  }
  if (current !== out) {
    console.error('gen-api-types: src/api/types.ts is out of date with docs/openapi.json; run: npm run gen:types');
    process.exit(1);
  }
  console.log(`gen-api-types: src/api/types.ts current (${Object.keys(schemas).length} schemas, ${responses.length} responses)`);
} else {
  writeFileSync(outPath, out);
  console.log(`gen-api-types: wrote src/api/types.ts (${Object.keys(schemas).length} schemas, ${responses.length} responses)`);
}
