import { screen, waitFor, within } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import { PERMISSIONS } from '../api/model';
import { json, stubFetch, withSession } from '../test/fetch';
import { renderApp } from '../test/renderApp';

const ME = '11111111-1111-4111-8111-111111111111';

function user(id: string, username: string, role: string) {
  return {
    id, username, email: `${username}@example.com`, first_name: null, last_name: null, role, is_active: true,
    last_login: null, tfa_enabled: false, theme_preference: null, color_theme: null, created_at: '2026-11-25T10:00:00Z', updated_at: '2026-11-25T10:00:00Z',
  };
}

function fakeServer() {
  const sent: { method: string; url: string; body: unknown }[] = [];
  const handler = (url: string, init: RequestInit | undefined) => {
    const method = init?.method ?? 'GET';
    if (method !== 'GET') sent.push({ method, url, body: init?.body ? JSON.parse(init.body as string) : undefined });
    if (url === '/api/v1/auth/admin/users' && method === 'GET') return json([user(ME, 'alice', 'admin'), user('u2', 'bob', 'user')]);
    if (url === '/api/v1/permissions/roles') {
      return json(['admin', 'user'].map((r) => ({ role: r, description: null, is_builtin: true, host_group_ids: [], ...Object.fromEntries(PERMISSIONS.map((p) => [p, true])) })));
    }
    if (url === '/api/v1/auth/admin/users' && method === 'POST') return json({ message: 'User created successfully', user: user('u3', 'carol', 'user') }, 201);
    if (url.startsWith('/api/v1/auth/admin/users/') && method === 'PUT') return json({ message: 'User updated successfully', user: user(ME, 'alice', 'admin') });
    return json({ error: 'Not found', code: 'not_found' }, 404);
  };
  return { handler, sent };
}

describe('Users', () => {
  it('creates a user disabled when Active is unchecked (the server is told, not just the form)', async () => {
    const server = fakeServer();
    stubFetch(withSession(server.handler));
    const { user: u } = renderApp('/users');
    await u.click(await screen.findByRole('button', { name: 'Add user' }));
    const form = await screen.findByRole('dialog', { name: 'Add user' });
    await u.type(within(form).getByLabelText('Username'), 'carol');
    await u.type(within(form).getByLabelText('Email'), 'carol@example.com');
    await u.type(within(form).getByLabelText('Password'), 'Us3r-Passw0rd!');
    await u.click(within(form).getByRole('checkbox', { name: 'Active' }));
    await u.click(within(form).getByRole('button', { name: 'Save' }));
    await screen.findByText('User created');
    expect(server.sent).toEqual([
      {
        method: 'POST',
        url: '/api/v1/auth/admin/users',
        body: { username: 'carol', email: 'carol@example.com', first_name: '', last_name: '', role: 'user', is_active: false, password: 'Us3r-Passw0rd!' },
      },
    ]);
  });

  it('does not let you change your own role or disable yourself', async () => {
    const server = fakeServer();
    stubFetch(withSession(server.handler));
    const { user: u } = renderApp('/users');
    const row = (await screen.findAllByText('alice')).map((e) => e.closest('tr')).find((r) => r !== null);
    if (!row) throw new Error('no row for alice');
    await u.click(within(row).getByRole('button', { name: 'Edit' }));
    const form = await screen.findByRole('dialog', { name: 'Edit alice' });
    expect(within(form).queryByRole('checkbox', { name: 'Active' })).toBeNull();
    expect(within(form).queryByLabelText('Role')).toBeNull();
    await u.click(within(form).getByRole('button', { name: 'Save' }));
    await waitFor(() => expect(server.sent).toHaveLength(1));
    expect(server.sent[0]).toEqual({
      method: 'PUT',
      url: `/api/v1/auth/admin/users/${ME}`,
      body: { username: 'alice', email: 'alice@example.com', first_name: '', last_name: '' },
    });
  });
});
