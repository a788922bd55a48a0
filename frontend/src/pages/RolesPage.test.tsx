import { screen, waitFor } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import { PERMISSIONS } from '../api/model';
import { json, stubFetch, withSession } from '../test/fetch';
import { renderApp } from '../test/renderApp';

function role(name: string, granted: string[], builtin = true) {
  return { role: name, description: null, is_builtin: builtin, host_group_ids: [], ...Object.fromEntries(PERMISSIONS.map((p) => [p, granted.includes(p)])) };
}

describe('Roles (permission matrix)', () => {
  it('saves only the flags that changed, per role, and cannot edit superadmin', async () => {
    const puts: { url: string; body: unknown }[] = [];
    stubFetch(
      withSession((url, init) => {
        if (url === '/api/v1/permissions/roles' && (init?.method ?? 'GET') === 'GET') {
          return json([role('superadmin', [...PERMISSIONS]), role('readonly', ['can_view_dashboard', 'can_view_hosts']), role('auditor', ['can_view_reports'], false)]);
        }
        if (url.startsWith('/api/v1/permissions/roles/') && init?.method === 'PUT') {
          puts.push({ url, body: JSON.parse(init.body as string) });
          return json({});
        }
        return json({ error: 'Not found', code: 'not_found' }, 404);
      }),
    );
    const { user } = renderApp('/roles');
    const exportBox = await screen.findByRole('checkbox', { name: 'readonly: export data' });
    expect(screen.getByRole('checkbox', { name: 'superadmin: view hosts' })).toBeDisabled();
    expect(screen.getByRole('button', { name: 'No changes' })).toBeDisabled();

    await user.click(exportBox);
    await user.click(screen.getByRole('checkbox', { name: 'readonly: view hosts' }));
    await user.click(screen.getByRole('checkbox', { name: 'auditor: view reports' }));
    // Toggling twice is no change at all.
    await user.click(screen.getByRole('checkbox', { name: 'auditor: manage docker' }));
    await user.click(screen.getByRole('checkbox', { name: 'auditor: manage docker' }));
    await user.click(screen.getByRole('button', { name: 'Save 3 changes' }));

    await waitFor(() => expect(puts).toHaveLength(2));
    expect(puts).toContainEqual({ url: '/api/v1/permissions/roles/readonly', body: { can_export_data: true, can_view_hosts: false } });
    expect(puts).toContainEqual({ url: '/api/v1/permissions/roles/auditor', body: { can_view_reports: false } });
    expect(await screen.findByText('Permissions saved')).toBeInTheDocument();
  });

  it('limits a role to host groups', async () => {
    let put: unknown = null;
    stubFetch(
      withSession((url, init) => {
        if (url === '/api/v1/permissions/roles' && (init?.method ?? 'GET') === 'GET') return json([role('superadmin', [...PERMISSIONS]), role('user', ['can_view_hosts'])]);
        if (url === '/api/v1/host-groups') return json({ groups: [{ id: 'g1', name: 'prod', color: '#EF4444', description: null, host_count: 1, created_at: '', updated_at: '' }] });
        if (url === '/api/v1/permissions/roles/user' && init?.method === 'PUT') {
          put = JSON.parse(init.body as string);
          return json({});
        }
        return json({ error: 'Not found', code: 'not_found' }, 404);
      }),
    );
    const { user } = renderApp('/roles');
    expect(screen.queryByRole('button', { name: 'Edit the host groups of superadmin' })).not.toBeInTheDocument();
    await user.click(await screen.findByRole('button', { name: 'Edit the host groups of user' }));
    await user.click(await screen.findByRole('checkbox', { name: 'prod' }));
    await user.click(screen.getByRole('button', { name: 'Save' }));
    await waitFor(() => expect(put).toEqual({ host_group_ids: ['g1'] }));
  });
});
