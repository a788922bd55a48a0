// Browser end-to-end tests: the real server binary serving the built web app,
// driven through Debian's chromium with playwright-core.
//
// Builds nothing. Needs `npm run build` (frontend/dist) and then the server
// built with it embedded (`cargo build -p patchmon-server -p patchmon-agent`).
// Binaries: $PATCHMON_SERVER_BIN and $PATCHMON_AGENT_BIN, by default
// debug/patchmon-server and debug/patchmon-agent under $CARGO_TARGET_DIR
// (or ../target). Chromium: $CHROMIUM_PATH, default /usr/bin/chromium.
// With $PATCHMON_E2E_PERF_HOSTS=N it also enrols N hosts through the API
// (one report each) and measures the dashboard and host list.
// Screenshots and the server log go to e2e/artifacts/. Ends with
// "N passed, M failed"; exits 1 on any failure.

import { spawn } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { createWriteStream, existsSync } from 'node:fs';
import { appendFile, copyFile, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { createServer as createHttpServer } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
const frontendDir = path.resolve(here, '..');
const artifacts = path.join(here, 'artifacts');
const targetDir = process.env.CARGO_TARGET_DIR ? path.resolve(process.env.CARGO_TARGET_DIR) : path.resolve(frontendDir, '../target');
const serverBin = path.resolve(frontendDir, process.env.PATCHMON_SERVER_BIN ?? path.join(targetDir, 'debug/patchmon-server'));
const agentBin = path.resolve(frontendDir, process.env.PATCHMON_AGENT_BIN ?? path.join(targetDir, 'debug/patchmon-agent'));
const perfHosts = Number(process.env.PATCHMON_E2E_PERF_HOSTS ?? '0');

/** Signing secret of the e2e webhook channel. */
const HOOK_SECRET = 'e2e-hook-signing-secret';
const ADMIN = { firstName: 'Eve', lastName: 'Tester', username: 'e2e-admin', email: 'e2e@example.com', password: 'E2e-Secret-Passw0rd!' };
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
/**
 * Defects of the server binary under test that a step met, with the evidence
 * (a panic in the server log). Listed before the summary; the step still
 * checks everything that does not depend on the broken part.
 */
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

function dbUrl(dataDir) {
  return `sqlite://${path.join(dataDir, 'e2e.db')}`;
}

/** Runs a command to completion; resolves with {code, stdout, stderr}. */
function run(cmd, args, options = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], ...options });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

/** RFC 6238 TOTP (SHA-1, 6 digits, 30 s) of a base32 secret, as an authenticator app computes it. */
function totp(secret, now = Date.now()) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const c of secret.replace(/=+$/, '').toUpperCase()) {
    const v = alphabet.indexOf(c);
    if (v >= 0) bits += v.toString(2).padStart(5, '0');
  }
  const key = [];
  for (let i = 0; i + 8 <= bits.length; i += 8) key.push(parseInt(bits.slice(i, i + 8), 2));
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(now / 30_000)));
  const h = createHmac('sha1', Buffer.from(key)).update(counter).digest();
  const o = h[h.length - 1] & 0xf;
  return String((h.readUInt32BE(o) & 0x7fffffff) % 1_000_000).padStart(6, '0');
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
  // The agent binary under test, served to the install script (no manifest: described from the file).
  const agentsDir = path.join(dataDir, 'agents');
  await mkdir(agentsDir, { recursive: true });
  const arch = { x64: 'amd64', arm64: 'arm64' }[process.arch] ?? process.arch;
  if (existsSync(agentBin)) await copyFile(agentBin, path.join(agentsDir, `patchmon-agent-linux-${arch}`));
  const logFile = createWriteStream(path.join(artifacts, 'server.log'));
  const child = spawn(serverBin, [], {
    env: {
      ...process.env,
      DATABASE_URL: dbUrl(dataDir),
      AGENT_BINARIES_DIR: agentsDir,
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
  // Screenshots of failures from an earlier run would be misleading.
  for (const f of await readdir(artifacts)) if (f.startsWith('failed-')) await rm(path.join(artifacts, f));
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
  // The session probe answers 401 while signed out; chromium logs every
  // non-2xx load as a console error, so those are checked by URL instead.
  // Error answers the flow provokes on purpose: the signed-out session probe,
  // the wrong password and the wrong second-factor code.
  const expectedError = (res) => {
    const p = new URL(res.url()).pathname;
    if (res.status() === 401) return ['/api/v1/auth/profile', '/api/v1/auth/login', '/api/v1/auth/verify-tfa'].includes(p);
    return res.status() === 400 && p === '/api/v1/auth/verify-tfa';
  };
  page.on('console', (msg) => {
    if (msg.type() === 'error' && !/status of 40[01] \((Unauthorized|Bad Request)\)/.test(msg.text())) problems.push(`console error: ${msg.text()}`);
  });
  page.on('response', (res) => {
    if (res.status() >= 400 && !expectedError(res)) problems.push(`HTTP ${res.status()} for ${res.request().method()} ${res.url()}`);
  });
  page.on('requestfailed', (req) => {
    const reason = req.failure()?.errorText ?? '?';
    // Navigations and unmounting pages cancel in-flight fetches; that is not a failure.
    if (reason !== 'net::ERR_ABORTED') problems.push(`request failed: ${req.url()} (${reason})`);
  });

  /** Milliseconds from navigation start until `selector` is in the page (checked every frame). */
  async function timeUntil(selector) {
    const handle = await page.waitForFunction((sel) => (document.querySelector(sel) ? performance.now() : false), selector, { polling: 'raf', timeout: 30_000 });
    return Math.round(await handle.jsonValue());
  }

  /** Milliseconds from now until `predicate` holds in the page (checked every frame). */
  async function timeAction(action, predicate, arg) {
    const t0 = await page.evaluate(() => performance.now());
    await action();
    const handle = await page.waitForFunction(predicate, arg, { polling: 'raf', timeout: 30_000 });
    return Math.round((await handle.jsonValue()) - t0);
  }

  async function signIn() {
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    await page.getByLabel('Username or email').fill(ADMIN.username);
    await page.getByLabel('Password').fill(ADMIN.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
  }

  await test('first visit leads to setup; creating the first admin signs in', page, async () => {
    const response = await page.goto(`${base}/`, { waitUntil: 'load' });
    assert(response?.status() === 200, `GET / answered ${response?.status()}`);
    await page.getByRole('heading', { name: 'Create the first administrator' }).waitFor();
    assert(new URL(page.url()).pathname === '/setup', `setup is at ${page.url()}`);
    await page.getByLabel('First name').fill(ADMIN.firstName);
    await page.getByLabel('Last name').fill(ADMIN.lastName);
    await page.getByLabel('Username').fill(ADMIN.username);
    await page.getByLabel('Email').fill(ADMIN.email);
    await page.getByLabel('Password', { exact: true }).fill(ADMIN.password);
    await page.getByLabel('Confirm password').fill(ADMIN.password);
    await page.screenshot({ path: path.join(artifacts, 'setup.png'), fullPage: true });
    await page.getByRole('button', { name: 'Create account and sign in' }).click();
    await page.getByRole('heading', { name: 'Dashboard' }).waitFor();
    await page.locator('[data-card="total_hosts"]').getByText('0').waitFor();
    // Setup is a one-time step.
    const again = await fetch(`${base}/api/v1/auth/check-admin-users`).then((r) => r.json());
    assert(again.hasAdminUsers === true, 'the server still reports no admin');
  });

  await test('status page shows ok, sqlite and the server version', page, async () => {
    await page.goto(`${base}/status`, { waitUntil: 'load' });
    await page.getByRole('heading', { name: 'Server status' }).waitFor();
    assert((await statusField(page, 'Status')) === 'ok', 'status is not "ok"');
    assert((await statusField(page, 'Database')) === 'ok', 'database is not "ok"');
    assert((await statusField(page, 'Dialect')) === 'sqlite', 'dialect is not "sqlite"');
    const version = await statusField(page, 'Version');
    assert(typeof health.version === 'string' && health.version.length > 0, '/health has no version');
    assert(version === health.version, `version shown "${version}", /health says "${health.version}"`);
    assert((await statusField(page, 'Agents connected')) === '0', 'agents connected is not 0');
    assert((await page.title()) === 'Server status · PatchMon', `title is "${await page.title()}"`);
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
    await page.locator('dt', { hasText: 'Version' }).waitFor();
    await page.screenshot({ path: path.join(artifacts, 'status-dark.png'), fullPage: true });
    await page.getByRole('button', { name: 'Switch to light theme' }).click();
    assert(!(await isDark()), 'toggle did not switch back to light');
  });

  await test('unknown route shows Not found, and its link leads to the dashboard', page, async () => {
    const response = await page.goto(`${base}/no/such/page`, { waitUntil: 'load' });
    assert(response?.status() === 200, `GET /no/such/page answered ${response?.status()} (expected the app shell)`);
    await page.getByRole('heading', { name: 'Not found' }).waitFor();
    assert((await page.getByText('/no/such/page', { exact: true }).count()) === 1, 'the missing path is not shown');
    await page.screenshot({ path: path.join(artifacts, 'not-found.png'), fullPage: true });
    await page.getByRole('link', { name: 'Go to the dashboard' }).click();
    await page.getByRole('heading', { name: 'Dashboard' }).waitFor();
    assert(new URL(page.url()).pathname === '/', `after the link the path is ${new URL(page.url()).pathname}`);
  });

  await test('refresh re-reads /health and confirms with a toast', page, async () => {
    await page.goto(`${base}/status`, { waitUntil: 'load' });
    await page.locator('dt', { hasText: 'Version' }).waitFor();
    await Promise.all([
      page.waitForResponse((r) => new URL(r.url()).pathname === '/health' && r.status() === 200),
      page.getByRole('button', { name: 'Refresh' }).click(),
    ]);
    await page.getByText('Server status refreshed').waitFor();
  });

  await test('sign out, then sign in again with the password', page, async () => {
    await page.getByRole('button', { name: 'Sign out', exact: true }).click();
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    await page.getByLabel('Username or email').fill(ADMIN.username);
    await page.getByLabel('Password').fill('wrong-password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByText('Invalid credentials').waitFor();
    await page.screenshot({ path: path.join(artifacts, 'login-failed.png'), fullPage: true });
    await signIn();
    await page.getByRole('heading', { name: 'Dashboard' }).waitFor();
  });

  const GROUP = 'e2e-prod';
  await test('create a host group with a colour', page, async () => {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Host groups' }).click();
    await page.getByRole('heading', { name: 'Host groups' }).waitFor();
    await page.getByRole('button', { name: 'New group' }).click();
    await page.getByLabel('Name').fill(GROUP);
    await page.getByLabel('Description').fill('created by the e2e run');
    await page.locator('input[type="color"]').fill('#16a34a');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByText('Group created').waitFor();
    await page.getByRole('table', { name: 'Host groups' }).getByText(GROUP).waitFor();
  });

  let creds = null;
  let installRoot = null;
  await test('add a host: credentials and the install command are shown, then it waits for the agent', page, async () => {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Hosts' }).click();
    await page.getByRole('heading', { name: 'Hosts' }).waitFor();
    await page.getByRole('link', { name: 'Add host' }).click();
    await page.getByLabel('Friendly name').fill('e2e-agent');
    await page.getByRole('button', { name: 'Create host' }).click();
    await page.getByRole('heading', { name: 'Host e2e-agent created' }).waitFor();
    const apiId = (await page.getByTestId('api-id').textContent())?.trim();
    const apiKey = (await page.getByTestId('api-key').textContent())?.trim();
    assert(apiId && apiKey && apiKey.length >= 32, `credentials not shown (${apiId}, key length ${apiKey?.length})`);
    const command = await page.getByTestId('install-command').textContent();
    assert(command?.includes(`-H "X-API-ID: ${apiId}"`) && command.includes(`-H "X-API-KEY: ${apiKey}"`) && command.includes('/api/v1/hosts/install" | sh'), `install command is "${command}"`);
    await page.getByText('Waiting for connection…').waitFor();
    await page.screenshot({ path: path.join(artifacts, 'add-host-waiting.png'), fullPage: true });
    // The host part is the configured server URL (SERVER_HOST, default localhost) on this server's port.
    const url = /"(http[^"]+\/api\/v1\/hosts\/install)"/.exec(command ?? '')?.[1];
    assert(url && new URL(url).port === new URL(base).port, `install URL is ${url}`);
    const script = await fetch(`${base}/api/v1/hosts/install`, { headers: { 'X-API-ID': apiId, 'X-API-KEY': apiKey } });
    const text = await script.text();
    assert(script.status === 200 && text.startsWith('#!/bin/sh'), `install script answered ${script.status}: ${text.slice(0, 120)}`);
    assert(text.includes('BOOTSTRAP_TOKEN') && !text.includes(apiKey), 'the install script lacks a bootstrap token or carries the API key');
    // Run the command exactly as shown. PATCHMON_ROOT puts the agent under a temporary
    // directory instead of /usr/local/bin and /etc, and PATCHMON_SERVICE=none skips the service.
    installRoot = path.join(work, 'install-root');
    const installed = await run('sh', ['-c', command], { env: { ...process.env, PATCHMON_ROOT: installRoot, PATCHMON_SERVICE: 'none' } });
    await writeFile(path.join(artifacts, 'install-output.txt'), `${installed.stdout}\n--- stderr\n${installed.stderr}`);
    assert(installed.code === 0, `the install command exited ${installed.code}: ${installed.stderr.slice(-800)}`);
    assert(existsSync(path.join(installRoot, 'usr/local/bin/patchmon-agent')), 'the install command did not install the agent');
    creds = { apiId, apiKey, hostUrl: null };
  });

  let agent = null;
  await test('the agent installed by that command reports and connects; the page sees it connect', page, async () => {
    assert(creds && installRoot, 'no installed agent from the previous step');
    const installedBin = path.join(installRoot, 'usr/local/bin/patchmon-agent');
    const config = path.join(installRoot, 'etc/patchmon/config.yml');
    // The installer's configuration as written, plus: do not run `apt update` in a test.
    await appendFile(config, 'package_cache_refresh_mode: never\n');
    const report = await run(installedBin, ['--config', config, 'report']);
    assert(report.code === 0, `agent report exited ${report.code}: ${report.stderr.slice(-500)}`);
    const agentLog = createWriteStream(path.join(artifacts, 'agent.log'));
    agent = spawn(installedBin, ['--config', config, 'serve'], { stdio: ['ignore', 'pipe', 'pipe'] });
    agent.stdout.pipe(agentLog);
    agent.stderr.pipe(agentLog);
    const agentExited = new Promise((resolve) => agent.on('exit', resolve));
    cleanups.push(async () => {
      if (agent.exitCode === null && agent.signalCode === null) {
        agent.kill('SIGTERM');
        await Promise.race([agentExited, sleep(5000)]);
        if (agent.exitCode === null && agent.signalCode === null) agent.kill('SIGKILL');
      }
    });
    await page.getByText(/^Connected/).waitFor({ timeout: 30_000 });
    await page.screenshot({ path: path.join(artifacts, 'add-host-connected.png'), fullPage: true });
  });

  let osType = null;
  await test('the host appears with its real packages; filters narrow the list', page, async () => {
    await page.getByRole('link', { name: 'Open the host' }).click();
    await page.getByRole('heading', { name: 'e2e-agent' }).waitFor();
    const total = Number((await page.getByRole('link', { name: /packages$/ }).locator('div').first().textContent())?.trim());
    assert(total > 0, `host shows ${total} packages`);
    log(`the agent reported ${total} packages`);
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Hosts' }).click();
    const table = page.getByRole('table', { name: 'Hosts' });
    await table.getByRole('link', { name: 'e2e-agent' }).waitFor();
    const detail = await fetch(`${base}/api/v1/hosts?search=e2e-agent`, { headers: { cookie: await cookieHeader() } }).then((r) => r.json());
    osType = detail.hosts?.[0]?.os_type;
    assert(osType, 'the host has no OS type after the report');
    // The OS choices load when the user opens the filter.
    await page.getByRole('combobox', { name: 'OS', exact: true }).click();
    await page.getByRole('combobox', { name: 'OS', exact: true }).selectOption(osType);
    await page.waitForURL((u) => u.searchParams.get('os') === osType);
    await table.getByRole('link', { name: 'e2e-agent' }).waitFor();
    await page.getByRole('combobox', { name: 'Status', exact: true }).selectOption('pending');
    await table.getByText('No hosts match.').waitFor();
    await page.getByRole('combobox', { name: 'Status', exact: true }).selectOption('');
    await page.getByRole('searchbox', { name: 'Search' }).fill('e2e-ag');
    await page.waitForURL((u) => u.searchParams.get('search') === 'e2e-ag');
    await table.getByRole('link', { name: 'e2e-agent' }).waitFor();
    await page.screenshot({ path: path.join(artifacts, 'hosts-filtered.png'), fullPage: true });
    // The filtered URL survives a reload.
    await page.reload({ waitUntil: 'load' });
    await table.getByRole('link', { name: 'e2e-agent' }).waitFor();
    assert((await page.getByRole('combobox', { name: 'OS', exact: true }).inputValue()) === osType, 'the OS filter was lost on reload');
  });

  async function cookieHeader() {
    const cookies = await context.cookies(base);
    return cookies.map((c) => `${c.name}=${c.value}`).join('; ');
  }

  /**
   * Enrols `n` hosts the way the product does: POST /api/v1/hosts as the
   * signed-in admin, then one full report each through the agent API with the
   * new credentials. Reports are the real agent's report of this machine
   * (`patchmon-agent report --json`), cut to 50 packages and varied by OS and
   * by which packages are outdated.
   */
  async function seedViaApi(n) {
    const printed = await run(agentBin, ['report', '--json']);
    assert(printed.code === 0, `patchmon-agent report --json exited ${printed.code}`);
    const template = JSON.parse(printed.stdout);
    const cookie = await cookieHeader();
    const csrf = (await context.cookies(base)).find((c) => c.name === 'patchmon_csrf')?.value;
    assert(csrf, 'no patchmon_csrf cookie');
    const oses = [['Ubuntu', '24.04'], ['Ubuntu', '22.04'], ['Debian GNU/Linux', '12 (bookworm)'], ['Rocky Linux', '9.4'], ['Alpine Linux', '3.20']];
    const basePkgs = template.packages.slice(0, 50);
    let next = 0;
    async function worker() {
      for (;;) {
        const i = next++;
        if (i >= n) return;
        const created = await fetch(`${base}/api/v1/hosts`, {
          method: 'POST',
          headers: { cookie, 'X-CSRF-Token': csrf, 'Content-Type': 'application/json' },
          body: JSON.stringify({ friendly_name: `perf-${String(i).padStart(5, '0')}` }),
        });
        assert(created.status === 201, `POST /api/v1/hosts answered ${created.status}`);
        const h = await created.json();
        const [osType, osVersion] = oses[i % oses.length];
        const packages = basePkgs.map((p, k) => {
          const outdated = (i + k) % 17 === 0;
          return outdated
            ? { ...p, needsUpdate: true, availableVersion: `${p.currentVersion}+1`, isSecurityUpdate: (i + k) % 34 === 0 }
            : { ...p, needsUpdate: false, isSecurityUpdate: false, availableVersion: undefined };
        });
        const report = { ...template, packages, osType, osVersion, hostname: `perf-${i}.example`, ip: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, machineId: `perf-${i}` };
        const res = await fetch(`${base}/api/v1/hosts/update`, {
          method: 'POST',
          headers: { 'X-API-ID': h.api_id, 'X-API-KEY': h.api_key, 'Content-Type': 'application/json' },
          body: JSON.stringify(report),
        });
        assert(res.status === 200, `report for host ${i} answered ${res.status}: ${(await res.text()).slice(0, 200)}`);
      }
    }
    await Promise.all(Array.from({ length: 8 }, worker));
  }

  let packageName = null;
  await test('host detail tabs: system, network, packages, history; then a package detail', page, async () => {
    await page.getByRole('table', { name: 'Hosts' }).getByRole('link', { name: 'e2e-agent' }).click();
    await page.getByRole('heading', { name: 'e2e-agent' }).waitFor();
    await page.getByText('Agent connection').waitFor();
    await page.getByText(/^connected/).waitFor();
    await page.screenshot({ path: path.join(artifacts, 'host-overview.png'), fullPage: true });
    // Report now: the server tells the connected agent, which sends a fresh report.
    const hostId = new URL(page.url()).pathname.split('/').pop();
    const historyTotal = async () =>
      (await fetch(`${base}/api/v1/hosts/${hostId}/history`, { headers: { cookie: await cookieHeader() } }).then((r) => r.json())).pagination?.total ?? 0;
    const before = await historyTotal();
    await page.getByRole('button', { name: 'Report now' }).click();
    await page.getByText('Report requested from the agent').waitFor();
    const deadline = Date.now() + 60_000;
    while ((await historyTotal()) <= before) {
      assert(Date.now() < deadline, 'no new report within 60 s of Report now');
      await sleep(500);
    }
    await page.getByRole('tab', { name: 'system' }).click();
    await page.getByText('Kernel (running)').waitFor();
    await page.getByRole('tab', { name: 'network' }).click();
    await page.getByRole('heading', { name: 'Interfaces' }).waitFor();
    assert((await page.getByText(/\/\/\d/).count()) === 0, 'an address is shown with a doubled prefix slash');
    await page.getByRole('tab', { name: 'disks' }).click();
    await page.locator('[role="tabpanel"] table, [role="tabpanel"] p').first().waitFor();
    await page.screenshot({ path: path.join(artifacts, 'host-disks.png'), fullPage: true });
    await page.getByRole('tab', { name: 'network' }).click();
    await page.screenshot({ path: path.join(artifacts, 'host-network.png'), fullPage: true });
    await page.getByRole('tab', { name: 'history' }).click();
    await page.getByRole('table', { name: 'Report history' }).getByText('success').first().waitFor();
    await page.getByRole('tab', { name: 'packages' }).click();
    const pkgTable = page.getByRole('table', { name: 'Packages' });
    const first = pkgTable.locator('tbody a').first();
    await first.waitFor();
    packageName = (await first.textContent())?.trim();
    await page.screenshot({ path: path.join(artifacts, 'host-packages.png'), fullPage: true });
    await first.click();
    await page.getByRole('heading', { name: packageName, exact: true }).waitFor();
    await page.getByRole('table', { name: 'Hosts with this package' }).getByRole('link', { name: 'e2e-agent' }).waitFor();
    await page.getByRole('list', { name: 'Installed versions' }).locator('li').first().waitFor();
    await page.screenshot({ path: path.join(artifacts, 'package-detail.png'), fullPage: true });
  });

  await test('edit the host groups; the group filter finds it', page, async () => {
    await page.getByRole('table', { name: 'Hosts with this package' }).getByRole('link', { name: 'e2e-agent' }).click();
    await page.getByRole('heading', { name: 'e2e-agent' }).waitFor();
    await page.getByRole('tab', { name: 'groups' }).click();
    await page.getByRole('checkbox', { name: GROUP }).check();
    await page.getByRole('button', { name: 'Save groups' }).click();
    await page.getByText('Groups saved').waitFor();
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Hosts' }).click();
    const table = page.getByRole('table', { name: 'Hosts' });
    await page.getByRole('combobox', { name: 'Group', exact: true }).selectOption({ label: GROUP });
    const row = table.getByRole('row').filter({ hasText: 'e2e-agent' });
    await row.getByText(GROUP).waitFor();
    await page.getByRole('combobox', { name: 'Group', exact: true }).selectOption({ label: '(no group)' });
    await table.getByText('No hosts match.').waitFor();
  });

  await test('the dashboard counts the reporting host', page, async () => {
    const stats = await fetch(`${base}/api/v1/dashboard/stats`, { headers: { cookie: await cookieHeader() } }).then((r) => r.json());
    assert(stats.total_hosts === 1, `the API counts ${stats.total_hosts} hosts`);
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Dashboard' }).click();
    await page.locator('[data-card="total_hosts"]').getByText('1', { exact: true }).waitFor();
    await page.getByRole('list', { name: 'OS distribution' }).getByText(osType ?? '?', { exact: false }).first().waitFor();
    await page.screenshot({ path: path.join(artifacts, 'dashboard.png'), fullPage: true });
  });

  await test('rename a host, and delete another after confirming', page, async () => {
    await page.goto(`${base}/hosts?search=e2e-agent`, { waitUntil: 'load' });
    await page.getByRole('table', { name: 'Hosts' }).getByRole('link', { name: 'e2e-agent' }).click();
    await page.getByRole('button', { name: 'Rename' }).click();
    await page.getByLabel('Friendly name').fill('e2e-agent-renamed');
    await page.getByRole('dialog', { name: 'Rename host' }).getByRole('button', { name: 'Save', exact: true }).click();
    await page.getByRole('heading', { name: 'e2e-agent-renamed' }).waitFor();
    // A second host, deleted through the confirmation dialog.
    await page.goto(`${base}/hosts/new`, { waitUntil: 'load' });
    await page.getByLabel('Friendly name').fill('e2e-temp');
    await page.getByRole('button', { name: 'Create host' }).click();
    await page.getByRole('link', { name: 'Open the host' }).click();
    await page.getByRole('heading', { name: 'e2e-temp' }).waitFor();
    await page.getByRole('button', { name: 'Delete' }).click();
    const dialog = page.getByRole('dialog', { name: 'Delete e2e-temp?' });
    await dialog.getByRole('button', { name: 'Delete host' }).click();
    await page.getByText('Host e2e-temp deleted').waitFor();
    await page.getByRole('heading', { name: 'Hosts' }).waitFor();
    await page.getByRole('searchbox', { name: 'Search' }).fill('e2e-temp');
    await page.getByRole('table', { name: 'Hosts' }).getByText('No hosts match.').waitFor();
  });

  await test('bulk group change from the hosts table', page, async () => {
    await page.goto(`${base}/hosts?search=e2e-agent`, { waitUntil: 'load' });
    const row = page.getByRole('table', { name: 'Hosts' }).getByRole('row').filter({ hasText: 'e2e-agent-renamed' });
    await row.getByText(GROUP).waitFor();
    await page.getByRole('checkbox', { name: 'Select e2e-agent-renamed' }).check();
    await page.getByRole('combobox', { name: 'Group for the selected hosts' }).selectOption({ label: GROUP });
    await page.getByRole('button', { name: 'Remove from group' }).click();
    await page.getByText('1 host(s) removed from the group').waitFor();
    await row.getByText(GROUP).waitFor({ state: 'detached' });
    await page.getByRole('checkbox', { name: 'Select e2e-agent-renamed' }).check();
    await page.getByRole('combobox', { name: 'Group for the selected hosts' }).selectOption({ label: GROUP });
    await page.getByRole('button', { name: 'Add to group' }).click();
    await row.getByText(GROUP).waitFor();
  });

  await test('users, roles, profile and settings pages load', page, async () => {
    await page.goto(`${base}/users`, { waitUntil: 'load' });
    await page.getByRole('cell', { name: ADMIN.email }).waitFor();
    await page.goto(`${base}/roles`, { waitUntil: 'load' });
    await page.getByRole('checkbox', { name: 'readonly: view hosts' }).waitFor();
    await page.screenshot({ path: path.join(artifacts, 'roles.png'), fullPage: true });
    await page.goto(`${base}/profile`, { waitUntil: 'load' });
    await page.getByRole('button', { name: 'Set up 2FA' }).click();
    await page.getByRole('img', { name: 'QR code for your authenticator app' }).waitFor();
    await page.screenshot({ path: path.join(artifacts, 'profile-2fa.png'), fullPage: true });
    await page.getByRole('button', { name: 'Cancel' }).click();
    await page.goto(`${base}/settings`, { waitUntil: 'load' });
    await page.getByRole('heading', { name: 'Settings' }).waitFor();
    await page.getByLabel('Report interval (minutes)').waitFor();
    // Branding: a 1×1 PNG as the logo; the login page shows it later.
    const png = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==', 'base64');
    await page.locator('input[type="file"]').setInputFiles({ name: 'logo.png', mimeType: 'image/png', buffer: png });
    await page.getByText('Logo saved').waitFor();
    await page.getByRole('img', { name: 'Current logo' }).waitFor();
  });

  await test('enrol TOTP with the shown secret, sign in through the second step, turn it off', page, async () => {
    await page.goto(`${base}/profile`, { waitUntil: 'load' });
    await page.getByRole('button', { name: 'Set up 2FA' }).click();
    const secret = (await page.getByTestId('tfa-secret').textContent())?.trim();
    assert(secret, 'no TOTP secret shown');
    await page.getByLabel('Code from the app').fill(totp(secret));
    await page.getByRole('button', { name: 'Verify and turn on' }).click();
    const list = page.getByRole('list', { name: 'Backup codes' });
    await list.waitFor();
    const codes = await list.locator('li').allTextContents();
    assert(codes.length === 10, `${codes.length} backup codes shown`);
    await page.getByRole('button', { name: 'I have saved them' }).click();
    await page.getByRole('button', { name: 'Sign out', exact: true }).click();
    await signIn();
    await page.getByRole('heading', { name: 'Two-factor authentication' }).waitFor();
    await page.getByLabel('Code').fill('000000');
    await page.getByRole('button', { name: 'Verify' }).click();
    await page.getByText('Sign-in failed').waitFor();
    await page.getByLabel('Code').fill(codes[0]);
    await page.getByRole('button', { name: 'Verify' }).click();
    await page.getByRole('heading', { name: 'Dashboard' }).waitFor();
    await page.goto(`${base}/profile`, { waitUntil: 'load' });
    await page.getByText('9 backup code(s) left.').waitFor();
    await page.getByLabel('Password (to turn it off)').fill(ADMIN.password);
    await page.getByRole('button', { name: 'Turn off 2FA' }).click();
    await page.getByRole('button', { name: 'Set up 2FA' }).waitFor();
  });

  await test('integrations: create a proxmox-lxc token, secret shown once with snippets, toggle inactive, delete', page, async () => {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Integrations' }).click();
    await page.getByRole('heading', { name: 'Integrations' }).waitFor();
    await page.getByRole('button', { name: 'New token' }).click();
    const form = page.getByRole('dialog', { name: 'New token' });
    assert(await form.getByRole('radio', { name: /Proxmox LXC/ }).isChecked(), 'Proxmox LXC is not the default type');
    await form.getByLabel('Name').fill('e2e-pve');
    await form.getByLabel('Hosts per day').fill('5');
    await form.getByLabel('Default host group').selectOption({ label: GROUP });
    await form.getByRole('button', { name: 'Create token' }).click();

    const dialog = page.getByRole('dialog', { name: 'Token e2e-pve created' });
    await dialog.getByText('This secret will not be shown again.').waitFor();
    const key = (await dialog.getByTestId('token-key').textContent())?.trim() ?? '';
    const secret = (await dialog.getByTestId('token-secret').textContent())?.trim() ?? '';
    assert(/^patchmon_ae_[0-9a-f]{32}$/.test(key), `key looks like ${key}`);
    assert(/^[0-9a-f]{64}$/.test(secret), 'the secret is not 64 hex characters');
    const settings = await fetch(`${base}/api/v1/settings`, { headers: { cookie: await cookieHeader() } }).then((r) => r.json());
    const url = (settings.server_url || base).replace(/\/+$/, '');
    const enroll = dialog.getByTestId('snippet').first();
    await enroll.getByText(`${url}/api/v1/auto-enrollment/script?type=proxmox-lxc`, { exact: false }).waitFor();
    const enrollText = (await enroll.textContent()) ?? '';
    assert(enrollText.includes(`-H "X-Auto-Enrollment-Key: ${key}" -H "X-Auto-Enrollment-Secret: ${secret}"`) && enrollText.endsWith('| sh'), `enroll snippet: ${enrollText}`);
    const dryText = (await dialog.getByTestId('snippet').nth(1).textContent()) ?? '';
    assert(dryText.endsWith('| DRY_RUN=true sh'), `dry-run snippet: ${dryText}`);
    // The copy button puts exactly the shown command on the clipboard.
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: base });
    await dialog.getByRole('button', { name: 'Copy enroll' }).click();
    await dialog.getByRole('button', { name: 'Copy enroll' }).getByText('Copied').waitFor();
    const copied = await page.evaluate(() => navigator.clipboard.readText());
    assert(copied === enrollText, `clipboard holds: ${copied}`);
    await page.screenshot({ path: path.join(artifacts, 'integrations-secret.png'), fullPage: true });
    // The same dialog in the dark theme (the class the theme toggle sets), for the artefacts.
    const wasDark = await page.evaluate(() => document.documentElement.classList.contains('dark'));
    await page.evaluate((dark) => document.documentElement.classList.toggle('dark', dark), !wasDark);
    await page.screenshot({ path: path.join(artifacts, `integrations-secret-${wasDark ? 'light' : 'dark'}.png`), fullPage: true });
    await page.evaluate((dark) => document.documentElement.classList.toggle('dark', dark), wasDark);
    // The copied dry-run snippet, run for real by sh on a fake Proxmox node (a `pct` with one
    // running container): it downloads the script with the shown credentials, finds the
    // container and would enroll it, and creates nothing.
    await dialog.getByRole('button', { name: 'Copy dry run' }).click();
    await dialog.getByRole('button', { name: 'Copy dry run' }).getByText('Copied').waitFor();
    const dryRun = await page.evaluate(() => navigator.clipboard.readText());
    assert(dryRun === dryText, `clipboard holds: ${dryRun}`);
    const fakeBin = path.join(work, 'fake-pve');
    await mkdir(fakeBin, { recursive: true });
    await writeFile(
      path.join(fakeBin, 'pct'),
      '#!/bin/sh\ncase "$1" in\n  list) printf \'VMID       Status     Lock         Name\\n101        running                 e2e-lxc\\n\' ;;\n  exec) exit 0 ;;\n  *) exit 2 ;;\nesac\n',
      { mode: 0o755 },
    );
    const hostsBefore = (await fetch(`${base}/api/v1/hosts`, { headers: { cookie: await cookieHeader() } }).then((r) => r.json())).pagination.total;
    const ran = await run('sh', ['-c', dryRun], { env: { ...process.env, PATH: `${fakeBin}:${process.env.PATH ?? ''}` } });
    assert(ran.code === 0, `the dry-run snippet exited ${ran.code}: ${ran.stdout.slice(-600)} ${ran.stderr.slice(-600)}`);
    assert(ran.stdout.includes('Would enroll: e2e-lxc') && ran.stdout.includes('Successfully Enrolled: 1 (dry run)'), `dry-run output: ${ran.stdout.slice(-800)}`);
    const hostsAfter = (await fetch(`${base}/api/v1/hosts`, { headers: { cookie: await cookieHeader() } }).then((r) => r.json())).pagination.total;
    assert(hostsAfter === hostsBefore, `the dry run changed the host count from ${hostsBefore} to ${hostsAfter}`);
    // The shown key and secret are the real ones: the server hands out the script for them (headers, as in the snippet).
    const auth = { 'X-Auto-Enrollment-Key': key, 'X-Auto-Enrollment-Secret': secret };
    const script = await fetch(`${base}/api/v1/auto-enrollment/script?type=proxmox-lxc`, { headers: auth });
    assert(script.status === 200, `script download with the shown credentials answered ${script.status}`);
    assert((await script.text()).includes(key), 'the served script does not carry the key');

    await dialog.getByRole('button', { name: 'I have saved the secret' }).click();
    await dialog.waitFor({ state: 'detached' });
    const row = page.getByRole('table', { name: 'Tokens' }).locator('tr[data-token="e2e-pve"]');
    await row.getByText('0 / 5').waitFor();
    await row.getByText(key).waitFor();
    await row.getByText(`joins ${GROUP}`).waitFor();
    assert(!((await page.textContent('body')) ?? '').includes(secret), 'the secret is still on the page after closing');

    await row.getByRole('switch', { name: 'Active: e2e-pve' }).click();
    await row.getByText('Inactive').waitFor();
    const listed = await fetch(`${base}/api/v1/auto-enrollment/tokens`, { headers: { cookie: await cookieHeader() } }).then((r) => r.json());
    assert(listed.find((t) => t.token_key === key)?.is_active === false, 'the server still has the token active');
    const refused = await fetch(`${base}/api/v1/auto-enrollment/script?type=proxmox-lxc`, { headers: auth });
    assert(refused.status === 401, `an inactive token's script download answered ${refused.status}`);
    await page.screenshot({ path: path.join(artifacts, 'integrations-list.png'), fullPage: true });

    await row.getByRole('button', { name: 'Delete e2e-pve' }).click();
    await page.getByRole('dialog', { name: 'Delete token e2e-pve?' }).getByRole('button', { name: 'Delete token' }).click();
    await row.waitFor({ state: 'detached' });
    await page.getByText('No tokens yet.', { exact: false }).waitFor();
    const after = await fetch(`${base}/api/v1/auto-enrollment/tokens`, { headers: { cookie: await cookieHeader() } }).then((r) => r.json());
    assert(!after.some((t) => t.token_key === key), 'the server still lists the deleted token');
  });

  // ---- Operations screens: notification channels, the queue monitor, alerts.

  /** A small HTTP receiver for webhook deliveries: records every request (headers and raw body). */
  const hook = { received: [], url: null };
  await test('notifications: a webhook channel; "send test" reaches a listener with a valid signature; the delivery log shows it', page, async () => {
    const listener = createHttpServer((req, res) => {
      const chunks = [];
      req.on('data', (c) => chunks.push(c));
      req.on('end', () => {
        hook.received.push({ method: req.method, path: req.url, headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
        res.writeHead(204).end();
      });
    });
    await new Promise((resolve) => listener.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise((resolve) => listener.close(() => resolve())));
    hook.url = `http://127.0.0.1:${listener.address().port}/hook`;

    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Notifications' }).click();
    await page.getByRole('heading', { name: 'Notifications' }).waitFor();
    await page.getByText('No channels yet.', { exact: false }).waitFor();
    await page.getByRole('button', { name: 'New channel' }).click();
    const form = page.getByRole('dialog', { name: 'New channel' });
    await form.getByLabel('Name').fill('e2e-hook');
    await form.getByLabel('URL').fill(hook.url);
    await form.getByLabel('Signing secret', { exact: true }).fill(HOOK_SECRET);
    await form.getByLabel('Cooldown (seconds)').fill('0');
    await page.screenshot({ path: path.join(artifacts, 'notifications-form.png'), fullPage: true });
    await form.getByRole('button', { name: 'Create channel' }).click();
    await page.getByText('Channel e2e-hook created').waitFor();
    const row = page.getByRole('table', { name: 'Channels' }).locator('tr[data-channel="e2e-hook"]');
    await row.getByText(hook.url).waitFor();
    const listed = await fetch(`${base}/api/v1/notifications/channels`, { headers: { cookie: await cookieHeader() } }).then((r) => r.json());
    const stored = listed.channels.find((c) => c.name === 'e2e-hook');
    assert(stored?.config.secret === '********' && stored.config.url === hook.url, `the server lists ${JSON.stringify(stored?.config)}`);

    /** Sends a test from the row and returns the listener's request for it, checked against the signing secret. */
    async function sendTest() {
      const before = hook.received.length;
      await row.getByRole('button', { name: 'Send test through e2e-hook' }).click();
      const sent = row.getByTestId('test-result').getByText('sent');
      const refused = page.getByText(/^Could not test e2e-hook: /);
      await sent.or(refused).first().waitFor();
      assert((await refused.count()) === 0, `send test failed: ${await refused.first().textContent().catch(() => '')}`);
      // Alerts raised meanwhile (the agent keeps reporting) also reach this all-events channel; count the test sends.
      const tests = hook.received.slice(before).filter((r) => r.headers['x-patchmon-event'] === 'test');
      assert(tests.length === 1, `the listener got ${tests.length} test requests (all: ${hook.received.slice(before).map((r) => r.headers['x-patchmon-event']).join(', ')})`);
      const req = tests[0];
      const ts = req.headers['x-patchmon-timestamp'];
      const expected = `sha256=${createHmac('sha256', HOOK_SECRET).update(`${ts}.${req.body}`).digest('hex')}`;
      assert(req.method === 'POST' && req.path === '/hook', `${req.method} ${req.path}`);
      assert(req.headers['x-patchmon-event'] === 'test', `event header ${req.headers['x-patchmon-event']}`);
      assert(req.headers['x-patchmon-signature'] === expected, `signature ${req.headers['x-patchmon-signature']} is not HMAC(secret, ts.body) = ${expected}`);
      assert(JSON.parse(req.body).alert?.title === 'PatchMon test notification', `body ${req.body.slice(0, 200)}`);
      return req;
    }
    const first = await sendTest();
    const log = page.getByRole('table', { name: 'Deliveries' });
    assert(first, 'no test request');
    await log.locator('tr[data-delivery="test"]').filter({ hasText: 'e2e-hook' }).getByText('sent').waitFor();

    // Edit without retyping the secret: the server keeps it (still listed, masked), and the next test is signed with the same one.
    await row.getByRole('button', { name: 'Edit e2e-hook' }).click();
    const edit = page.getByRole('dialog', { name: 'Edit channel e2e-hook' });
    assert((await edit.getByLabel('Signing secret', { exact: true }).inputValue()) === '', 'the masked secret was put into the field');
    await edit.getByLabel('Minimum severity').selectOption('warning');
    await edit.getByRole('button', { name: 'Save' }).click();
    await page.getByText('Channel e2e-hook saved').waitFor();
    await row.getByRole('cell', { name: 'warning', exact: true }).waitFor();
    const afterEdit = await fetch(`${base}/api/v1/notifications/channels`, { headers: { cookie: await cookieHeader() } }).then((r) => r.json());
    const kept = afterEdit.channels.find((c) => c.name === 'e2e-hook');
    assert(kept?.config.secret === '********' && kept.min_severity === 'warning', `after the edit the server lists ${JSON.stringify(kept)}`);
    await sendTest();
    await page.waitForFunction(() => document.querySelectorAll('table[aria-label="Deliveries"] tr[data-delivery="test"]').length === 2);
    await page.screenshot({ path: path.join(artifacts, 'notifications.png'), fullPage: true });
    // Back to every severity, for the host_down alert below.
    await row.getByRole('button', { name: 'Edit e2e-hook' }).click();
    await edit.getByLabel('Minimum severity').selectOption('info');
    await edit.getByRole('button', { name: 'Save' }).click();
    await page.getByText('Channel e2e-hook saved').first().waitFor();
    await row.getByRole('cell', { name: 'info', exact: true }).waitFor();
  });

  await test('alerts: no host_down alert while the agent is connected; set the host_down threshold to 0 s in the alert types', page, async () => {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Alerts' }).click();
    await page.getByRole('heading', { name: 'Alerts' }).waitFor();
    await page.locator('[data-card="open"]').waitFor();
    await page.getByLabel('Type', { exact: true }).selectOption('host_down');
    await page.getByTestId('alerts-empty').getByText('No alerts match these filters.').waitFor();
    await page.getByRole('tab', { name: 'Alert types' }).click();
    const threshold = page.getByLabel('Down after seconds: Host down');
    assert((await threshold.inputValue()) === '30', `the default threshold shows ${await threshold.inputValue()}`);
    await threshold.fill('0');
    await page.getByRole('button', { name: 'Save Host down' }).click();
    await page.getByText('Host down saved').waitFor();
    const cfg = await fetch(`${base}/api/v1/alerts/config`, { headers: { cookie: await cookieHeader() } }).then((r) => r.json());
    const hd = cfg.config.find((c) => c.alert_type === 'host_down');
    assert(hd?.metadata.threshold_seconds === 0 && hd.enabled === true, `host_down config is ${JSON.stringify(hd)}`);
    await page.screenshot({ path: path.join(artifacts, 'alert-types.png'), fullPage: true });
  });

  let monitorJob = null;
  await test('queues: stop the agent, "run now" on host-status-monitor; the job completes and its detail shows the output', page, async () => {
    assert(agent && creds, 'no agent from the earlier step');
    if (agent.exitCode === null && agent.signalCode === null) {
      const exited = new Promise((resolve) => agent.once('exit', resolve));
      agent.kill('SIGTERM');
      await exited;
    }
    // The server records the closed socket.
    const deadline = Date.now() + 15_000;
    for (;;) {
      const ws = await fetch(`${base}/api/v1/ws/status/${creds.apiId}`, { headers: { cookie: await cookieHeader() } }).then((r) => r.json());
      if (ws.connected === false) break;
      assert(Date.now() < deadline, 'the server still sees the agent connected 15 s after it stopped');
      await sleep(250);
    }
    await sleep(50);
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Queues' }).click();
    await page.getByRole('heading', { name: 'Queues' }).waitFor();
    const queueRow = page.getByRole('table', { name: 'Queues' }).locator('tr[data-queue="host-status-monitor"]');
    await queueRow.getByText('*/5 * * * *').waitFor();
    await page.getByRole('table', { name: 'Queues' }).locator('tr[data-queue="agent-commands"]').waitFor();
    await queueRow.getByRole('button', { name: 'Show jobs of host-status-monitor' }).click();
    await page.waitForURL((u) => u.searchParams.get('queue') === 'host-status-monitor');
    await queueRow.getByRole('button', { name: 'Run host-status-monitor now' }).click();
    await page.getByText('host-status-monitor: completed').waitFor();
    // The monitor refreshes by itself: the finished job shows up without a reload.
    const jobRow = page.getByRole('table', { name: 'Jobs' }).locator('tr[data-job="host-status-monitor"][data-status="completed"]').first();
    await jobRow.waitFor();
    const jobs = await fetch(`${base}/api/v1/queues/jobs?queue=host-status-monitor&status=completed&limit=1`, { headers: { cookie: await cookieHeader() } }).then((r) => r.json());
    monitorJob = jobs.jobs[0];
    assert(monitorJob?.job_id.startsWith('manual:') && monitorJob.output?.hosts_checked >= 1, `the latest monitor job is ${JSON.stringify(monitorJob)}`);
    await page.screenshot({ path: path.join(artifacts, 'queues.png'), fullPage: true });
    await jobRow.getByRole('button', { name: /^Job host-status-monitor / }).first().click();
    const dialog = page.getByRole('dialog', { name: 'Job host-status-monitor' });
    const output = await dialog.getByLabel('Job output').textContent();
    assert(output?.includes('"hosts_checked"') && output.includes('"duration_ms"'), `job output shows ${output}`);
    await page.screenshot({ path: path.join(artifacts, 'queue-job.png'), fullPage: true });
    await dialog.getByRole('button', { name: 'Close' }).click();
  });

  await test('alerts: the host_down alert is listed; acknowledge and resolve it; the history records both; the webhook was told', page, async () => {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Alerts' }).click();
    await page.getByLabel('Type', { exact: true }).selectOption('host_down');
    const row = page.getByRole('table', { name: 'Alerts' }).locator('tr[data-alert="host_down"]').first();
    await row.getByText('Host e2e-agent-renamed is down').waitFor();
    await row.getByText('open').waitFor();
    const open = Number((await page.locator('[data-card="open"] div').nth(1).textContent())?.trim());
    assert(open >= 1, `the Open card shows ${open}`);
    await page.screenshot({ path: path.join(artifacts, 'alerts.png'), fullPage: true });

    await row.getByRole('button', { name: 'Host e2e-agent-renamed is down', exact: true }).click();
    const dialog = page.getByRole('dialog', { name: 'Host e2e-agent-renamed is down' });
    await dialog.locator('[data-history="created"]').waitFor();
    await dialog.getByLabel(/^Note/).fill('e2e: looking at it');
    await dialog.getByRole('button', { name: 'Acknowledge' }).click();
    await page.getByText('Alert acknowledged').waitFor();
    await dialog.locator('[data-history="acknowledged"]').getByText('e2e: looking at it').waitFor();
    await dialog.getByRole('button', { name: 'Resolve' }).click();
    await page.getByText('Alert resolved').waitFor();
    await dialog.getByRole('button', { name: 'Reopen' }).waitFor();
    await dialog.locator('[data-history="resolved"]').waitFor();
    await page.screenshot({ path: path.join(artifacts, 'alert-detail.png'), fullPage: true });
    await dialog.getByRole('button', { name: 'Close' }).click();
    await dialog.waitFor({ state: 'detached' });
    await page.getByRole('button', { name: 'Switch to dark theme' }).click();
    assert(await isDark(), 'the theme did not switch to dark');
    await page.screenshot({ path: path.join(artifacts, 'alerts-dark.png'), fullPage: true });
    await page.getByRole('button', { name: 'Switch to light theme' }).click();

    const list = await fetch(`${base}/api/v1/alerts?type=host_down`, { headers: { cookie: await cookieHeader() } }).then((r) => r.json());
    const a = list.alerts[0];
    assert(a?.status === 'resolved' && a.acknowledged_at && a.resolved_by, `the server has ${JSON.stringify(a)}`);
    const detail = await fetch(`${base}/api/v1/alerts/${a.id}`, { headers: { cookie: await cookieHeader() } }).then((r) => r.json());
    const actions = detail.history.map((h) => h.action);
    assert(['created', 'acknowledged', 'resolved'].every((x) => actions.includes(x)), `history is ${actions.join(', ')}`);
    await row.getByText('resolved').waitFor();

    // The channel (all events, min severity info) was sent the raise, signed.
    const raised = hook.received.find((r) => r.headers['x-patchmon-event'] === 'alert_raised' && JSON.parse(r.body).alert?.type === 'host_down');
    assert(raised, `the listener got no host_down alert_raised (events: ${hook.received.map((r) => r.headers['x-patchmon-event']).join(', ')})`);
    const sig = `sha256=${createHmac('sha256', HOOK_SECRET).update(`${raised.headers['x-patchmon-timestamp']}.${raised.body}`).digest('hex')}`;
    assert(raised.headers['x-patchmon-signature'] === sig, 'the alert_raised delivery is not signed with the channel secret');
    await page.goto(`${base}/notifications`, { waitUntil: 'load' });
    await page.getByRole('table', { name: 'Deliveries' }).locator('tr[data-delivery="alert_raised"]').filter({ hasText: 'Host down' }).getByText('sent').first().waitFor();
  });

  await test('queues: remove the finished monitor job from its detail after confirming', page, async () => {
    assert(monitorJob, 'no job from the queue step');
    await page.goto(`${base}/queues?queue=host-status-monitor`, { waitUntil: 'load' });
    const button = page.getByRole('button', { name: `Job host-status-monitor ${monitorJob.id}` });
    await button.click();
    const dialog = page.getByRole('dialog', { name: 'Job host-status-monitor' });
    // A scheduled job is re-run with "Run now", not retried.
    await dialog.getByRole('button', { name: 'Remove' }).waitFor();
    assert((await dialog.getByRole('button', { name: 'Retry' }).count()) === 0, 'a completed scheduled job offers Retry');
    await dialog.getByRole('button', { name: 'Remove' }).click();
    await page.getByRole('dialog', { name: 'Remove job host-status-monitor?' }).getByRole('button', { name: 'Remove job' }).click();
    await page.getByText('Job removed').waitFor();
    await button.waitFor({ state: 'detached' });
    const gone = await fetch(`${base}/api/v1/queues/jobs/${monitorJob.id}`, { headers: { cookie: await cookieHeader() } });
    assert(gone.status === 404, `the removed job answers ${gone.status}`);
    // Leave the live-refreshing monitor: the next step signs out.
    await page.goto(`${base}/status`, { waitUntil: 'load' });
    await page.getByRole('heading', { name: 'Server status' }).waitFor();
  });

  await test('sign out; a protected page then asks for a sign-in and returns there', page, async () => {
    await page.getByRole('button', { name: 'Sign out', exact: true }).click();
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    await page.goto(`${base}/repositories`, { waitUntil: 'load' });
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    await page.locator('img[src^="/api/v1/settings/logo"]').waitFor();
    await page.screenshot({ path: path.join(artifacts, 'login.png'), fullPage: true });
    assert(new URL(page.url()).searchParams.get('next') === '/repositories', `login URL is ${page.url()}`);
    await signIn();
    await page.getByRole('heading', { name: 'Repositories' }).waitFor();
    assert(new URL(page.url()).pathname === '/repositories', `after sign-in the path is ${new URL(page.url()).pathname}`);
    await page.getByRole('table', { name: 'Repositories' }).locator('tbody a').first().waitFor();
  });

  await test('no page errors, console errors, failed or unexpected error responses', page, async () => {
    assert(problems.length === 0, problems.join('; '));
  });

  if (perfHosts > 0) {
    await test(`performance with ${perfHosts} more hosts (figures in the log)`, page, async () => {
      const started = Date.now();
      await seedViaApi(perfHosts);
      log(`seeded ${perfHosts} hosts through the API (create + one report each) in ${Math.round((Date.now() - started) / 1000)} s`);
      const figures = {};
      // The API alone (no browser), to tell server time from page time.
      const cookie = await cookieHeader();
      for (const [name, url] of [
        ['API dashboard/stats', '/api/v1/dashboard/stats'],
        ['API hosts page 1', '/api/v1/hosts?page=1&limit=50&sort=friendly_name&order=asc'],
      ]) {
        const times = [];
        for (let i = 0; i < 3; i++) {
          const t0 = performance.now();
          const res = await fetch(`${base}${url}`, { headers: { cookie } });
          await res.json();
          times.push(Math.round(performance.now() - t0));
        }
        figures[name] = times.join(' / ');
      }
      for (let round = 1; round <= 3; round++) {
        await page.goto(`${base}/`, { waitUntil: 'commit' });
        figures[`dashboard ${round}`] = await timeUntil('[data-card="total_hosts"]');
        await page.goto(`${base}/hosts`, { waitUntil: 'commit' });
        figures[`hosts ${round}`] = await timeUntil('table[aria-label="Hosts"] tbody a');
      }
      const total = await page.locator('[aria-live="polite"]').filter({ hasText: ' of ' }).first().textContent();
      log(`host list shows "${total?.trim()}"`);
      figures['hosts next page'] = await timeAction(
        () => page.getByRole('button', { name: 'Next' }).click(),
        () => (document.body.textContent?.includes('Page 2 of') && !document.querySelector('tbody.opacity-60') ? performance.now() : false),
      );
      figures['hosts sort by last report desc'] = await timeAction(
        async () => {
          await page.getByRole('button', { name: /^Last report/ }).click();
          await page.getByRole('button', { name: /^Last report/ }).click();
        },
        () => (location.search.includes('order=desc') && !document.querySelector('tbody.opacity-60') && document.querySelector('table[aria-label="Hosts"] tbody a') ? performance.now() : false),
      );
      await page.goto(`${base}/hosts?limit=200&needs_updates=true&sort=updates&order=desc`, { waitUntil: 'commit' });
      figures['hosts 200 rows, filtered + sorted'] = await timeUntil('table[aria-label="Hosts"] tbody a');
      await page.screenshot({ path: path.join(artifacts, 'hosts-10k.png'), fullPage: false });
      await page.goto(`${base}/`, { waitUntil: 'commit' });
      await timeUntil('[data-card="total_hosts"]');
      await page.screenshot({ path: path.join(artifacts, 'dashboard-10k.png'), fullPage: true });
      for (const [k, v] of Object.entries(figures)) log(`perf: ${k}: ${v} ms`);
    });
  }

  // Last, as it stops the server: the page must say so rather than keep showing "ok".
  await test('a server that goes away is reported, not hidden', page, async () => {
    await page.goto(`${base}/status`, { waitUntil: 'load' });
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
