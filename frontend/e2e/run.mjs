// Browser end-to-end tests: the real server binary serving the built web app,
// driven through Debian's chromium with playwright-core.
//
// Builds nothing. Needs `npm run build` (frontend/dist) and then the server
// built with it embedded (`cargo build -p patchmon-server`). Server binary:
// $PATCHMON_SERVER_BIN, default ../target/debug/patchmon-server. Chromium:
// $CHROMIUM_PATH, default /usr/bin/chromium. Screenshots and the server log go
// to e2e/artifacts/. Ends with "N passed, M failed"; exits 1 on any failure.

import { spawn } from 'node:child_process';
import { createWriteStream, existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
const frontendDir = path.resolve(here, '..');
const artifacts = path.join(here, 'artifacts');
const serverBin = path.resolve(frontendDir, process.env.PATCHMON_SERVER_BIN ?? '../target/debug/patchmon-server');
const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

const results = [];
/** Cleanup steps, run in reverse order at the end (or on Ctrl-C). */
const cleanups = [];

function log(message) {
  console.log(`[e2e] ${message}`);
}

function assert(condition, message) {
  if (!condition) throw new Error(message);
}

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Starts the server; resolves with { child, baseUrl, exited } once /health answers 200. */
async function startServer(dataDir) {
  if (!existsSync(serverBin)) {
    throw new Error(`server binary not found at ${serverBin} (build it with: cargo build -p patchmon-server --bin patchmon-server, after npm run build)`);
  }
  const port = await freePort();
  const baseUrl = `http://127.0.0.1:${port}`;
  const logFile = createWriteStream(path.join(artifacts, 'server.log'));
  const child = spawn(serverBin, [], {
    env: {
      ...process.env,
      DATABASE_URL: `sqlite://${path.join(dataDir, 'e2e.db')}`,
      PORT: String(port),
      BIND_ADDRESS: '127.0.0.1',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout.pipe(logFile);
  child.stderr.pipe(logFile);
  let exitInfo = null;
  const exited = new Promise((resolve) => {
    child.on('exit', (code, signal) => {
      exitInfo = { code, signal };
      resolve(exitInfo);
    });
  });
  cleanups.push(() => stopServer(child, exited));
  // Last resort if the runner dies without cleaning up: never leave a server behind.
  process.on('exit', () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });

  const deadline = Date.now() + 30_000;
  for (;;) {
    if (exitInfo) throw new Error(`server exited during start-up (${JSON.stringify(exitInfo)}); see e2e/artifacts/server.log`);
    try {
      const res = await fetch(`${baseUrl}/health`);
      if (res.ok) return { child, baseUrl, exited };
    } catch {
      // Not listening yet.
    }
    if (Date.now() > deadline) throw new Error('server did not answer /health within 30 s');
    await sleep(200);
  }
}

async function stopServer(child, exited) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const stopped = await Promise.race([exited, sleep(10_000).then(() => null)]);
  if (!stopped) {
    log('server did not stop within 10 s of SIGTERM; killing it');
    child.kill('SIGKILL');
    await exited;
  }
}

async function runCleanups() {
  while (cleanups.length > 0) {
    const step = cleanups.pop();
    try {
      await step();
    } catch (e) {
      log(`cleanup failed: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
}

function slug(name) {
  return name.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '');
}

async function test(name, page, fn) {
  const started = Date.now();
  try {
    await fn();
    results.push({ name, ok: true });
    log(`ok    ${name} (${Date.now() - started} ms)`);
  } catch (e) {
    results.push({ name, ok: false });
    log(`FAIL  ${name}: ${e instanceof Error ? e.message : String(e)}`);
    if (page) {
      await page.screenshot({ path: path.join(artifacts, `failed-${slug(name)}.png`), fullPage: true }).catch(() => {});
    }
  }
}

/** Text of the value under a label on the status page. */
async function statusField(page, label) {
  const value = page.locator('dt', { hasText: label }).locator('xpath=following-sibling::dd[1]');
  return (await value.textContent({ timeout: 10_000 }))?.trim();
}

async function main() {
  await mkdir(artifacts, { recursive: true });
  const work = await mkdtemp(path.join(tmpdir(), 'patchmon-e2e-'));
  cleanups.push(() => rm(work, { recursive: true, force: true }));
  const profile = path.join(work, 'chromium-profile');

  let server;
  try {
    log(`server: ${serverBin}`);
    server = await startServer(work);
    log(`server up at ${server.baseUrl}`);
    results.push({ name: 'server starts and answers /health', ok: true });
  } catch (e) {
    results.push({ name: 'server starts and answers /health', ok: false });
    log(`FAIL  server starts: ${e instanceof Error ? e.message : String(e)}`);
    return;
  }
  const base = server.baseUrl;
  const health = await (await fetch(`${base}/health`)).json();

  const context = await chromium.launchPersistentContext(profile, {
    executablePath: chromiumPath,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: 1280, height: 800 },
  });
  cleanups.push(() => context.close());
  const page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(10_000);

  const problems = [];
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  page.on('console', (msg) => {
    if (msg.type() === 'error') problems.push(`console error: ${msg.text()}`);
  });
  page.on('requestfailed', (req) => {
    const reason = req.failure()?.errorText ?? '?';
    // Navigations and unmounting pages cancel in-flight fetches; that is not a failure.
    if (reason !== 'net::ERR_ABORTED') problems.push(`request failed: ${req.url()} (${reason})`);
  });

  await test('status page shows ok, sqlite and the server version', page, async () => {
    const response = await page.goto(`${base}/`, { waitUntil: 'load' });
    assert(response?.status() === 200, `GET / answered ${response?.status()}`);
    await page.getByRole('heading', { name: 'Server status' }).waitFor();
    assert((await statusField(page, 'Status')) === 'ok', 'status is not "ok"');
    assert((await statusField(page, 'Database')) === 'ok', 'database is not "ok"');
    assert((await statusField(page, 'Dialect')) === 'sqlite', 'dialect is not "sqlite"');
    const version = await statusField(page, 'Version');
    assert(typeof health.version === 'string' && health.version.length > 0, '/health has no version');
    assert(version === health.version, `version shown "${version}", /health says "${health.version}"`);
    assert((await statusField(page, 'Agents connected')) === '0', 'agents connected is not 0');
    assert((await page.title()) === 'Server status · PatchMon', `title is "${await page.title()}"`);
    const timing = await page.evaluate(() => {
      const [nav] = performance.getEntriesByType('navigation');
      return nav ? { dcl: Math.round(nav.domContentLoadedEventEnd), load: Math.round(nav.loadEventEnd) } : null;
    });
    if (timing) log(`navigation timing: DOMContentLoaded ${timing.dcl} ms, load ${timing.load} ms`);
    await page.screenshot({ path: path.join(artifacts, 'status-light.png'), fullPage: true });
  });

  const isDark = () => page.evaluate(() => document.documentElement.classList.contains('dark'));

  await test('theme follows the system colour scheme until the user chooses', page, async () => {
    await page.emulateMedia({ colorScheme: 'dark' });
    await page.reload({ waitUntil: 'load' });
    await page.getByRole('heading', { name: 'Server status' }).waitFor();
    assert(await isDark(), 'dark system preference did not give the dark theme');
    await page.emulateMedia({ colorScheme: 'light' });
    await page.waitForFunction(() => !document.documentElement.classList.contains('dark'));
  });

  await test('theme toggle switches and the choice survives a reload', page, async () => {
    await page.getByRole('button', { name: 'Switch to dark theme' }).click();
    assert(await isDark(), 'toggle did not switch to dark');
    await page.reload({ waitUntil: 'load' });
    await page.getByRole('heading', { name: 'Server status' }).waitFor();
    assert(await isDark(), 'dark theme not kept after reload (light system preference)');
    await page.getByRole('button', { name: 'Switch to light theme' }).waitFor();
    await page.locator('dt', { hasText: 'Version' }).waitFor();
    await page.screenshot({ path: path.join(artifacts, 'status-dark.png'), fullPage: true });
  });

  await test('unknown route shows Not found, and its link leads back', page, async () => {
    const response = await page.goto(`${base}/no/such/page`, { waitUntil: 'load' });
    assert(response?.status() === 200, `GET /no/such/page answered ${response?.status()} (expected the app shell)`);
    await page.getByRole('heading', { name: 'Not found' }).waitFor();
    assert((await page.getByText('/no/such/page', { exact: true }).count()) === 1, 'the missing path is not shown');
    await page.screenshot({ path: path.join(artifacts, 'not-found.png'), fullPage: true });
    await page.getByRole('link', { name: 'Go to server status' }).click();
    await page.getByRole('heading', { name: 'Server status' }).waitFor();
    assert(new URL(page.url()).pathname === '/', `after the link the path is ${new URL(page.url()).pathname}`);
  });

  await test('refresh re-reads /health and confirms with a toast', page, async () => {
    await Promise.all([
      page.waitForResponse((r) => new URL(r.url()).pathname === '/health' && r.status() === 200),
      page.getByRole('button', { name: 'Refresh' }).click(),
    ]);
    await page.getByText('Server status refreshed').waitFor();
  });

  await test('no page errors, console errors or failed requests', page, async () => {
    assert(problems.length === 0, problems.join('; '));
  });

  // Last, as it stops the server: the page must say so rather than keep showing "ok".
  await test('a server that goes away is reported, not hidden', page, async () => {
    await page.goto(`${base}/`, { waitUntil: 'load' });
    await page.locator('dt', { hasText: 'Version' }).waitFor();
    await stopServer(server.child, server.exited);
    await page.getByRole('button', { name: 'Refresh' }).click();
    await page.locator('main [role="alert"]').getByRole('heading', { name: 'Could not reach the server' }).waitFor();
    await page.getByText(/^Last successful check at/).waitFor();
    await page.getByText('Status check failed: Could not reach the server').waitFor();
    await page.screenshot({ path: path.join(artifacts, 'server-down.png'), fullPage: true });
  });
}

// A stray rejection (say, a wait left behind by a failed step) is a failure
// to report, not a reason to exit without the summary line.
process.on('unhandledRejection', (reason) => {
  results.push({ name: 'unhandled rejection', ok: false });
  log(`FAIL  unhandled rejection: ${reason instanceof Error ? reason.message : String(reason)}`);
});

let interrupted = false;
process.on('SIGINT', () => {
  interrupted = true;
  void runCleanups().then(() => process.exit(130));
});

try {
  await main();
} catch (e) {
  results.push({ name: 'runner', ok: false });
  log(`FAIL  runner: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
} finally {
  await runCleanups();
}
if (!interrupted) {
  const passed = results.filter((r) => r.ok).length;
  const failed = results.length - passed;
  log(`artifacts in ${path.relative(process.cwd(), artifacts) || artifacts}`);
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(failed > 0 || passed === 0 ? 1 : 0);
}
