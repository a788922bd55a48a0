import { screen } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import { json, stubFetch, withSession } from '../test/fetch';
import { renderApp } from '../test/renderApp';

describe('Add host', () => {
  it('creates the host, shows the credentials and install command once, and waits for the agent', async () => {
    let connected = false;
    let created: unknown = null;
    stubFetch(
      withSession((url, init) => {
        if (url === '/api/v1/host-groups') return json({ groups: [{ id: 'g1', name: 'prod', color: '#22C55E', description: null, host_count: 0, created_at: '', updated_at: '' }] });
        if (url === '/api/v1/settings') return json({ server_url: 'https://pm.example.com', server_protocol: 'https', server_host: 'pm.example.com', server_port: 443 });
        if (url === '/api/v1/hosts' && init?.method === 'POST') {
          created = JSON.parse(init.body as string);
          return json({ id: 'h1', friendly_name: 'web-1', api_id: 'patchmon_abc', api_key: 'k3y' }, 201);
        }
        if (url === '/api/v1/ws/status/patchmon_abc') {
          return json({ connected, secure: false, connected_at: null, disconnected_seconds_ago: null, agent_version: connected ? '1.4.0' : null, capabilities: [] });
        }
        return json({ error: 'Not found', code: 'not_found' }, 404);
      }),
    );
    const { user } = renderApp('/hosts/new');
    await user.type(await screen.findByLabelText('Friendly name'), 'web-1');
    await user.click(await screen.findByRole('checkbox', { name: 'prod' }));
    await user.click(screen.getByRole('button', { name: 'Create host' }));

    expect(await screen.findByTestId('api-key')).toHaveTextContent('k3y');
    expect(created).toEqual({ friendly_name: 'web-1', group_ids: ['g1'] });
    expect(await screen.findByTestId('install-command')).toHaveTextContent(
      'curl -s -H "X-API-ID: patchmon_abc" -H "X-API-KEY: k3y" "https://pm.example.com/api/v1/hosts/install" | sh',
    );
    expect(await screen.findByText('Waiting for connection…')).toBeInTheDocument();
    connected = true;
    expect(await screen.findByText('Connected (agent 1.4.0).', {}, { timeout: 4000 })).toBeInTheDocument();
  });
});
