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
function fleetApi() {
  const hostQueries: URLSearchParams[] = [];
  const handler = (url: string) => {
    const u = new URL(url, 'http://localhost');
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
    if (u.pathname === '/api/v1/dashboard/stats') return json({ total_hosts: 2, os_distribution: [{ os_type: 'Ubuntu', os_version: '24.04', name: 'Ubuntu 24.04', count: 2 }], agent_versions: [] });
    return json({ error: 'Not found', code: 'not_found' }, 404);
  };
  return { handler, hostQueries, last: () => hostQueries[hostQueries.length - 1] };
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
});
