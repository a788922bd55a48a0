// Browser end-to-end tests: the real server binary serving the built web app,
// driven through Debian's chromium with playwright-core.
//
// Builds nothing. Needs `npm run build` (frontend/dist) and then the server
// built with it embedded (`cargo build -p patchmon-server -p patchmon-agent`).
// Binaries: $PATCHMON_SERVER_BIN and $PATCHMON_AGENT_BIN, by default
// debug/patchmon-server and debug/patchmon-agent under $CARGO_TARGET_DIR
// (or ../target). Chromium: $CHROMIUM_PATH, default /usr/bin/chromium.
// With $PATCHMON_E2E_PERF_HOSTS=N (and $PATCHMON_LOADGEN_BIN, default
// debug/patchmon-loadgen, built with `--features testkit`) it also enrolls N
// hosts with a first report each and measures the dashboard and host list.
// Screenshots and the server log go to e2e/artifacts/. Ends with
// "N passed, M failed"; exits 1 on any failure.

import { spawn } from 'node:child_process';
import { createWriteStream, existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
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
const loadgenBin = path.resolve(frontendDir, process.env.PATCHMON_LOADGEN_BIN ?? path.join(targetDir, 'debug/patchmon-loadgen'));
const perfHosts = Number(process.env.PATCHMON_E2E_PERF_HOSTS ?? '0');

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
      DATABASE_URL: dbUrl(dataDir),
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
  // The session probe answers 401 while signed out; chromium logs every
  // non-2xx load as a console error, so those are checked by URL instead.
  const expected401 = (url) => ['/api/v1/auth/profile', '/api/v1/auth/login'].includes(new URL(url).pathname);
  page.on('console', (msg) => {
    if (msg.type() === 'error' && !/status of 401 \(Unauthorized\)/.test(msg.text())) problems.push(`console error: ${msg.text()}`);
  });
  page.on('response', (res) => {
    if (res.status() >= 400 && !(res.status() === 401 && expected401(res.url()))) problems.push(`HTTP ${res.status()} for ${res.request().method()} ${res.url()}`);
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
    await page.getByRole('button', { name: 'Sign out' }).click();
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
    creds = { apiId, apiKey, hostUrl: null };
  });

  let agent = null;
  await test('a real agent reports and connects; the page sees it connect', page, async () => {
    assert(creds, 'no credentials from the previous step');
    assert(existsSync(agentBin), `agent binary not found at ${agentBin} (cargo build -p patchmon-agent)`);
    const dir = path.join(work, 'agent');
    await mkdir(dir, { recursive: true });
    const config = path.join(dir, 'config.yml');
    await writeFile(
      config,
      [
        `patchmon_server: ${base}`,
        `credentials_file: ${path.join(dir, 'credentials.yml')}`,
        `log_file: ${path.join(dir, 'agent.log')}`,
        'package_cache_refresh_mode: never',
        '',
      ].join('\n'),
      { mode: 0o600 },
    );
    await writeFile(path.join(dir, 'credentials.yml'), `api_id: ${creds.apiId}\napi_key: ${creds.apiKey}\n`, { mode: 0o600 });
    const report = await run(agentBin, ['--config', config, 'report']);
    assert(report.code === 0, `agent report exited ${report.code}: ${report.stderr.slice(-500)}`);
    const agentLog = createWriteStream(path.join(artifacts, 'agent.log'));
    agent = spawn(agentBin, ['--config', config, 'serve'], { stdio: ['ignore', 'pipe', 'pipe'] });
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
    await page.getByLabel('OS', { exact: true }).selectOption(osType);
    await page.waitForURL((u) => u.searchParams.get('os') === osType);
    await table.getByRole('link', { name: 'e2e-agent' }).waitFor();
    await page.getByLabel('Status').selectOption('pending');
    await table.getByText('No hosts match.').waitFor();
    await page.getByLabel('Status').selectOption('');
    await page.getByRole('searchbox', { name: 'Search' }).fill('e2e-ag');
    await page.waitForURL((u) => u.searchParams.get('search') === 'e2e-ag');
    await table.getByRole('link', { name: 'e2e-agent' }).waitFor();
    await page.screenshot({ path: path.join(artifacts, 'hosts-filtered.png'), fullPage: true });
    // The filtered URL survives a reload.
    await page.reload({ waitUntil: 'load' });
    await table.getByRole('link', { name: 'e2e-agent' }).waitFor();
    assert((await page.getByLabel('OS', { exact: true }).inputValue()) === osType, 'the OS filter was lost on reload');
  });

  async function cookieHeader() {
    const cookies = await context.cookies(base);
    return cookies.map((c) => `${c.name}=${c.value}`).join('; ');
  }

  let packageName = null;
  await test('host detail tabs: system, network, packages, history; then a package detail', page, async () => {
    await page.getByRole('table', { name: 'Hosts' }).getByRole('link', { name: 'e2e-agent' }).click();
    await page.getByRole('heading', { name: 'e2e-agent' }).waitFor();
    await page.getByText('Agent connection').waitFor();
    await page.getByText(/^connected/).waitFor();
    await page.screenshot({ path: path.join(artifacts, 'host-overview.png'), fullPage: true });
    await page.getByRole('tab', { name: 'system' }).click();
    await page.getByText('Kernel (running)').waitFor();
    await page.getByRole('tab', { name: 'network' }).click();
    await page.getByRole('heading', { name: 'Interfaces' }).waitFor();
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
    await page.getByLabel('Group').selectOption({ label: GROUP });
    const row = table.getByRole('row').filter({ hasText: 'e2e-agent' });
    await row.getByText(GROUP).waitFor();
    await page.getByLabel('Group').selectOption({ label: '(no group)' });
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
  });

  await test('sign out; a protected page then asks for a sign-in and returns there', page, async () => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    await page.goto(`${base}/repositories`, { waitUntil: 'load' });
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
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
      assert(existsSync(loadgenBin), `loadgen not found at ${loadgenBin} (cargo build -p patchmon-server --features testkit --bin patchmon-loadgen)`);
      const started = Date.now();
      const seeded = await run(loadgenBin, ['--url', base, '--mode', 'unchanged', '--hosts', String(perfHosts), '--packages', '50', '--reports', '1', '--concurrency', '1'], {
        env: { ...process.env, DATABASE_URL: dbUrl(work) },
      });
      assert(seeded.code === 0, `loadgen exited ${seeded.code}: ${seeded.stderr.slice(-800)}`);
      log(`seeded ${perfHosts} hosts with a first report each in ${Math.round((Date.now() - started) / 1000)} s`);
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
