import { screen, waitFor, within } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import { json, stubFetch, withSession } from '../test/fetch';
import { renderApp } from '../test/renderApp';

function channel(over: Record<string, unknown> = {}) {
  return {
    id: 'c1', name: 'ops-hook', kind: 'webhook', enabled: true, config: { url: 'https://hooks.example.com/pm', secret: '********' },
    events: [], min_severity: 'warning', host_group_id: null, cooldown_seconds: 900, created_at: '2026-11-25T10:00:00Z', updated_at: '2026-11-25T10:00:00Z',
    ...over,
  };
}

type Call = { method: string; url: string; body: unknown };

/** The channel API as the server answers it (backend/src/notify). */
function fakeServer(initial = [channel()], opts: { saveError?: string; test?: unknown; deliveries?: unknown[] } = {}) {
  let channels = [...initial];
  const calls: Call[] = [];
  const deliveries: unknown[] = [...(opts.deliveries ?? [])];
  const handler = (url: string, init: RequestInit | undefined) => {
    const method = init?.method ?? 'GET';
    const body: unknown = init?.body ? JSON.parse(init.body as string) : undefined;
    calls.push({ method, url, body });
    if (url === '/api/v1/host-groups') return json({ groups: [{ id: 'g1', name: 'prod', description: null, color: '#000000', host_count: 1, created_at: '', updated_at: '' }] });
    if (url === '/api/v1/notifications/channels' && method === 'GET') return json({ channels });
    if (url.startsWith('/api/v1/notifications/deliveries')) {
      const q = new URL(url, 'http://x').searchParams;
      const limit = Number(q.get('limit') ?? 100);
      const offset = Number(q.get('offset') ?? 0);
      const rows = deliveries.filter((d) => !q.get('status') || (d as { status: string }).status === q.get('status'));
      return json({ deliveries: rows.slice(offset, offset + limit), total: rows.length, limit, offset });
    }
    if (opts.saveError && (method === 'POST' || method === 'PUT') && !url.endsWith('/test')) return json({ error: opts.saveError, code: 'bad_request' }, 400);
    if (url === '/api/v1/notifications/channels' && method === 'POST') {
      const c = channel({ ...(body as object), id: 'c-new' });
      channels = [...channels, c];
      return json({ channel: c }, 201);
    }
    const m = /^\/api\/v1\/notifications\/channels\/([^/]+)(\/test)?$/.exec(url);
    if (m?.[2] && method === 'POST') {
      const r = opts.test ?? { status: 'sent', attempts: 1, error: null };
      deliveries.unshift({ id: `d${String(deliveries.length)}`, channel_id: m[1], alert_id: null, host_id: null, alert_type: 'test', event: 'test', status: (r as { status: string }).status, attempts: 1, error: (r as { error: string | null }).error, created_at: new Date().toISOString() });
      return json(r);
    }
    if (m && method === 'PUT') {
      channels = channels.map((c) => (c.id === m[1] ? { ...c, ...(body as object) } : c));
      return json({ channel: channels.find((c) => c.id === m[1]) });
    }
    if (m && method === 'DELETE') {
      channels = channels.filter((c) => c.id !== m[1]);
      return json({ message: 'Channel deleted' });
    }
    return json({ error: 'Not found', code: 'not_found' }, 404);
  };
  return { handler, calls };
}

describe('Notification channels', () => {
  it('creates an ntfy channel with the fields of its kind only, leaving empty optional ones out', async () => {
    const server = fakeServer([]);
    stubFetch(withSession(server.handler));
    const { user } = renderApp('/notifications');
    expect(await screen.findByText(/No channels yet/)).toBeInTheDocument();
    await user.click(screen.getByRole('button', { name: 'New channel' }));
    const form = await screen.findByRole('dialog', { name: 'New channel' });
    // Webhook first: URL and signing secret, nothing of SMTP.
    expect(within(form).getByLabelText('Signing secret')).toBeInTheDocument();
    expect(within(form).queryByLabelText('SMTP host')).toBeNull();
    await user.selectOptions(within(form).getByLabelText('Kind'), 'ntfy');
    expect(within(form).getByLabelText('Topic')).toBeInTheDocument();
    expect(within(form).getByLabelText('Access token')).toBeInTheDocument();
    expect(within(form).queryByLabelText('Signing secret')).toBeNull();
    await user.type(within(form).getByLabelText('Name'), 'phone');
    await user.type(within(form).getByLabelText('Topic'), 'patchmon-alerts');
    await user.click(within(form).getByRole('checkbox', { name: 'Event host_down' }));
    await user.selectOptions(within(form).getByLabelText('Minimum severity'), 'error');
    await user.clear(within(form).getByLabelText('Cooldown (seconds)'));
    await user.type(within(form).getByLabelText('Cooldown (seconds)'), '60');
    await user.selectOptions(within(form).getByLabelText('Host group'), 'g1');
    await user.click(within(form).getByRole('button', { name: 'Create channel' }));
    await screen.findByText('Channel phone created');
    expect(server.calls.find((c) => c.method === 'POST')?.body).toEqual({
      name: 'phone',
      kind: 'ntfy',
      enabled: true,
      // No "url": the server rejects an ntfy url that is present but not http(s).
      config: { topic: 'patchmon-alerts' },
      events: ['host_down'],
      min_severity: 'error',
      host_group_id: 'g1',
      cooldown_seconds: 60,
    });
  });

  it('an email channel sends port as a number and the recipients as a list', async () => {
    const server = fakeServer([]);
    stubFetch(withSession(server.handler));
    const { user } = renderApp('/notifications');
    await user.click(await screen.findByRole('button', { name: 'New channel' }));
    const form = await screen.findByRole('dialog', { name: 'New channel' });
    await user.selectOptions(within(form).getByLabelText('Kind'), 'email');
    await user.type(within(form).getByLabelText('Name'), 'mail');
    await user.type(within(form).getByLabelText('SMTP host'), 'smtp.example.com');
    await user.clear(within(form).getByLabelText('Port'));
    await user.type(within(form).getByLabelText('Port'), '465');
    await user.selectOptions(within(form).getByLabelText('Security'), 'tls');
    await user.type(within(form).getByLabelText('Username'), 'pm');
    await user.type(within(form).getByLabelText('SMTP password'), 'pw');
    await user.type(within(form).getByLabelText('From'), 'pm@example.com');
    await user.type(within(form).getByLabelText('To'), 'a@example.com, b@example.com');
    await user.click(within(form).getByRole('button', { name: 'Create channel' }));
    await screen.findByText('Channel mail created');
    expect((server.calls.find((c) => c.method === 'POST')?.body as { config: unknown }).config).toEqual({
      host: 'smtp.example.com', port: 465, security: 'tls', username: 'pm', password: 'pw', from: 'pm@example.com', to: ['a@example.com', 'b@example.com'],
    });
  });

  it('keeps a stored secret on edit unless it is retyped or removed', async () => {
    const server = fakeServer();
    stubFetch(withSession(server.handler));
    const { user } = renderApp('/notifications');
    await user.click(await screen.findByRole('button', { name: 'Edit ops-hook' }));
    let form = await screen.findByRole('dialog', { name: 'Edit channel ops-hook' });
    const secret = within(form).getByLabelText('Signing secret');
    // The masked value is never put into the field.
    expect(secret).toHaveValue('');
    expect(secret).toHaveAttribute('placeholder', 'Stored; leave empty to keep it');
    await user.clear(within(form).getByLabelText('Name'));
    await user.type(within(form).getByLabelText('Name'), 'ops-hook-2');
    await user.click(within(form).getByRole('button', { name: 'Save' }));
    await screen.findByText('Channel ops-hook-2 saved');
    const puts = () => server.calls.filter((c) => c.method === 'PUT').map((c) => c.body as { name: string; config: Record<string, unknown> });
    expect(puts()[0]).toMatchObject({ name: 'ops-hook-2', config: { url: 'https://hooks.example.com/pm', secret: '********' }, min_severity: 'warning', cooldown_seconds: 900 });

    // Retyped: the new one goes.
    await user.click(await screen.findByRole('button', { name: 'Edit ops-hook-2' }));
    form = await screen.findByRole('dialog', { name: 'Edit channel ops-hook-2' });
    await user.type(within(form).getByLabelText('Signing secret'), 'n3w-s3cret');
    await user.click(within(form).getByRole('button', { name: 'Save' }));
    await waitFor(() => expect(puts()).toHaveLength(2));
    expect(puts()[1]?.config.secret).toBe('n3w-s3cret');

    // Removed on purpose: no secret key at all.
    await user.click(await screen.findByRole('button', { name: 'Edit ops-hook-2' }));
    form = await screen.findByRole('dialog', { name: 'Edit channel ops-hook-2' });
    await user.click(within(form).getByRole('checkbox', { name: /Remove the stored signing secret/ }));
    await user.click(within(form).getByRole('button', { name: 'Save' }));
    await waitFor(() => expect(puts()).toHaveLength(3));
    expect(puts()[2]?.config).toEqual({ url: 'https://hooks.example.com/pm' });
  });

  it("shows the server's validation error in the form and keeps it open", async () => {
    const server = fakeServer([], { saveError: 'webhook config needs an http(s) url' });
    stubFetch(withSession(server.handler));
    const { user } = renderApp('/notifications');
    await user.click(await screen.findByRole('button', { name: 'New channel' }));
    const form = await screen.findByRole('dialog', { name: 'New channel' });
    await user.type(within(form).getByLabelText('Name'), 'hook');
    await user.type(within(form).getByLabelText('URL'), 'ftp://nope');
    await user.click(within(form).getByRole('button', { name: 'Create channel' }));
    const alert = await within(form).findByRole('alert');
    expect(alert).toHaveTextContent('Channel not created');
    expect(alert).toHaveTextContent('webhook config needs an http(s) url');
    expect(screen.getByRole('dialog', { name: 'New channel' })).toBeInTheDocument();
  });

  it('send test shows a failed result with its error, and the delivery log lists it', async () => {
    const server = fakeServer([channel()], { test: { status: 'failed', attempts: 3, error: 'HTTP 500' } });
    stubFetch(withSession(server.handler));
    const { user } = renderApp('/notifications');
    await user.click(await screen.findByRole('button', { name: 'Send test through ops-hook' }));
    const row = screen.getByRole('table', { name: 'Channels' }).querySelector('tr[data-channel="ops-hook"]') as HTMLElement;
    await within(row).findByText('3 attempts');
    expect(within(row).getByText('HTTP 500')).toBeInTheDocument();
    expect(await screen.findByText('Test through ops-hook failed: HTTP 500')).toBeInTheDocument();
    const log = await screen.findByRole('table', { name: 'Deliveries' });
    expect(within(log).getByText('ops-hook')).toBeInTheDocument();
    expect(within(log).getByText('failed')).toBeInTheDocument();
  });

  it('pages the delivery log and filters it by outcome', async () => {
    const made = Array.from({ length: 30 }, (_, i) => ({
      id: `d${String(i)}`, channel_id: 'c1', alert_id: null, host_id: null, alert_type: 'host_down', event: 'alert_raised',
      status: i % 3 === 0 ? 'failed' : 'sent', attempts: 1, error: i % 3 === 0 ? `HTTP 50${String(i % 10)}` : null, created_at: '2026-11-25T10:00:00Z',
    }));
    const server = fakeServer([channel()], { deliveries: made });
    stubFetch(withSession(server.handler));
    const { user } = renderApp('/notifications');
    const log = await screen.findByRole('table', { name: 'Deliveries' });
    expect(within(log).getAllByRole('row')).toHaveLength(26); // header + 25
    expect(screen.getByText('1–25 of 30')).toBeInTheDocument();
    await user.click(screen.getByRole('button', { name: 'Next' }));
    expect(await screen.findByText('26–30 of 30')).toBeInTheDocument();
    expect(server.calls.some((c) => c.url.includes('offset=25'))).toBe(true);
    await user.selectOptions(screen.getByLabelText('Outcome'), 'failed');
    expect(await screen.findByText('1–10 of 10')).toBeInTheDocument();
    const last = server.calls.filter((c) => c.url.startsWith('/api/v1/notifications/deliveries')).pop();
    expect(last?.url).toContain('status=failed');
    expect(last?.url).not.toContain('offset=25');
  });

  it('hides the delivery log from a role without can_view_notification_logs', async () => {
    const server = fakeServer();
    stubFetch(withSession(server.handler, 'notifier', { can_manage_notifications: true }));
    const { user } = renderApp('/notifications');
    await screen.findByRole('table', { name: 'Channels' });
    expect(screen.queryByRole('heading', { name: 'Delivery log' })).toBeNull();
    expect(server.calls.some((c) => c.url.startsWith('/api/v1/notifications/deliveries'))).toBe(false);
    // Nor does the form ask for host groups the role may not list.
    await user.click(screen.getByRole('button', { name: 'Edit ops-hook' }));
    await screen.findByRole('dialog', { name: 'Edit channel ops-hook' });
    expect(server.calls.some((c) => c.url === '/api/v1/host-groups')).toBe(false);
  });
});

