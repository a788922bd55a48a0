import { screen, waitFor, within } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import { json, READONLY_PERMISSIONS, stubFetch, withSession } from '../test/fetch';
import { renderApp } from '../test/renderApp';

const KEY = 'patchmon_ae_0123456789abcdef0123456789abcdef';
const SECRET = '9f'.repeat(32);
const SETTINGS = {
  server_protocol: 'https', server_host: 'pm.example.com', server_port: 443, server_url: 'https://pm.example.com',
  update_interval: 60, auto_update: false, ignore_ssl_self_signed: false, branding_name: 'PatchMon', has_logo: false, logo_updated_at: null, updated_at: null,
};
const GROUP = { id: 'g1', name: 'Proxmox LXC', description: null, color: '#3B82F6', host_count: 0, created_at: '', updated_at: '' };

function token(over: Record<string, unknown> = {}) {
  return {
    id: 't1', token_name: 'pve-01', token_key: KEY, integration_type: 'proxmox-lxc', is_active: true, is_expired: false,
    allowed_ip_ranges: [], max_hosts_per_day: 100, hosts_created_today: 3, last_used_at: null, expires_at: null,
    created_at: '2026-11-25T10:00:00Z', default_host_group_id: null, metadata: {}, scopes: null, host_groups: null,
    users: { id: 'u1', username: 'alice', first_name: null, last_name: null },
    ...over,
  };
}

type Call = { method: string; url: string; body: unknown };

/** A small in-memory token API with the server's answers (docs/integrations.md). */
function fakeServer(initial: ReturnType<typeof token>[] = [], opts: { createError?: { error: string; code: string } } = {}) {
  let tokens = [...initial];
  const calls: Call[] = [];
  const handler = (url: string, init: RequestInit | undefined) => {
    const method = init?.method ?? 'GET';
    const body: unknown = init?.body ? JSON.parse(init.body as string) : undefined;
    calls.push({ method, url, body });
    if (url === '/api/v1/settings') return json(SETTINGS);
    if (url === '/api/v1/host-groups') return json({ groups: [GROUP] });
    if (url === '/api/v1/auto-enrollment/tokens' && method === 'GET') return json(tokens);
    if (url === '/api/v1/auto-enrollment/tokens' && method === 'POST') {
      if (opts.createError) return json(opts.createError, 400);
      const b = body as Record<string, unknown>;
      const t = token({ id: 't-new', token_name: b.token_name, integration_type: b.integration_type, scopes: b.scopes ?? null, hosts_created_today: 0 });
      tokens = [t, ...tokens];
      return json({ message: 'Auto-enrollment token created successfully', token: { ...t, token_secret: SECRET }, warning: 'Save the token_secret now - it cannot be retrieved later!' }, 201);
    }
    const m = /^\/api\/v1\/auto-enrollment\/tokens\/([^/]+)$/.exec(url);
    if (m && method === 'PATCH') {
      tokens = tokens.map((t) => (t.id === m[1] ? { ...t, ...(body as object) } : t));
      return json({ message: 'Token updated successfully', token: tokens.find((t) => t.id === m[1]) });
    }
    if (m && method === 'DELETE') {
      tokens = tokens.filter((t) => t.id !== m[1]);
      return json({ message: 'Auto-enrollment token deleted successfully', deleted_token: { id: m[1], token_name: 'x' } });
    }
    return json({ error: 'Not found', code: 'not_found' }, 404);
  };
  return { handler, calls };
}

describe('Integrations', () => {
  it('creates a proxmox-lxc token and shows the secret once, with snippets built from the server URL', async () => {
    const server = fakeServer();
    stubFetch(withSession(server.handler));
    const { user } = renderApp('/settings/integrations');
    expect(await screen.findByText(/No tokens yet/)).toBeInTheDocument();
    await user.click(screen.getByRole('button', { name: 'New token' }));
    const form = await screen.findByRole('dialog', { name: 'New token' });
    expect(within(form).getByRole('radio', { name: /Proxmox LXC/ })).toBeChecked();
    // Enrollment types have a quota and a default group, not scopes.
    expect(within(form).getByLabelText('Hosts per day')).toHaveValue(100);
    expect(within(form).queryByRole('checkbox', { name: 'host:get' })).toBeNull();
    await user.type(within(form).getByLabelText('Name'), 'pve-01');
    await user.clear(within(form).getByLabelText('Hosts per day'));
    await user.type(within(form).getByLabelText('Hosts per day'), '20');
    await user.selectOptions(await within(form).findByLabelText('Default host group'), 'g1');
    await user.type(within(form).getByLabelText('Allowed IP addresses'), '10.0.0.0/24, 192.168.1.5');
    await user.click(within(form).getByRole('button', { name: 'Create token' }));

    const secretDialog = await screen.findByRole('dialog', { name: 'Token pve-01 created' });
    expect(server.calls.find((c) => c.method === 'POST')?.body).toEqual({
      integration_type: 'proxmox-lxc',
      token_name: 'pve-01',
      max_hosts_per_day: 20,
      default_host_group_id: 'g1',
      allowed_ip_ranges: ['10.0.0.0/24', '192.168.1.5'],
    });
    expect(within(secretDialog).getByText(/This secret will not be shown again/)).toBeInTheDocument();
    expect(within(secretDialog).getByTestId('token-key')).toHaveTextContent(KEY);
    expect(within(secretDialog).getByTestId('token-secret')).toHaveTextContent(SECRET);
    expect(within(secretDialog).getByRole('button', { name: 'Copy secret' })).toBeInTheDocument();
    // Snippets use the configured server URL once the settings have loaded.
    await waitFor(() => expect(within(secretDialog).getAllByTestId('snippet')[0]).toHaveTextContent('https://pm.example.com/api/v1/auto-enrollment/script?type=proxmox-lxc'));
    const [enroll, dry] = within(secretDialog).getAllByTestId('snippet');
    expect(enroll).toHaveTextContent(`-H "X-Auto-Enrollment-Key: ${KEY}" -H "X-Auto-Enrollment-Secret: ${SECRET}"`);
    expect(enroll?.textContent).toMatch(/\| sh$/);
    expect(dry?.textContent).toMatch(/\| DRY_RUN=true sh$/);

    // Escape does not throw the secret away; only the explicit button closes it.
    await user.keyboard('{Escape}');
    expect(screen.getByRole('dialog', { name: 'Token pve-01 created' })).toBeInTheDocument();
    await user.click(within(secretDialog).getByRole('button', { name: 'I have saved the secret' }));
    await waitFor(() => expect(screen.queryByRole('dialog')).toBeNull());
    const table = await screen.findByRole('table', { name: 'Tokens' });
    expect(within(table).getByText('pve-01')).toBeInTheDocument();
    expect(within(table).getByText('0 / 100')).toBeInTheDocument();
    // Gone for good: the secret is nowhere on the page any more.
    expect(document.body.textContent).not.toContain(SECRET);
  });

  it('requires at least one scope for an API token and sends the chosen ones', async () => {
    const server = fakeServer();
    stubFetch(withSession(server.handler));
    const { user } = renderApp('/settings/integrations');
    await user.click(await screen.findByRole('button', { name: 'New token' }));
    const form = await screen.findByRole('dialog', { name: 'New token' });
    await user.click(within(form).getByRole('radio', { name: /^API/ }));
    expect(within(form).queryByLabelText('Hosts per day')).toBeNull();
    expect(within(form).queryByLabelText('Default host group')).toBeNull();
    await user.type(within(form).getByLabelText('Name'), 'ansible');
    await user.click(within(form).getByRole('checkbox', { name: 'host:get' })); // default on → off
    await user.click(within(form).getByRole('button', { name: 'Create token' }));
    expect(await within(form).findByRole('alert')).toHaveTextContent('Choose at least one scope');
    expect(server.calls.some((c) => c.method === 'POST')).toBe(false);

    await user.click(within(form).getByRole('checkbox', { name: 'host:get' }));
    await user.click(within(form).getByRole('checkbox', { name: 'host:delete' }));
    await user.click(within(form).getByRole('button', { name: 'Create token' }));
    const secretDialog = await screen.findByRole('dialog', { name: 'Token ansible created' });
    expect(server.calls.find((c) => c.method === 'POST')?.body).toEqual({
      integration_type: 'api',
      token_name: 'ansible',
      allowed_ip_ranges: [],
      scopes: { host: ['get', 'delete'] },
    });
    await waitFor(() => expect(within(secretDialog).getAllByTestId('snippet')[0]).toHaveTextContent(`curl -u "${KEY}:${SECRET}" "https://pm.example.com/api/v1/api/hosts"`));
    expect(within(secretDialog).getAllByTestId('snippet')[1]).toHaveTextContent(`export PATCHMON_API_SECRET="${SECRET}"`);
  });

  it('shows the server’s validation error in the form and keeps what was typed', async () => {
    const server = fakeServer([], { createError: { error: 'Invalid IP address or CIDR range: "10.0.0.300"', code: 'bad_request' } });
    stubFetch(withSession(server.handler));
    const { user } = renderApp('/settings/integrations');
    await user.click(await screen.findByRole('button', { name: 'New token' }));
    const form = await screen.findByRole('dialog', { name: 'New token' });
    await user.click(within(form).getByRole('radio', { name: /GetHomepage/ }));
    await user.type(within(form).getByLabelText('Name'), 'homepage');
    await user.type(within(form).getByLabelText('Allowed IP addresses'), '10.0.0.300');
    await user.click(within(form).getByRole('button', { name: 'Create token' }));
    const alert = await within(form).findByRole('alert');
    expect(alert).toHaveTextContent('Token not created');
    expect(alert).toHaveTextContent('Invalid IP address or CIDR range: "10.0.0.300"');
    expect(within(form).getByLabelText('Name')).toHaveValue('homepage');
    expect(screen.queryByRole('dialog', { name: /created/ })).toBeNull();
  });

  it('toggles, edits and deletes a token', async () => {
    const server = fakeServer([token(), token({ id: 't2', token_name: 'ansible', token_key: 'patchmon_ae_ffff', integration_type: 'api', scopes: { host: ['get'] } })]);
    stubFetch(withSession(server.handler));
    const { user } = renderApp('/settings/integrations');
    const table = await screen.findByRole('table', { name: 'Tokens' });
    expect(within(table).getByText('3 / 100')).toBeInTheDocument();
    expect(within(table).getByText('host: get')).toBeInTheDocument();

    await user.click(within(table).getByRole('switch', { name: 'Active: pve-01' }));
    expect(await screen.findByText('pve-01 disabled')).toBeInTheDocument();
    expect(server.calls.find((c) => c.method === 'PATCH')).toEqual({ method: 'PATCH', url: '/api/v1/auto-enrollment/tokens/t1', body: { is_active: false } });
    await waitFor(() => expect(within(table).getByRole('switch', { name: 'Active: pve-01' })).not.toBeChecked());

    // Edit sends only what changed.
    await user.click(within(table).getByRole('button', { name: 'Edit ansible' }));
    const edit = await screen.findByRole('dialog', { name: 'Edit token ansible' });
    await user.click(within(edit).getByRole('checkbox', { name: 'host:delete' }));
    await user.type(within(edit).getByLabelText('Expires'), '2030-01-31');
    await user.click(within(edit).getByRole('button', { name: 'Save' }));
    await waitFor(() => expect(screen.queryByRole('dialog')).toBeNull());
    expect(server.calls.filter((c) => c.method === 'PATCH')[1]).toEqual({
      method: 'PATCH',
      url: '/api/v1/auto-enrollment/tokens/t2',
      body: { expires_at: '2030-01-31', scopes: { host: ['get', 'delete'] } },
    });

    await user.click(within(table).getByRole('button', { name: 'Delete pve-01' }));
    const confirm = await screen.findByRole('dialog', { name: 'Delete token pve-01?' });
    await user.click(within(confirm).getByRole('button', { name: 'Delete token' }));
    expect(await screen.findByText('Token pve-01 deleted')).toBeInTheDocument();
    await waitFor(() => expect(within(table).queryByText('pve-01')).toBeNull());
    expect(within(table).getByText('ansible')).toBeInTheDocument();
  });

  it('shows the commands of an existing token with a placeholder for the secret', async () => {
    stubFetch(withSession(fakeServer([token({ integration_type: 'gethomepage', token_name: 'homepage' })]).handler));
    const { user } = renderApp('/settings/integrations');
    await user.click(await screen.findByRole('button', { name: 'Commands for homepage' }));
    const dialog = await screen.findByRole('dialog', { name: 'Commands for homepage' });
    await waitFor(() => expect(within(dialog).getByTestId('snippet')).toHaveTextContent('url: https://pm.example.com/api/v1/gethomepage/stats'));
    expect(within(dialog).getByTestId('snippet')).toHaveTextContent(`username: ${KEY} password: <secret>`);
    await user.click(within(dialog).getByRole('button', { name: 'Close' }));
    await waitFor(() => expect(screen.queryByRole('dialog')).toBeNull());
  });

  it('marks only Integrations as the current page, not Settings too', async () => {
    stubFetch(withSession(fakeServer().handler));
    renderApp('/settings/integrations');
    await screen.findByText(/No tokens yet/);
    const nav = screen.getByRole('navigation', { name: 'Main' });
    const current = nav.querySelectorAll('[aria-current="page"]');
    expect(current).toHaveLength(1);
    expect(current[0]).toHaveTextContent('Integrations');
  });

  it('is hidden from a role without can_manage_settings', async () => {
    const server = fakeServer([token()]);
    stubFetch(withSession(server.handler, 'readonly', READONLY_PERMISSIONS));
    renderApp('/settings/integrations');
    const nav = await screen.findByRole('navigation', { name: 'Main' });
    expect(within(nav).queryByRole('link', { name: 'Integrations' })).toBeNull();
    const alert = await screen.findByRole('alert');
    expect(alert).toHaveTextContent('Not allowed');
    expect(server.calls.some((c) => c.url.startsWith('/api/v1/auto-enrollment'))).toBe(false);
  });
});
