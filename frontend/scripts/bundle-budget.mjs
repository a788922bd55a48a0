// Checks the initial JavaScript of the built app against its budget: every
// script and modulepreload that dist/index.html loads up front, gzip-compressed.
// Lazy route chunks are listed but not counted. Exits 1 over budget.
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const BUDGET_BYTES = 300 * 1000; // 300 kB gzip (DESIGN budget "initial JS ≤ 300 KB gzip")

const dist = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../dist');
const html = await readFile(path.join(dist, 'index.html'), 'utf8');

const initial = new Set();
for (const match of html.matchAll(/<script\b[^>]*\bsrc="([^"]+)"/g)) initial.add(match[1]);
for (const match of html.matchAll(/<link\b[^>]*\brel="modulepreload"[^>]*\bhref="([^"]+)"/g)) initial.add(match[1]);

const gz = async (file) => gzipSync(await readFile(path.join(dist, file))).length;
const kb = (bytes) => `${(bytes / 1000).toFixed(1)} kB`;

let total = 0;
for (const src of initial) {
  const size = await gz(src.replace(/^\//, ''));
  total += size;
  console.log(`initial  ${kb(size).padStart(9)}  ${src}`);
}
const assets = await readdir(path.join(dist, 'assets'));
for (const file of assets.filter((f) => f.endsWith('.js') && !initial.has(`/assets/${f}`))) {
  console.log(`lazy     ${kb(await gz(`assets/${file}`)).padStart(9)}  /assets/${file}`);
}
console.log(`initial JS: ${kb(total)} gzip of ${kb(BUDGET_BYTES)} budget`);
if (total > BUDGET_BYTES) {
  console.error('initial JS is over budget: split a route or drop a dependency');
  process.exit(1);
}
