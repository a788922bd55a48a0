import { screen, waitFor } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import type { HostDetail } from '../api/model';
import { READONLY_PERMISSIONS, json, stubFetch, withSession } from '../test/fetch';
import { renderApp } from '../test/renderApp';

const HOST: HostDetail = {
  id: 'h1',
  api_id: 'patchmon_abc',
  friendly_name: 'web-1',
  hostname: 'web-1.example',
  machine_id: null,
  ip: '10.0.0.5',
  notes: null,
  status: 'active',
  effective_status: 'active',
  reporting_state: 'reporting',
  update_state: 'up_to_date',
  os_type: 'Debian',
  os_version: '12',
  architecture: 'x86_64',
  kernel_version: null,
  installed_kernel_version: null,
  selinux_status: null,
  package_manager: 'apt',
  system_uptime: null,
  boot_time: null,
  needs_reboot: false,
  reboot_reason: null,
  hardware: { cpu_model: null, cpu_cores: null, ram_installed: null, swap_size: null, load_average: null, disk_details: null },
  network: { gateway_ip: null, dns_servers: null, primary_interface: null, interfaces: null },
  counts: { total_packages: 10, updates_available: 0, security_updates: 0, repositories: 1 },
  groups: [],
  integrations: { docker_enabled: false, compliance_enabled: false, auto_update: false },
  agent: { version: '2.1.0', connected: false, secure: false, connected_at: null, disconnected_seconds_ago: null, capabilities: [] },
  last_update: null,
  last_full_report_at: null,
  created_at: '2026-11-01T00:00:00Z',
  updated_at: '2026-11-01T00:00:00Z',
};

describe('Host detail integrations', () => {
  it('turns Docker on, sends only that flag and says when the agent will apply it', async () => {
    let host = HOST;
    const bodies: unknown[] = [];
    stubFetch(
      withSession((url, init) => {
        if (url === '/api/v1/hosts/h1/integrations' && init?.method === 'PUT') {
          const body = JSON.parse(init.body as string) as { docker?: boolean };
          bodies.push(body);
          host = { ...host, integrations: { ...host.integrations, docker_enabled: body.docker === true } };
          return json({ host, agent_notified: false });
        }
        if (url === '/api/v1/hosts/h1') return json(host);
        return json({ error: 'Not found', code: 'not_found' }, 404);
      }),
    );
    const { user } = renderApp('/hosts/h1');
    const docker = await screen.findByRole('checkbox', { name: 'Docker inventory' });
    expect(docker).not.toBeChecked();
    await user.click(docker);
    expect(await screen.findByText('Integrations saved; the agent applies them when it next starts')).toBeInTheDocument();
    expect(bodies).toEqual([{ docker: true }]);
    await waitFor(() => expect(screen.getByRole('checkbox', { name: 'Docker inventory' })).toBeChecked());
  });

  it('shows the state without switches to a role that cannot manage hosts', async () => {
    stubFetch(
      withSession(
        (url) => {
          if (url === '/api/v1/hosts/h1') return json({ ...HOST, integrations: { ...HOST.integrations, compliance_enabled: true } });
          return json({ error: 'Not found', code: 'not_found' }, 404);
        },
        'readonly',
        READONLY_PERMISSIONS,
      ),
    );
    renderApp('/hosts/h1');
    await screen.findByText('Compliance scans');
    expect(screen.queryByRole('checkbox', { name: 'Docker inventory' })).not.toBeInTheDocument();
  });
});
