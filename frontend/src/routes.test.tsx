import { screen, within } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import { HEALTH_OK, READONLY_PERMISSIONS, json, stubFetch, withSession } from './test/fetch';
import { renderApp } from './test/renderApp';

const STATS = {
  total_hosts: 0, hosts_needing_updates: 0, hosts_with_security_updates: 0, up_to_date_hosts: 0, awaiting_data_hosts: 0,
  reboot_required_hosts: 0, pending_hosts: 0, inactive_hosts: 0, offline_hosts: 0, connected_agents: 0, total_outdated_packages: 0,
  security_updates: 0, total_repos: 0, recent_updates_24h: 0, os_distribution: [], agent_versions: [], update_interval: 60, last_updated: null,
};

function fleet(url: string) {
  if (url === '/health') return json(HEALTH_OK);
  if (url.startsWith('/api/v1/dashboard/stats')) return json(STATS);
  if (url.startsWith('/api/v1/dashboard/trends')) return json({ days: 30, points: [] });
  return json({ error: 'Not found', code: 'not_found' }, 404);
}

function navLabels(): string[] {
  const nav = screen.getByRole('navigation', { name: 'Main' });
  return within(nav).getAllByRole('link').map((a) => a.textContent);
}

describe('routes', () => {
  it('shows Not found for an unknown path, with a way back', async () => {
    stubFetch(withSession(fleet));
    const { user, router } = renderApp('/no/such/page');
    expect(await screen.findByRole('heading', { name: 'Not found' })).toBeInTheDocument();
    expect(screen.getByText('/no/such/page')).toBeInTheDocument();

    await user.click(screen.getByRole('link', { name: 'Go to the dashboard' }));
    expect(await screen.findByRole('heading', { name: 'Dashboard' })).toBeInTheDocument();
    expect(router.state.location.pathname).toBe('/');
  });

  it('marks the current page in the navigation', async () => {
    stubFetch(withSession(fleet));
    renderApp('/status');
    const nav = await screen.findByRole('navigation', { name: 'Main' });
    expect(nav.querySelector('[aria-current="page"]')).toHaveTextContent('Server status');
  });

  it('shows an admin every section', async () => {
    stubFetch(withSession(fleet));
    renderApp('/status');
    await screen.findByRole('navigation', { name: 'Main' });
    expect(navLabels()).toEqual(['Dashboard', 'Hosts', 'Host groups', 'Packages', 'Repositories', 'Alerts', 'Notifications', 'Queues', 'Users', 'Roles', 'Settings', 'Integrations', 'Server status']);
  });

  it('hides what a readonly role cannot use, and refuses it by URL too', async () => {
    stubFetch(withSession(fleet, 'readonly', READONLY_PERMISSIONS));
    renderApp('/settings');
    await screen.findByRole('navigation', { name: 'Main' });
    expect(navLabels()).toEqual(['Dashboard', 'Hosts', 'Host groups', 'Packages', 'Repositories', 'Server status']);
    const alert = await screen.findByRole('alert');
    expect(alert).toHaveTextContent('Not allowed');
    expect(alert).toHaveTextContent('can_manage_settings');
  });

  it('hides the user list from a role without can_view_users but keeps settings for one with can_manage_settings', async () => {
    stubFetch(withSession(fleet, 'custom', { can_manage_settings: true }));
    renderApp('/status');
    await screen.findByRole('navigation', { name: 'Main' });
    expect(navLabels()).toEqual(['Queues', 'Roles', 'Settings', 'Integrations', 'Server status']);
  });

  it('sends a visitor without a session to the login page, keeping where they were going', async () => {
    stubFetch((url) => {
      if (url === '/api/v1/auth/profile') return json({ error: 'Authentication required', code: 'unauthorized' }, 401);
      if (url === '/api/v1/auth/check-admin-users') return json({ hasAdminUsers: true });
      if (url === '/api/v1/auth/oidc/config') return json({ enabled: true, buttonText: 'Login with Keycloak', disableLocalAuth: false });
      return json({ error: 'Authentication required', code: 'unauthorized' }, 401);
    });
    const { router } = renderApp('/hosts?status=active');
    expect(await screen.findByRole('heading', { name: 'Sign in' })).toBeInTheDocument();
    expect(router.state.location.pathname).toBe('/login');
    expect(router.state.location.search).toBe(`?next=${encodeURIComponent('/hosts?status=active')}`);
    const sso = screen.getByRole('link', { name: 'Login with Keycloak' });
    expect(sso).toHaveAttribute('href', '/api/v1/auth/oidc/login');
  });

  it('sends the first visitor of a new server to the setup page', async () => {
    stubFetch((url) => {
      if (url === '/api/v1/auth/check-admin-users') return json({ hasAdminUsers: false });
      if (url === '/api/v1/auth/oidc/config') return json({ enabled: false, buttonText: '', disableLocalAuth: false });
      return json({ error: 'Authentication required', code: 'unauthorized' }, 401);
    });
    const { router } = renderApp('/');
    expect(await screen.findByRole('heading', { name: 'Create the first administrator' })).toBeInTheDocument();
    expect(router.state.location.pathname).toBe('/setup');
  });
});
