import { screen, waitFor, within } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import type { Alert } from '../api/ops';
import { json, stubFetch, withSession } from '../test/fetch';
import { renderApp } from '../test/renderApp';

const ME = '11111111-1111-4111-8111-111111111111';
const HOST = '22222222-2222-4222-8222-222222222222';

function alert(over: Partial<Alert> = {}): Alert {
  return {
    id: 'a1', alert_type: 'host_down', severity: 'critical', status: 'open', title: 'Host web-1 is down', message: 'Agent WebSocket disconnected 40 s ago (threshold 30 s)',
    host_id: HOST, metadata: {}, assigned_to_user_id: null, silenced_until: null, acknowledged_at: null, acknowledged_by: null, resolved_at: null, resolved_by: null,
    created_at: '2026-11-25T10:00:00Z', updated_at: '2026-11-25T10:00:00Z',
    ...over,
  };
}

const SUMMARY = { days: 30, total: 3, by_type: { host_down: 2, updates_available: 1 }, by_severity: { critical: 2, warning: 1 }, by_status: { open: 1, resolved: 2 }, per_day: [] };
const CONFIG = [
  { alert_type: 'host_down', enabled: true, default_severity: 'critical', auto_assign_user_id: null, auto_resolve: true, retention_days: 30, metadata: { threshold_seconds: 30, note: 'kept' } },
  { alert_type: 'updates_available', enabled: true, default_severity: 'info', auto_assign_user_id: null, auto_resolve: true, retention_days: 30, metadata: {} },
];

type Call = { method: string; url: string; body: unknown };

function fakeServer(opts: { alerts?: Alert[]; actionError?: { status: number; error: string } } = {}) {
  let current = opts.alerts ?? [alert()];
  const history: { action: string; user_id: string | null; note: string | null; created_at: string }[] = [{ action: 'created', user_id: null, note: 'Agent WebSocket disconnected 40 s ago (threshold 30 s)', created_at: '2026-11-25T10:00:00Z' }];
  const calls: Call[] = [];
  const handler = (url: string, init: RequestInit | undefined) => {
    const method = init?.method ?? 'GET';
    const body: unknown = init?.body ? JSON.parse(init.body as string) : undefined;
    calls.push({ method, url, body });
    if (url.startsWith('/api/v1/alerts/summary')) return json(SUMMARY);
    if (url === '/api/v1/alerts/config') return json({ config: CONFIG });
    const cfg = /^\/api\/v1\/alerts\/config\/(\w+)$/.exec(url);
    if (cfg && method === 'PUT') {
      const c = CONFIG.find((x) => x.alert_type === cfg[1]);
      return json({ config: { ...c, ...(body as object) } });
    }
    if (url.startsWith('/api/v1/alerts?') || url === '/api/v1/alerts') {
      const q = new URL(url, 'http://x').searchParams;
      const list = current.filter((a) => !q.get('status') || a.status === q.get('status'));
      return json({ alerts: list, total: list.length, limit: Number(q.get('limit') ?? 50), offset: Number(q.get('offset') ?? 0) });
    }
    const act = /^\/api\/v1\/alerts\/([^/]+)\/actions$/.exec(url);
    if (act && method === 'POST') {
      if (opts.actionError) return json({ error: opts.actionError.error, code: 'conflict' }, opts.actionError.status);
      const b = body as { action: string; note?: string };
      const status: Alert['status'] | undefined = b.action === 'acknowledge' ? 'acknowledged' : b.action === 'resolve' ? 'resolved' : b.action === 'reopen' ? 'open' : undefined;
      current = current.map((a) => (a.id === act[1] ? { ...a, ...(status ? { status } : {}), ...(b.action === 'assign' ? { assigned_to_user_id: (body as { user_id: string }).user_id } : {}) } : a));
      history.push({ action: b.action, user_id: ME, note: b.note ?? null, created_at: '2026-11-25T10:05:00Z' });
      return json({ alert: current.find((a) => a.id === act[1]) });
    }
    const one = /^\/api\/v1\/alerts\/([^/?]+)$/.exec(url);
    if (one) return json({ alert: current.find((a) => a.id === one[1]), history });
    if (url === '/api/v1/auth/admin/users') return json([{ id: ME, username: 'alice', email: 'a@x', first_name: null, last_name: null, role: 'admin', is_active: true, tfa_enabled: false }, { id: 'u2', username: 'bob', email: 'b@x', first_name: null, last_name: null, role: 'user', is_active: true, tfa_enabled: false }]);
    return json({ error: 'Not found', code: 'not_found' }, 404);
  };
  return { handler, calls };
}

describe('Alerts', () => {
  it('shows the summary cards and the list, and filters by status in the URL', async () => {
    const server = fakeServer();
    stubFetch(withSession(server.handler));
    const { user, router } = renderApp('/alerts');
    const summary = await screen.findByLabelText('Alert summary');
    expect(within(summary).getByText('Open').nextSibling).toHaveTextContent('1');
    expect(within(summary).getByText('Resolved').nextSibling).toHaveTextContent('2');
    expect(within(summary).getByText('Raised, last 30 days').nextSibling).toHaveTextContent('3');
    const table = await screen.findByRole('table', { name: 'Alerts' });
    expect(within(table).getByText('Host web-1 is down')).toBeInTheDocument();
    expect(within(table).getByText('CRITICAL')).toBeInTheDocument();
    await user.selectOptions(screen.getByLabelText('Status'), 'resolved');
    await screen.findByText('No alerts match these filters.');
    expect(router.state.location.search).toContain('status=resolved');
    expect(server.calls.some((c) => c.url.startsWith('/api/v1/alerts?') && c.url.includes('status=resolved') && c.url.includes('limit=25'))).toBe(true);
  });

  it('acknowledges with a note, then resolves; the buttons follow the status', async () => {
    const server = fakeServer();
    stubFetch(withSession(server.handler));
    const { user } = renderApp('/alerts');
    await user.click(await screen.findByRole('button', { name: 'Host web-1 is down' }));
    const dialog = await screen.findByRole('dialog', { name: 'Host web-1 is down' });
    await within(dialog).findByText('Created');
    await user.type(within(dialog).getByLabelText(/^Note/), 'looking at it');
    await user.click(within(dialog).getByRole('button', { name: 'Acknowledge' }));
    await screen.findByText('Alert acknowledged');
    expect(server.calls.find((c) => c.method === 'POST')).toEqual({ method: 'POST', url: '/api/v1/alerts/a1/actions', body: { action: 'acknowledge', note: 'looking at it' } });
    // Acknowledged: no second Acknowledge; Resolve stays.
    await waitFor(() => expect(within(dialog).queryByRole('button', { name: 'Acknowledge' })).toBeNull());
    await user.click(within(dialog).getByRole('button', { name: 'Resolve' }));
    await screen.findByText('Alert resolved');
    expect(server.calls.filter((c) => c.method === 'POST')[1]?.body).toEqual({ action: 'resolve' });
    await within(dialog).findByRole('button', { name: 'Reopen' });
    expect(within(dialog).queryByRole('button', { name: 'Resolve' })).toBeNull();
    expect(within(dialog).queryByRole('button', { name: 'Silence' })).toBeNull();
  });

  it('assigns to another user and shows a refused action in the dialog', async () => {
    const server = fakeServer();
    stubFetch(withSession(server.handler));
    const { user } = renderApp('/alerts');
    await user.click(await screen.findByRole('button', { name: 'Host web-1 is down' }));
    const dialog = await screen.findByRole('dialog', { name: 'Host web-1 is down' });
    await user.selectOptions(await within(dialog).findByLabelText('Assign to'), 'u2');
    await user.click(within(dialog).getByRole('button', { name: 'Assign' }));
    await screen.findByText('Alert assigned');
    expect(server.calls.find((c) => c.method === 'POST')?.body).toEqual({ action: 'assign', user_id: 'u2' });
    expect(await within(screen.getByRole('table', { name: 'Alerts' })).findByText('bob')).toBeInTheDocument();
  });

  it("shows the server's refusal of an action", async () => {
    const server = fakeServer({ actionError: { status: 409, error: 'Alert is already resolved' } });
    stubFetch(withSession(server.handler));
    const { user } = renderApp('/alerts');
    await user.click(await screen.findByRole('button', { name: 'Host web-1 is down' }));
    const dialog = await screen.findByRole('dialog', { name: 'Host web-1 is down' });
    await user.click(await within(dialog).findByRole('button', { name: 'Resolve' }));
    const refused = await within(dialog).findByRole('alert');
    expect(refused).toHaveTextContent('Action refused');
    expect(refused).toHaveTextContent('Alert is already resolved');
  });

  it('edits the host_down threshold, sending only the change and keeping the other metadata', async () => {
    const server = fakeServer({ alerts: [] });
    stubFetch(withSession(server.handler));
    const { user } = renderApp('/alerts');
    await screen.findByText('No alerts. Nothing needs attention.');
    await user.click(screen.getByRole('tab', { name: 'Alert types' }));
    const threshold = await screen.findByLabelText('Down after seconds: Host down');
    expect(screen.getByRole('button', { name: 'Save Host down' })).toBeDisabled();
    expect(screen.queryByLabelText('Down after seconds: Updates available')).toBeNull();
    await user.clear(threshold);
    await user.type(threshold, '0');
    await user.selectOptions(screen.getByLabelText('Severity: Host down'), 'error');
    await user.click(screen.getByRole('button', { name: 'Save Host down' }));
    await screen.findByText('Host down saved');
    expect(server.calls.find((c) => c.method === 'PUT')).toEqual({
      method: 'PUT',
      url: '/api/v1/alerts/config/host_down',
      body: { default_severity: 'error', metadata: { threshold_seconds: 0, note: 'kept' } },
    });
  });

  it('says so when the server does not clear the auto-assigned user', async () => {
    const server = fakeServer({ alerts: [] });
    const assigned = { ...CONFIG[1], auto_assign_user_id: 'u2' };
    stubFetch(
      withSession((url, init) => {
        if (url === '/api/v1/alerts/config' && (init?.method ?? 'GET') === 'GET') return json({ config: [CONFIG[0], assigned] });
        // The server ignores `null` (it cannot clear the user) and answers the unchanged config.
        if (url === '/api/v1/alerts/config/updates_available' && init?.method === 'PUT') {
          server.handler(url, init);
          return json({ config: assigned });
        }
        return server.handler(url, init);
      }),
    );
    const { user } = renderApp('/alerts');
    await user.click(await screen.findByRole('tab', { name: 'Alert types' }));
    const select = await screen.findByLabelText('Auto-assign: Updates available');
    await waitFor(() => expect(select).toHaveValue('u2'));
    await user.selectOptions(select, '');
    await user.click(screen.getByRole('button', { name: 'Save Updates available' }));
    expect(await screen.findByText('Updates available: the server kept the auto-assigned user; it cannot be cleared yet')).toBeInTheDocument();
    expect(server.calls.find((c) => c.method === 'PUT')?.body).toEqual({ auto_assign_user_id: null });
  });

  it('is in the navigation only for roles with can_manage_alerts', async () => {
    const server = fakeServer();
    stubFetch(withSession(server.handler, 'oncall', { can_manage_alerts: true }));
    const { user } = renderApp('/alerts');
    const nav = await screen.findByRole('navigation', { name: 'Main' });
    expect(within(nav).getAllByRole('link').map((a) => a.textContent)).toEqual(['Alerts', 'Server status']);
    // Without can_view_users there is no user list to choose from, but "Assign to me" works.
    await user.click(await screen.findByRole('button', { name: 'Host web-1 is down' }));
    const dialog = await screen.findByRole('dialog', { name: 'Host web-1 is down' });
    expect(within(dialog).queryByLabelText('Assign to')).toBeNull();
    await user.click(within(dialog).getByRole('button', { name: 'Assign to me' }));
    await screen.findByText('Alert assigned');
    expect(server.calls.find((c) => c.method === 'POST')?.body).toEqual({ action: 'assign', user_id: ME });
    expect(server.calls.some((c) => c.url === '/api/v1/auth/admin/users')).toBe(false);
  });
});
