import { screen, waitFor, within } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import { json, stubFetch, withSession } from '../test/fetch';
import { renderApp } from '../test/renderApp';

const STATS = {
  total_hosts: 10_000, hosts_needing_updates: 4000, hosts_with_security_updates: 1200, up_to_date_hosts: 5900, awaiting_data_hosts: 100,
  reboot_required_hosts: 30, pending_hosts: 2, inactive_hosts: 40, offline_hosts: 10, connected_agents: 9950, total_outdated_packages: 65,
  security_updates: 9, total_repos: 14, recent_updates_24h: 300,
  os_distribution: [{ os_type: 'Ubuntu', os_version: '24.04', name: 'Ubuntu 24.04', count: 8000 }, { os_type: 'Debian', os_version: '12', name: 'Debian 12', count: 2000 }],
  agent_versions: [{ version: '1.4.0', count: 10_000 }], update_interval: 60, last_updated: '2026-11-25T17:00:00Z',
};

describe('Dashboard', () => {
  it('shows the stat cards, the OS distribution and the trend, following the saved layout', async () => {
    let saved: unknown = null;
    stubFetch(
      withSession((url, init) => {
        if (url === '/api/v1/dashboard/stats') return json(STATS);
        if (url.startsWith('/api/v1/dashboard/trends')) {
          return json({ days: 30, points: [
            { timestamp: '2026-11-24T00:00:00Z', total_hosts: 9000, hosts_needing_updates: 3000, security_updates: 8, total_outdated_packages: 60, up_to_date_hosts: 6000, offline_hosts: 5 },
            { timestamp: '2026-11-25T00:00:00Z', total_hosts: 10000, hosts_needing_updates: 4000, security_updates: 9, total_outdated_packages: 65, up_to_date_hosts: 5900, offline_hosts: 10 },
          ] });
        }
        if (url === '/api/v1/dashboard-preferences' && init?.method === 'PUT') {
          saved = JSON.parse(init.body as string);
          return json({ ...(saved as object), updated_at: 'now' });
        }
        if (url === '/api/v1/dashboard-preferences') {
          return json({ layout: [{ card_id: 'offline_hosts', enabled: true, order: 0 }, { card_id: 'total_hosts', enabled: false, order: 1 }], updated_at: 'x' });
        }
        return json({ error: 'Not found', code: 'not_found' }, 404);
      }),
    );
    const { user } = renderApp('/');
    const cards = await screen.findByRole('list', { name: 'Statistics' });
    await waitFor(() => expect(cards.querySelector('[data-card="total_hosts"]')).toBeNull());
    const first = within(cards).getAllByRole('listitem')[0];
    expect(first).toHaveTextContent('Offline (> 3× interval)10');
    expect(within(cards).getByRole('link', { name: /Hosts with security updates/ })).toHaveAttribute('href', '/hosts?security_updates=true');
    expect(screen.getByRole('list', { name: 'OS distribution' })).toHaveTextContent('Ubuntu 24.04');
    expect(await screen.findByRole('img', { name: /Trend of Hosts/ })).toBeInTheDocument();

    await user.click(screen.getByRole('button', { name: 'Customize' }));
    await user.click(screen.getByRole('checkbox', { name: 'Total hosts' }));
    await user.click(screen.getByRole('button', { name: 'Move Total hosts earlier' }));
    await user.click(screen.getByRole('button', { name: 'Save layout' }));
    await waitFor(() => expect(saved).not.toBeNull());
    const layout = (saved as { layout: { card_id: string; enabled: boolean; order: number }[] }).layout;
    expect(layout[0]).toEqual({ card_id: 'total_hosts', enabled: true, order: 0 });
    expect(layout[1]).toEqual({ card_id: 'offline_hosts', enabled: true, order: 1 });
    expect(layout).toHaveLength(12);
    expect(await screen.findByText('Dashboard layout saved')).toBeInTheDocument();
  });
});
