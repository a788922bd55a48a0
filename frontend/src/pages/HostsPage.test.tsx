import { screen, waitFor, within } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import { READONLY_PERMISSIONS, json, stubFetch, withSession } from '../test/fetch';
import { renderApp } from '../test/renderApp';

function host(i: number) {
  return {
    id: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
    api_id: `patchmon_${i}`,
    friendly_name: `web-${i}`,
    hostname: `web-${i}.example`,
    ip: `10.0.0.${i}`,
    os_type: 'Ubuntu',
    os_version: '24.04',
    architecture: 'x86_64',
    agent_version: '1.4.0',
    status: 'active',
    effective_status: 'active',
    reporting_state: 'reporting',
    update_state: 'updates_pending',
    total_packages: 800,
    updates_available: i,
    security_updates: 0,
    needs_reboot: false,
    groups: [{ id: 'g1', name: 'prod', color: '#3B82F6' }],
    connected: true,
    last_update: new Date().toISOString(),
    created_at: new Date().toISOString(),
  };
}

/** A fake fleet API that records the host-list queries it receives. */
function fleetApi(views: unknown[] = []) {
  const hostQueries: URLSearchParams[] = [];
  const savedViews: unknown[] = [];
  const statsCalls: string[] = [];
  const bulkCalls: unknown[] = [];
  const handler = (url: string, init?: RequestInit) => {
    const u = new URL(url, 'http://localhost');
    if (u.pathname === '/api/v1/hosts/views' && init?.method === 'POST') {
      const body = JSON.parse(init.body as string) as Record<string, unknown>;
      savedViews.push(body);
      return json({ id: 'v-new', ...body, created_at: '', updated_at: '' }, 201);
    }
    if (u.pathname === '/api/v1/hosts/views') return json({ views });
    if (u.pathname === '/api/v1/hosts/bulk/groups') {
      bulkCalls.push(JSON.parse(init?.body as string));
      return json({ updated: 2 });
    }
    if (u.pathname === '/api/v1/hosts') {
      hostQueries.push(u.searchParams);
      const page = Number(u.searchParams.get('page') ?? '1');
      const limit = Number(u.searchParams.get('limit') ?? '50');
      return json({
        hosts: [host(page * 10 + 1), host(page * 10 + 2)],
        pagination: { page, limit, offset: (page - 1) * limit, total: 10_000, total_pages: Math.ceil(10_000 / limit) },
      });
    }
    if (u.pathname === '/api/v1/host-groups') return json({ groups: [{ id: 'g1', name: 'prod', color: '#3B82F6', description: null, host_count: 2, created_at: '', updated_at: '' }] });
    if (u.pathname === '/api/v1/dashboard/stats') statsCalls.push(url);
    if (u.pathname === '/api/v1/dashboard/stats') return json({ total_hosts: 2, os_distribution: [{ os_type: 'Ubuntu', os_version: '24.04', name: 'Ubuntu 24.04', count: 2 }], agent_versions: [] });
    return json({ error: 'Not found', code: 'not_found' }, 404);
  };
  return { handler, hostQueries, savedViews, statsCalls, bulkCalls, last: () => hostQueries[hostQueries.length - 1] };
}

describe('Hosts table', () => {
  it('loads the query the URL describes', async () => {
    const api = fleetApi();
    stubFetch(withSession(api.handler));
    renderApp('/hosts?status=inactive&needs_reboot=true&sort=last_update&order=desc&page=3&search=db');
    expect(await screen.findByRole('link', { name: 'web-31' })).toBeInTheDocument();
    const q = api.last();
    expect(q?.get('status')).toBe('inactive');
    expect(q?.get('needs_reboot')).toBe('true');
    expect(q?.get('sort')).toBe('last_update');
    expect(q?.get('order')).toBe('desc');
    expect(q?.get('page')).toBe('3');
    expect(q?.get('search')).toBe('db');
    expect(screen.getByText('Page 3 of 200')).toBeInTheDocument();
    expect(screen.getByRole('columnheader', { name: /Last report/ })).toHaveAttribute('aria-sort', 'descending');
  });

  it('writes sort, filters and paging to the URL and asks the server for them', async () => {
    const api = fleetApi();
    stubFetch(withSession(api.handler));
    const { user, router } = renderApp('/hosts');
    await screen.findByRole('link', { name: 'web-11' });

    await user.click(screen.getByRole('button', { name: 'Next' }));
    await screen.findByRole('link', { name: 'web-21' });
    expect(router.state.location.search).toBe('?page=2');

    // A filter goes back to page 1.
    await user.selectOptions(screen.getByRole('combobox', { name: 'Security updates' }), 'true');
    await waitFor(() => expect(router.state.location.search).toBe('?security_updates=true'));
    await waitFor(() => expect(api.last()?.get('security_updates')).toBe('true'));
    expect(api.last()?.get('page')).toBe('1');

    await user.selectOptions(screen.getByRole('combobox', { name: 'Group' }), 'g1');
    await waitFor(() => expect(api.last()?.get('group_id')).toBe('g1'));

    await user.click(screen.getByRole('button', { name: /^Updates/ }));
    await waitFor(() => expect(api.last()?.get('sort')).toBe('updates'));
    await user.click(screen.getByRole('button', { name: /^Updates/ }));
    await waitFor(() => expect(api.last()?.get('order')).toBe('desc'));
    expect(new URLSearchParams(router.state.location.search).get('order')).toBe('desc');

    await user.type(screen.getByRole('searchbox', { name: 'Search' }), 'web-2');
    await waitFor(() => expect(api.last()?.get('search')).toBe('web-2'));
    expect(new URLSearchParams(router.state.location.search).get('search')).toBe('web-2');
  });

  it('follows the back button', async () => {
    const api = fleetApi();
    stubFetch(withSession(api.handler));
    const { user, router } = renderApp('/hosts');
    await screen.findByRole('link', { name: 'web-11' });
    await user.click(screen.getByRole('button', { name: 'Next' }));
    await screen.findByRole('link', { name: 'web-21' });
    await router.navigate(-1);
    await screen.findByRole('link', { name: 'web-11' });
    expect(router.state.location.search).toBe('');
    expect(screen.getByText('Page 1 of 200')).toBeInTheDocument();
  });

  it('offers Add host and exports only to roles that may use them', async () => {
    const api = fleetApi();
    stubFetch(withSession(api.handler, 'readonly', READONLY_PERMISSIONS));
    renderApp('/hosts');
    await screen.findByRole('link', { name: 'web-11' });
    expect(screen.queryByRole('link', { name: 'Add host' })).not.toBeInTheDocument();
    expect(screen.queryByRole('link', { name: 'Export CSV' })).not.toBeInTheDocument();
    const row = screen.getByRole('link', { name: 'web-11' }).closest('tr');
    expect(row && within(row).getByText('prod')).toBeInTheDocument();
  });

  it('opens the default saved view on a bare /hosts, and saves the current table as a view', async () => {
    const api = fleetApi([
      { id: 'v1', name: 'Security', columns: ['os', 'security_updates'], sort: 'security_updates', order: 'desc', filters: { security_updates: 'true' }, is_default: true, created_at: '', updated_at: '' },
    ]);
    stubFetch(withSession(api.handler));
    const { user, router } = renderApp('/hosts');
    await waitFor(() => expect(api.last()?.get('security_updates')).toBe('true'));
    const q = new URLSearchParams(router.state.location.search);
    expect(q.get('sort')).toBe('security_updates');
    expect(q.get('cols')).toBe('os,security_updates');
    await screen.findByRole('link', { name: 'web-11' });
    // Only the view's columns (plus the name) are shown.
    expect(screen.getAllByRole('columnheader').map((h) => h.textContent.replace(/[▲▼]/g, '').trim())).toEqual(['', 'Name', 'OS', 'Security']);

    await user.click(screen.getByRole('checkbox', { name: 'Agent' }));
    await waitFor(() => expect(new URLSearchParams(router.state.location.search).get('cols')).toBe('os,security_updates,agent_version'));
    await user.click(screen.getByRole('button', { name: 'Views…' }));
    await user.type(screen.getByLabelText('View name'), 'Sec + agent');
    await user.click(screen.getByRole('button', { name: 'Save view' }));
    await waitFor(() => expect(api.savedViews).toHaveLength(1));
    expect(api.savedViews[0]).toEqual({
      name: 'Sec + agent',
      columns: ['os', 'security_updates', 'agent_version'],
      sort: 'security_updates',
      order: 'desc',
      filters: { security_updates: 'true' },
      is_default: false,
    });
  });

  it('loads the OS choices (a fleet-wide aggregate) only when the OS filter is opened', async () => {
    const api = fleetApi();
    stubFetch(withSession(api.handler));
    const { user } = renderApp('/hosts');
    await screen.findByRole('link', { name: 'web-11' });
    expect(api.statsCalls).toHaveLength(0);
    const os = screen.getByRole('combobox', { name: 'OS' });
    await user.click(os);
    await waitFor(() => expect(within(os).getByRole('option', { name: 'Ubuntu' })).toBeInTheDocument());
    expect(api.statsCalls).toHaveLength(1);
  });

  it('adds the selected hosts to a group in one call', async () => {
    const api = fleetApi();
    stubFetch(withSession(api.handler));
    const { user } = renderApp('/hosts');
    await screen.findByRole('link', { name: 'web-11' });
    await user.click(screen.getByRole('checkbox', { name: 'Select all hosts on this page' }));
    expect(screen.getByRole('region', { name: 'Selected hosts' })).toHaveTextContent('2 selected');
    await user.selectOptions(screen.getByRole('combobox', { name: 'Group for the selected hosts' }), 'g1');
    await user.click(screen.getByRole('button', { name: 'Add to group' }));
    await waitFor(() => expect(api.bulkCalls).toHaveLength(1));
    expect(api.bulkCalls[0]).toEqual({
      host_ids: ['00000000-0000-4000-8000-000000000011', '00000000-0000-4000-8000-000000000012'],
      group_ids: ['g1'],
      mode: 'add',
    });
    expect(await screen.findByText('2 host(s) added to the group')).toBeInTheDocument();
    expect(screen.queryByRole('region', { name: 'Selected hosts' })).not.toBeInTheDocument();
  });

  it('offers no selection to a role that cannot manage hosts', async () => {
    const api = fleetApi();
    stubFetch(withSession(api.handler, 'readonly', READONLY_PERMISSIONS));
    renderApp('/hosts');
    await screen.findByRole('link', { name: 'web-11' });
    expect(screen.queryByRole('checkbox', { name: 'Select web-11' })).not.toBeInTheDocument();
  });
});
