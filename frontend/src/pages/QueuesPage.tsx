import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { Link } from 'react-router';
import { errorMessage } from '../api/errors';
import { AGENT_COMMANDS, COMMAND_NAMES, JOB_STATUSES, getJob, listJobs, listQueues, removeJob, retryJob, runQueue, type Job, type QueueInfo } from '../api/ops';
import { useCan } from '../auth/session';
import { ErrorPanel } from '../components/ErrorPanel';
import { formatDate, formatDuration, formatRelative, humanize, offsetPagination } from '../components/format';
import { Details, JsonBlock, StatusBadge } from '../components/opsBits';
import { Badge, Button, Card, ConfirmDialog, Loading, Modal, PageHeader, tableClass, tdClass, thClass } from '../components/ui';
import { FilterSelect, Pager } from '../table/TableParts';
import { useTableState, type TableSpec } from '../table/urlState';
import { useToast } from '../toast/context';

/** How often the monitor re-reads the queues and jobs while it is open. */
const QUEUE_REFRESH_MS = 2_000;
const JOBS_TABLE: TableSpec = { sorts: ['created_at'], defaultSort: 'created_at', defaultOrder: 'desc', filters: ['queue', 'status', 'job_name', 'host_id'], defaultLimit: 25 };
const QUEUES_KEY = ['queues'] as const;

export default function QueuesPage() {
  const queues = useQuery({ queryKey: QUEUES_KEY, queryFn: ({ signal }) => listQueues(signal), refetchInterval: QUEUE_REFRESH_MS, staleTime: 0 });
  const [state, update] = useTableState(JOBS_TABLE);
  return (
    <div className="space-y-4">
      <PageHeader
        title="Queues"
        subtitle={
          <>
            Agent commands and scheduled tasks, refreshed every {QUEUE_REFRESH_MS / 1000} s.
            {queues.data ? (
              <>
                {' '}
                Storage: <Badge color="blue">{queues.data.storage}</Badge> · replica <span className="font-mono text-xs">{queues.data.replica_id.slice(0, 12)}</span>
              </>
            ) : null}
          </>
        }
      />
      {queues.isPending ? <Loading /> : null}
      {queues.isError ? <ErrorPanel title="Could not load the queues" message={errorMessage(queues.error)} onRetry={() => void queues.refetch()} /> : null}
      {queues.data ? <QueueTable queues={queues.data.queues} selected={state.filters.queue} onSelect={(q) => update({ filters: { queue: q } })} /> : null}
      <JobList state={state} update={update} queueNames={queues.data?.queues.map((q) => q.name) ?? []} />
    </div>
  );
}

function Count({ n, label, tone }: { n: number; label: string; tone: 'red' | 'amber' | 'blue' | 'green' | 'slate' }) {
  if (n === 0) return <span className="text-slate-400" aria-label={`${label}: 0`}>0</span>;
  return (
    <span aria-label={`${label}: ${String(n)}`}>
      <Badge color={tone}>{n.toLocaleString()}</Badge>
    </span>
  );
}

function QueueTable({ queues, selected, onSelect }: { queues: QueueInfo[]; selected: string | undefined; onSelect: (q: string) => void }) {
  return (
    <div className="overflow-x-auto rounded-lg border border-slate-200 bg-white dark:border-slate-800 dark:bg-slate-900">
      <table className={tableClass} aria-label="Queues">
        <thead>
          <tr>
            <th className={thClass}>Queue</th>
            <th className={thClass}>Schedule</th>
            <th className={thClass}>Waiting</th>
            <th className={thClass}>Active</th>
            <th className={thClass}>Delayed</th>
            <th className={thClass}>Failed</th>
            <th className={thClass}>Completed</th>
            <th className={thClass}>Next run</th>
            <th className={thClass}>Last run</th>
            <th className={thClass}>
              <span className="sr-only">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody className="divide-y divide-slate-100 dark:divide-slate-800">
          {queues.map((q) => (
            <QueueRow key={q.name} queue={q} selected={selected === q.name} onSelect={() => onSelect(selected === q.name ? '' : q.name)} />
          ))}
        </tbody>
      </table>
    </div>
  );
}

function QueueRow({ queue: q, selected, onSelect }: { queue: QueueInfo; selected: boolean; onSelect: () => void }) {
  const queryClient = useQueryClient();
  const toast = useToast();
  const run = useMutation({
    mutationFn: () => runQueue(q.name),
    onSuccess: async (job) => {
      toast.show({ kind: job.status === 'failed' ? 'error' : 'success', message: `${q.name}: ${job.status}${job.error_message ? ` (${job.error_message})` : ''}` });
      await queryClient.invalidateQueries({ queryKey: QUEUES_KEY });
      await queryClient.invalidateQueries({ queryKey: JOBS_KEY });
    },
    onError: (e) => toast.show({ kind: 'error', message: `Could not run ${q.name}: ${errorMessage(e)}` }),
  });
  const st = q.scheduler;
  return (
    <tr data-queue={q.name} className={selected ? 'bg-blue-50 dark:bg-blue-950/40' : ''}>
      <td className={`${tdClass} font-medium`}>
        <button type="button" className="text-left text-blue-700 hover:underline dark:text-blue-300" onClick={onSelect} aria-pressed={selected} aria-label={`Show jobs of ${q.name}`}>
          {q.name}
        </button>
        <div className="text-xs font-normal text-slate-500">
          {q.kind === 'scheduled' ? 'scheduled task' : 'on demand'}
          {q.waiting_for_agent > 0 ? ` · ${String(q.waiting_for_agent)} waiting for their agent` : ''}
          {q.redis_ready !== undefined ? ` · ${String(q.redis_ready)} ready in Redis` : ''}
        </div>
      </td>
      <td className={`${tdClass} whitespace-nowrap font-mono text-xs`}>{q.schedule ?? '—'}</td>
      <td className={tdClass}>
        <Count n={q.waiting} label="Waiting" tone="blue" />
      </td>
      <td className={tdClass}>
        <Count n={q.active} label="Active" tone="blue" />
      </td>
      <td className={tdClass}>
        <Count n={q.delayed} label="Delayed" tone="amber" />
      </td>
      <td className={tdClass}>
        <Count n={q.failed} label="Failed" tone="red" />
      </td>
      <td className={tdClass}>
        <Count n={q.completed} label="Completed" tone="green" />
      </td>
      <td className={`${tdClass} whitespace-nowrap text-xs`}>{st?.next_due ? formatDate(st.next_due) : '—'}</td>
      <td className={`${tdClass} whitespace-nowrap text-xs`}>
        {st?.last_started ? (
          <span title={`${String(st.runs)} scheduled runs; last drift ${String(st.last_drift_ms ?? 0)} ms, max ${String(st.max_drift_ms)} ms`}>{formatRelative(st.last_started)}</span>
        ) : (
          '—'
        )}
      </td>
      <td className={`${tdClass} whitespace-nowrap text-right`}>
        {q.kind === 'scheduled' ? (
          <Button onClick={() => run.mutate()} disabled={run.isPending} aria-label={`Run ${q.name} now`}>
            {run.isPending ? 'Running…' : 'Run now'}
          </Button>
        ) : null}
      </td>
    </tr>
  );
}

const JOBS_KEY = ['queue-jobs'] as const;

function JobList({
  state,
  update,
  queueNames,
}: {
  state: ReturnType<typeof useTableState>[0];
  update: ReturnType<typeof useTableState>[1];
  queueNames: string[];
}) {
  const [openId, setOpenId] = useState<string | null>(null);
  const offset = (state.page - 1) * state.limit;
  const jobs = useQuery({
    queryKey: [...JOBS_KEY, state.filters, state.limit, offset],
    queryFn: ({ signal }) => listJobs({ ...state.filters, limit: state.limit, offset }, signal),
    placeholderData: keepPreviousData,
    refetchInterval: QUEUE_REFRESH_MS,
    staleTime: 0,
  });
  const canHosts = useCan('can_view_hosts');
  const setFilter = (k: string) => (v: string) => update({ filters: { [k]: v } });
  const jobNames = [...new Set([...COMMAND_NAMES, ...queueNames.filter((n) => n !== AGENT_COMMANDS)])];
  return (
    <Card title="Jobs">
      <div className="mb-3 flex flex-wrap items-end gap-3">
        <FilterSelect label="Queue" value={state.filters.queue} onChange={setFilter('queue')} options={queueNames.map((n) => ({ value: n, label: n }))} />
        <FilterSelect label="Status" value={state.filters.status} onChange={setFilter('status')} options={JOB_STATUSES.map((s) => ({ value: s, label: humanize(s) }))} />
        <FilterSelect label="Job" value={state.filters.job_name} onChange={setFilter('job_name')} options={jobNames.map((n) => ({ value: n, label: n }))} />
        {state.filters.host_id ? (
          <Button variant="ghost" onClick={() => update({ filters: { host_id: '' } })}>
            Host {state.filters.host_id.slice(0, 8)}… ✕
          </Button>
        ) : null}
      </div>
      {jobs.isPending ? <Loading /> : null}
      {jobs.isError ? <ErrorPanel title="Could not load the jobs" message={errorMessage(jobs.error)} onRetry={() => void jobs.refetch()} /> : null}
      {jobs.data && jobs.data.jobs.length === 0 ? <p className="p-2 text-sm text-slate-600 dark:text-slate-400">No jobs{Object.keys(state.filters).length > 0 ? ' match these filters' : ' yet'}.</p> : null}
      {jobs.data && jobs.data.jobs.length > 0 ? (
        <div className="overflow-x-auto">
          <table className={tableClass} aria-label="Jobs">
            <thead>
              <tr>
                <th className={thClass}>Job</th>
                <th className={thClass}>Queue</th>
                <th className={thClass}>Status</th>
                <th className={thClass}>Attempts</th>
                <th className={thClass}>Host</th>
                <th className={thClass}>Created</th>
                <th className={thClass}>Duration</th>
                <th className={thClass}>Error</th>
              </tr>
            </thead>
            <tbody className="divide-y divide-slate-100 dark:divide-slate-800">
              {jobs.data.jobs.map((j) => (
                <tr key={j.id} data-job={j.job_name} data-status={j.status}>
                  <td className={tdClass}>
                    <button type="button" className="text-left font-medium text-blue-700 hover:underline dark:text-blue-300" onClick={() => setOpenId(j.id)} aria-label={`Job ${j.job_name} ${j.id}`}>
                      {j.job_name}
                    </button>
                  </td>
                  <td className={`${tdClass} whitespace-nowrap`}>{j.queue_name}</td>
                  <td className={tdClass}>
                    <StatusBadge status={j.status} />
                  </td>
                  <td className={tdClass}>
                    {j.attempt} / {j.max_attempts}
                  </td>
                  <td className={`${tdClass} whitespace-nowrap`}>
                    {j.host_id ? (
                      canHosts ? (
                        <Link to={`/hosts/${j.host_id}`} className="font-mono text-xs text-blue-700 hover:underline dark:text-blue-300">
                          {j.api_id ?? j.host_id.slice(0, 8)}
                        </Link>
                      ) : (
                        <span className="font-mono text-xs">{j.api_id ?? j.host_id.slice(0, 8)}</span>
                      )
                    ) : (
                      '—'
                    )}
                  </td>
                  <td className={`${tdClass} whitespace-nowrap`} title={formatDate(j.created_at)}>
                    {formatRelative(j.created_at)}
                  </td>
                  <td className={`${tdClass} whitespace-nowrap`}>{formatDuration(j.started_at, j.completed_at)}</td>
                  <td className={`${tdClass} max-w-xs truncate text-xs text-red-700 dark:text-red-300`} title={j.error_message ?? ''}>
                    {j.error_message ?? ''}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
      {jobs.data ? <Pager pagination={offsetPagination(jobs.data.total, state.limit, offset)} state={state} onChange={update} /> : null}
      {openId ? <JobDetailModal jobId={openId} onClose={() => setOpenId(null)} /> : null}
    </Card>
  );
}

function JobDetailModal({ jobId, onClose }: { jobId: string; onClose: () => void }) {
  const job = useQuery({
    queryKey: [...JOBS_KEY, 'detail', jobId],
    queryFn: ({ signal }) => getJob(jobId, signal),
    // Keep following a job that is still moving.
    refetchInterval: (q) => (q.state.data && ['completed', 'failed'].includes(q.state.data.status) ? false : QUEUE_REFRESH_MS),
  });
  const queryClient = useQueryClient();
  const toast = useToast();
  const [confirmRemove, setConfirmRemove] = useState(false);
  const [error, setError] = useState<string | null>(null);
  /** Re-reads the lists (and this job's detail unless it was removed). */
  const refresh = async (removed: boolean) => {
    await queryClient.invalidateQueries({ queryKey: JOBS_KEY, predicate: (q) => !removed || q.queryKey[1] !== 'detail' || q.queryKey[2] !== jobId });
    await queryClient.invalidateQueries({ queryKey: QUEUES_KEY });
  };
  const retry = useMutation({
    mutationFn: () => retryJob(jobId),
    onSuccess: async (j) => {
      setError(null);
      toast.show({ kind: 'success', message: `Job ${j.job_name} queued again` });
      queryClient.setQueryData([...JOBS_KEY, 'detail', jobId], j);
      await refresh(false);
    },
    // "Only failed jobs can be retried", "Scheduled jobs are re-run with …"
    onError: (e) => setError(errorMessage(e)),
  });
  const remove = useMutation({
    mutationFn: () => removeJob(jobId),
    onSuccess: async () => {
      toast.show({ kind: 'success', message: 'Job removed' });
      onClose();
      // The job is gone: its detail must not be fetched again (it would answer 404).
      queryClient.removeQueries({ queryKey: [...JOBS_KEY, 'detail', jobId] });
      await refresh(true);
    },
    onError: (e) => {
      setConfirmRemove(false);
      setError(errorMessage(e));
    },
  });
  const j: Job | undefined = job.data;
  return (
    <Modal title={j ? `Job ${j.job_name}` : 'Job'} onClose={onClose} wide>
      {job.isPending ? <Loading /> : null}
      {job.isError ? <ErrorPanel title="Could not load the job" message={errorMessage(job.error)} onRetry={() => void job.refetch()} /> : null}
      {j ? (
        <div className="space-y-4">
          <div className="flex items-center gap-2">
            <StatusBadge status={j.status} />
            <span className="text-sm text-slate-600 dark:text-slate-400">{j.queue_name}</span>
          </div>
          <Details
            items={[
              ['Id', <span key="id" className="font-mono text-xs">{j.id}</span>],
              ['Job id', <span key="jid" className="font-mono text-xs">{j.job_id}</span>],
              ['Attempts', `${String(j.attempt)} of ${String(j.max_attempts)}`],
              ['Host', j.api_id ?? j.host_id ?? '—'],
              ['Created', formatDate(j.created_at)],
              ['Due', formatDate(j.run_at)],
              ['Started', formatDate(j.started_at)],
              ['Finished', formatDate(j.completed_at)],
              ['Duration', formatDuration(j.started_at, j.completed_at)],
              ['Expires', formatDate(j.expires_at)],
              ['Updated', formatDate(j.updated_at)],
            ]}
          />
          {j.error_message ? (
            <div role="status" className="rounded-md border border-red-300 bg-red-50 p-2 text-sm text-red-900 dark:border-red-800 dark:bg-red-950/60 dark:text-red-100">
              <span className="font-medium">Error:</span> {j.error_message}
            </div>
          ) : null}
          {j.payload !== null ? (
            <div>
              <h3 className="mb-1 text-sm font-semibold">Payload</h3>
              <JsonBlock value={j.payload} label="Job payload" />
            </div>
          ) : null}
          {j.output !== null ? (
            <div>
              <h3 className="mb-1 text-sm font-semibold">Output</h3>
              <JsonBlock value={j.output} label="Job output" />
            </div>
          ) : null}
          {error ? <ErrorPanel title="Refused" message={error} /> : null}
          <div className="flex flex-wrap justify-end gap-2">
            {j.status === 'failed' && j.queue_name === AGENT_COMMANDS ? (
              <Button variant="primary" onClick={() => retry.mutate()} disabled={retry.isPending}>
                {retry.isPending ? 'Retrying…' : 'Retry'}
              </Button>
            ) : null}
            {j.status !== 'active' ? (
              <Button variant="danger" onClick={() => setConfirmRemove(true)}>
                Remove
              </Button>
            ) : null}
            <Button onClick={onClose}>Close</Button>
          </div>
        </div>
      ) : null}
      {confirmRemove && j ? (
        <ConfirmDialog title={`Remove job ${j.job_name}?`} confirmLabel="Remove job" onConfirm={() => remove.mutate()} onCancel={() => setConfirmRemove(false)} busy={remove.isPending}>
          <p>{j.status === 'completed' || j.status === 'failed' ? 'Its record leaves the job history.' : 'It will not run; its record leaves the job history.'}</p>
        </ConfirmDialog>
      ) : null}
    </Modal>
  );
}
