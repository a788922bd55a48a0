import { screen, waitFor, within } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import { json, stubFetch, withSession } from '../test/fetch';
import { renderApp } from '../test/renderApp';

const GROUP = { id: 'g1', name: 'prod', description: 'production', color: '#EF4444', host_count: 2, created_at: '', updated_at: '' };

describe('Host groups', () => {
  it('lists the hosts a delete would detach before deleting', async () => {
    let deleted = false;
    stubFetch(
      withSession((url, init) => {
        if (url === '/api/v1/host-groups') return json({ groups: deleted ? [] : [GROUP] });
        if (url === '/api/v1/host-groups/g1' && init?.method === 'DELETE') {
          deleted = true;
          return json({ message: 'Host group deleted', hosts_detached: 2 });
        }
        if (url === '/api/v1/host-groups/g1') {
          return json({
            ...GROUP,
            hosts: [
              { id: 'h1', friendly_name: 'web-1', hostname: null, ip: null, os_type: 'Ubuntu', os_version: '24.04', effective_status: 'active' },
              { id: 'h2', friendly_name: 'db-1', hostname: null, ip: null, os_type: 'Debian', os_version: '12', effective_status: 'inactive' },
            ],
          });
        }
        return json({ error: 'Not found', code: 'not_found' }, 404);
      }),
    );
    const { user } = renderApp('/host-groups');
    await screen.findByText('production');
    await user.click(screen.getByRole('button', { name: 'Delete' }));
    const dialog = await screen.findByRole('dialog', { name: 'Delete group prod?' });
    const affected = await within(dialog).findByRole('list', { name: 'Affected hosts' });
    expect(within(affected).getByText('web-1')).toBeInTheDocument();
    expect(within(affected).getByText('db-1')).toBeInTheDocument();
    await user.click(within(dialog).getByRole('button', { name: 'Delete group' }));
    expect(await screen.findByText('Group deleted; 2 host(s) left it')).toBeInTheDocument();
    await waitFor(() => expect(screen.getByText('No groups yet.')).toBeInTheDocument());
  });

  it('creates a group with the chosen colour', async () => {
    let body: unknown = null;
    stubFetch(
      withSession((url, init) => {
        if (url === '/api/v1/host-groups' && init?.method === 'POST') {
          body = JSON.parse(init.body as string);
          return json({ ...GROUP, id: 'g2', name: 'edge' }, 201);
        }
        if (url === '/api/v1/host-groups') return json({ groups: [] });
        return json({ error: 'Not found', code: 'not_found' }, 404);
      }),
    );
    const { user } = renderApp('/host-groups');
    await user.click(await screen.findByRole('button', { name: 'New group' }));
    await user.type(screen.getByLabelText('Name'), 'edge');
    const colour = screen.getByLabelText('Colour');
    // A colour input cannot be typed into; set it as the browser would.
    await user.click(colour);
    Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, 'value')?.set?.call(colour, '#22c55e');
    colour.dispatchEvent(new Event('input', { bubbles: true }));
    await user.click(screen.getByRole('button', { name: 'Save' }));
    await waitFor(() => expect(body).toEqual({ name: 'edge', description: '', color: '#22c55e' }));
  });
});
