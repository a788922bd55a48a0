import { screen, waitFor, within } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import type { Job } from '../api/ops';
import { json, stubFetch, withSession } from '../test/fetch';
import { renderApp } from '../test/renderApp';

const counts = { waiting: 0, waiting_for_agent: 0, active: 0, delayed: 0, failed: 0, completed: 0 };
const QUEUES = {
  storage: 'database',
  replica_id: 'f00dfeedf00dfeedf00dfeedf00dfeed',
  queues: [
    { ...counts, name: 'agent-commands', kind: 'on_demand', failed: 1, completed: 4 },
    { ...counts, name: 'host-status-monitor', kind: 'scheduled', schedule: '*/5 * * * *', scheduler: { next_due: '2026-11-25T10:05:00Z', last_due: null, last_started: null, last_drift_ms: null, max_drift_ms: 0, runs: 0 } },
  ],
};

function job(over: Partial<Job> = {}): Job {
  return {
    id: 'j1', job_id: 'j1', queue_name: 'agent-commands', job_name: 'report_now', host_id: 'h1', api_id: 'patchmon_abc', status: 'failed', attempt: 5, max_attempts: 5,
    error_message: 'Expired: the agent did not connect before the job expired', payload: { command: 'report_now' }, output: null, run_at: '2026-11-25T10:00:00Z', expires_at: '2026-11-26T10:00:00Z',
    started_at: '2026-11-25T10:00:00Z', created_at: '2026-11-25T10:00:00Z', updated_at: '2026-11-25T10:00:01Z', completed_at: '2026-11-25T10:00:01Z',
    ...over,
  };
}

type Call = { method: string; url: string; body: unknown };

function fakeServer(initial: Job[], opts: { removeError?: string } = {}) {
  let jobs = [...initial];
  const calls: Call[] = [];
  const handler = (url: string, init: RequestInit | undefined) => {
    const method = init?.method ?? 'GET';
    calls.push({ method, url, body: init?.body ? JSON.parse(init.body as string) : undefined });
    if (url === '/api/v1/queues') return json(QUEUES);
    if (url.startsWith('/api/v1/queues/jobs?') || url === '/api/v1/queues/jobs') {
      const q = new URL(url, 'http://x').searchParams;
      const list = jobs.filter((j) => (!q.get('queue') || j.queue_name === q.get('queue')) && (!q.get('status') || j.status === q.get('status')));
      return json({ jobs: list, total: list.length, limit: 25, offset: 0 });
    }
    const run = /^\/api\/v1\/queues\/([\w-]+)\/run$/.exec(url);
    if (run && method === 'POST') {
      const name = run[1] ?? '';
      const j = job({ id: 'run1', job_id: 'manual:x', queue_name: name, job_name: name, host_id: null, api_id: null, status: 'completed', attempt: 1, max_attempts: 1, error_message: null, output: { hosts_checked: 1, transitions: 0, duration_ms: 3 } });
      jobs = [j, ...jobs];
      return json({ job: j });
    }
    const retry = /^\/api\/v1\/queues\/jobs\/([^/]+)\/retry$/.exec(url);
    if (retry && method === 'POST') {
      jobs = jobs.map((j) => (j.id === retry[1] ? { ...j, status: 'queued', attempt: 0, error_message: null, completed_at: null } : j));
      return json({ job: jobs.find((j) => j.id === retry[1]) });
    }
    const one = /^\/api\/v1\/queues\/jobs\/([^/]+)$/.exec(url);
    if (one && method === 'DELETE') {
      if (opts.removeError) return json({ error: opts.removeError, code: 'conflict' }, 409);
      jobs = jobs.filter((j) => j.id !== one[1]);
      return json({ message: 'Job removed' });
    }
    if (one) {
      const j = jobs.find((x) => x.id === one[1]);
      return j ? json({ job: j }) : json({ error: 'Job not found', code: 'not_found' }, 404);
    }
    return json({ error: 'Not found', code: 'not_found' }, 404);
  };
  return { handler, calls };
}

describe('Queue monitor', () => {
  it('lists the queues with counts; run now runs a scheduled task and reports its outcome', async () => {
    const server = fakeServer([job()]);
    stubFetch(withSession(server.handler));
    const { user } = renderApp('/queues');
    const queues = await screen.findByRole('table', { name: 'Queues' });
    const agent = queues.querySelector('tr[data-queue="agent-commands"]') as HTMLElement;
    expect(within(agent).getByLabelText('Failed: 1')).toBeInTheDocument();
    expect(within(agent).getByLabelText('Completed: 4')).toBeInTheDocument();
    // Only scheduled queues can be run by hand.
    expect(within(agent).queryByRole('button', { name: /Run .* now/ })).toBeNull();
    const monitor = queues.querySelector('tr[data-queue="host-status-monitor"]') as HTMLElement;
    expect(within(monitor).getByText('*/5 * * * *')).toBeInTheDocument();
    await user.click(within(monitor).getByRole('button', { name: 'Run host-status-monitor now' }));
    await screen.findByText('host-status-monitor: completed');
    expect(server.calls.some((c) => c.method === 'POST' && c.url === '/api/v1/queues/host-status-monitor/run')).toBe(true);
    const jobs = await screen.findByRole('table', { name: 'Jobs' });
    await waitFor(() => expect(jobs.querySelector('tr[data-job="host-status-monitor"][data-status="completed"]')).not.toBeNull());
  });

  it('shows a failed job in detail and retries it', async () => {
    const server = fakeServer([job()]);
    stubFetch(withSession(server.handler));
    const { user } = renderApp('/queues?status=failed');
    await user.click(await screen.findByRole('button', { name: 'Job report_now j1' }));
    const dialog = await screen.findByRole('dialog', { name: 'Job report_now' });
    expect(await within(dialog).findByText(/Expired: the agent did not connect/)).toBeInTheDocument();
    expect(within(dialog).getByText('5 of 5')).toBeInTheDocument();
    expect(within(dialog).getByLabelText('Job payload')).toHaveTextContent('"command": "report_now"');
    expect(within(dialog).getByText('1.0 s')).toBeInTheDocument();
    await user.click(within(dialog).getByRole('button', { name: 'Retry' }));
    await screen.findByText('Job report_now queued again');
    expect(server.calls.filter((c) => c.method === 'POST').map((c) => c.url)).toEqual(['/api/v1/queues/jobs/j1/retry']);
    // Queued again: no retry, still removable.
    await waitFor(() => expect(within(dialog).queryByRole('button', { name: 'Retry' })).toBeNull());
    expect(within(dialog).getByRole('button', { name: 'Remove' })).toBeInTheDocument();
  });

  it('removes a job after confirming; a scheduled job offers no retry and an active one no removal', async () => {
    const server = fakeServer([
      job(),
      job({ id: 'j2', job_id: '2026-11-25T10:00:00+00:00', queue_name: 'session-cleanup', job_name: 'session-cleanup', status: 'failed', host_id: null, api_id: null }),
      job({ id: 'j3', status: 'active', error_message: null, completed_at: null }),
    ]);
    stubFetch(withSession(server.handler));
    const { user } = renderApp('/queues');
    await user.click(await screen.findByRole('button', { name: 'Job session-cleanup j2' }));
    let dialog = await screen.findByRole('dialog', { name: 'Job session-cleanup' });
    expect(within(dialog).queryByRole('button', { name: 'Retry' })).toBeNull();
    await user.click(within(dialog).getByRole('button', { name: 'Close' }));

    await user.click(screen.getByRole('button', { name: 'Job report_now j3' }));
    dialog = await screen.findByRole('dialog', { name: 'Job report_now' });
    await within(dialog).findByText('active');
    expect(within(dialog).queryByRole('button', { name: 'Remove' })).toBeNull();
    await user.click(within(dialog).getByRole('button', { name: 'Close' }));

    await user.click(screen.getByRole('button', { name: 'Job report_now j1' }));
    dialog = await screen.findByRole('dialog', { name: 'Job report_now' });
    await user.click(await within(dialog).findByRole('button', { name: 'Remove' }));
    await user.click(within(await screen.findByRole('dialog', { name: 'Remove job report_now?' })).getByRole('button', { name: 'Remove job' }));
    await screen.findByText('Job removed');
    expect(server.calls.filter((c) => c.method === 'DELETE').map((c) => c.url)).toEqual(['/api/v1/queues/jobs/j1']);
    await waitFor(() => expect(screen.queryByRole('button', { name: 'Job report_now j1' })).toBeNull());
  });

  it("shows the server's refusal to remove", async () => {
    const server = fakeServer([job()], { removeError: 'An active job cannot be removed' });
    stubFetch(withSession(server.handler));
    const { user } = renderApp('/queues');
    await user.click(await screen.findByRole('button', { name: 'Job report_now j1' }));
    const dialog = await screen.findByRole('dialog', { name: 'Job report_now' });
    await user.click(await within(dialog).findByRole('button', { name: 'Remove' }));
    await user.click(within(await screen.findByRole('dialog', { name: 'Remove job report_now?' })).getByRole('button', { name: 'Remove job' }));
    const refused = await within(dialog).findByRole('alert');
    expect(refused).toHaveTextContent('An active job cannot be removed');
  });
});
