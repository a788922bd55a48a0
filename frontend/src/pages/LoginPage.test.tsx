import { screen, waitFor } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import { ADMIN_PERMISSIONS, json, profile, stubFetch } from '../test/fetch';
import { renderApp } from '../test/renderApp';

const UNAUTHORIZED = { error: 'Authentication required', code: 'unauthorized' };

describe('Sign-in', () => {
  it('asks for the TOTP code when the server requires it, then goes where the user was headed', async () => {
    let signedIn = false;
    const bodies: Record<string, unknown> = {};
    stubFetch((url, init) => {
      if (init?.body) bodies[url] = JSON.parse(init.body as string);
      switch (url) {
        case '/api/v1/auth/check-admin-users':
          return json({ hasAdminUsers: true });
        case '/api/v1/auth/oidc/config':
          return json({ enabled: false, buttonText: '', disableLocalAuth: false });
        case '/api/v1/auth/profile':
          return signedIn ? json(profile('admin', ADMIN_PERMISSIONS)) : json(UNAUTHORIZED, 401);
        case '/api/v1/auth/login':
          return json({ requiresTfa: true, tfa_ticket: 'ticket-1', username: 'alice', expires_in: 300 });
        case '/api/v1/auth/verify-tfa': {
          const b = JSON.parse(init?.body as string) as { token: string };
          if (b.token !== '123456') return json({ error: 'Invalid verification code', code: 'unauthorized' }, 401);
          signedIn = true;
          return json({ message: 'Login successful', token: 't', csrf_token: 'c', expires_in: 3600, user: { id: 'u', username: 'alice' } });
        }
        case '/health':
          return json({ status: 'ok', database: 'ok', dialect: 'sqlite', version: '0.1.0', agents_connected: 0 });
        default:
          return json({ error: 'Not found', code: 'not_found' }, 404);
      }
    });
    const { user, router } = renderApp('/status');
    await screen.findByRole('heading', { name: 'Sign in' });
    await user.type(screen.getByLabelText('Username or email'), 'alice');
    await user.type(screen.getByLabelText('Password'), 'pw');
    await user.click(screen.getByRole('button', { name: 'Sign in' }));

    await screen.findByRole('heading', { name: 'Two-factor authentication' });
    await user.type(screen.getByLabelText('Code'), '000000');
    await user.click(screen.getByRole('button', { name: 'Verify' }));
    expect(await screen.findByRole('alert')).toHaveTextContent('Invalid verification code');
    // A wrong code is not a lost session: the user stays on the form.
    expect(router.state.location.pathname).toBe('/login');

    await user.clear(screen.getByLabelText('Code'));
    await user.type(screen.getByLabelText('Code'), '123456');
    await user.click(screen.getByRole('checkbox', { name: 'Remember this browser' }));
    await user.click(screen.getByRole('button', { name: 'Verify' }));
    await screen.findByRole('heading', { name: 'Server status' });
    expect(router.state.location.pathname).toBe('/status');
    expect(bodies['/api/v1/auth/verify-tfa']).toEqual({ tfa_ticket: 'ticket-1', token: '123456', remember_me: true });
  });

  it('does not follow a ?next= that leaves the site', async () => {
    let signedIn = false;
    stubFetch((url) => {
      if (url === '/api/v1/auth/check-admin-users') return json({ hasAdminUsers: true });
      if (url === '/api/v1/auth/oidc/config') return json({ enabled: false, buttonText: '', disableLocalAuth: false });
      if (url === '/api/v1/auth/profile') return signedIn ? json(profile('readonly', { can_view_hosts: true })) : json(UNAUTHORIZED, 401);
      if (url === '/api/v1/auth/login') {
        signedIn = true;
        return json({ message: 'Login successful', token: 't', csrf_token: 'c', expires_in: 3600, user: { id: 'u', username: 'alice' } });
      }
      return json({ error: 'Not found', code: 'not_found' }, 404);
    });
    const { user, router } = renderApp('/login?next=//evil.example/x');
    await screen.findByRole('heading', { name: 'Sign in' });
    await user.type(screen.getByLabelText('Username or email'), 'alice');
    await user.type(screen.getByLabelText('Password'), 'pw');
    await user.click(screen.getByRole('button', { name: 'Sign in' }));
    await waitFor(() => expect(router.state.location.pathname).toBe('/'));
  });

  it('returns to the login page when the session ends while the app is open', async () => {
    let alive = true;
    stubFetch((url) => {
      if (url === '/api/v1/auth/check-admin-users') return json({ hasAdminUsers: true });
      if (url === '/api/v1/auth/oidc/config') return json({ enabled: false, buttonText: '', disableLocalAuth: false });
      if (!alive) return json(UNAUTHORIZED, 401);
      if (url === '/api/v1/auth/profile') return json(profile('admin', ADMIN_PERMISSIONS));
      if (url.startsWith('/api/v1/host-groups')) return json({ groups: [] });
      return json({ error: 'Not found', code: 'not_found' }, 404);
    });
    const { user, router } = renderApp('/host-groups');
    await screen.findByText('No groups yet.');
    alive = false;
    await user.click(screen.getByRole('button', { name: 'New group' }));
    await user.type(screen.getByLabelText('Name'), 'prod');
    await user.click(screen.getByRole('button', { name: 'Save' }));
    await screen.findByRole('heading', { name: 'Sign in' });
    expect(router.state.location.pathname).toBe('/login');
    expect(router.state.location.search).toBe(`?next=${encodeURIComponent('/host-groups')}`);
    expect(screen.getByText('Your session has ended; please sign in again.')).toBeInTheDocument();
  });
});
