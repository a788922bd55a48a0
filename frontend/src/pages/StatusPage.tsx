import { useQuery } from '@tanstack/react-query';
import type { ReactNode } from 'react';
import { ApiError, errorMessage } from '../api/errors';
import { healthQuery } from '../api/queries';
import { ErrorPanel } from '../components/ErrorPanel';
import { useToast } from '../toast/context';

function formatTime(ms: number): string {
  return new Date(ms).toLocaleTimeString();
}

/** What went wrong, in words for the person looking at the page. */
function describeFailure(error: unknown): { title: string; message: string; detail?: string } {
  if (error instanceof ApiError) {
    const detail = error.status > 0 ? `${error.code} · HTTP ${error.status}` : error.code;
    if (error.status === 0) {
      return {
        title: 'Could not reach the server',
        message: 'No answer came back. The server may be stopped or restarting, or the network to it is down.',
        detail,
      };
    }
    if (error.body?.database === 'unreachable') {
      return { title: 'The server cannot reach its database', message: error.message, detail };
    }
    return { title: 'The server reported a problem', message: error.message, detail };
  }
  return { title: 'Status check failed', message: errorMessage(error) };
}

export default function StatusPage() {
  const health = useQuery(healthQuery);
  const toast = useToast();

  async function refresh() {
    const result = await health.refetch();
    if (result.isError) {
      toast.show({ kind: 'error', message: `Status check failed: ${errorMessage(result.error)}` });
    } else {
      toast.show({ kind: 'success', message: 'Server status refreshed' });
    }
  }

  const failure = health.isError ? describeFailure(health.error) : null;
  const checkedAt = Math.max(health.dataUpdatedAt, health.errorUpdatedAt);

  return (
    <section aria-labelledby="status-heading" className="space-y-6">
      <title>Server status · PatchMon</title>
      <div className="flex flex-wrap items-end justify-between gap-4">
        <div>
          <h1 id="status-heading" className="text-2xl font-semibold tracking-tight">
            Server status
          </h1>
          <p className="mt-1 text-sm text-slate-600 dark:text-slate-400">
            {checkedAt > 0 ? `Last checked at ${formatTime(checkedAt)}` : 'Checking…'}
          </p>
        </div>
        <button
          type="button"
          onClick={() => void refresh()}
          disabled={health.isFetching}
          className="rounded-md border border-slate-300 bg-white px-3 py-1.5 text-sm font-medium hover:bg-slate-100 disabled:cursor-wait disabled:opacity-60 focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-blue-600 dark:border-slate-700 dark:bg-slate-900 dark:hover:bg-slate-800"
        >
          {health.isFetching ? 'Checking…' : 'Refresh'}
        </button>
      </div>

      {health.isPending ? <LoadingCard /> : null}

      {failure ? (
        <ErrorPanel
          title={failure.title}
          message={failure.message}
          {...(failure.detail ? { detail: failure.detail } : {})}
          onRetry={() => void refresh()}
        />
      ) : null}

      {health.data ? (
        <div>
          {failure ? (
            <p className="mb-2 text-sm text-slate-600 dark:text-slate-400">
              Last successful check at {formatTime(health.dataUpdatedAt)}:
            </p>
          ) : null}
          <dl className="grid gap-4 sm:grid-cols-2 lg:grid-cols-5">
            <Field label="Status">
              <Badge ok>{health.data.status}</Badge>
            </Field>
            <Field label="Database">
              <Badge ok={health.data.database === 'ok'}>{health.data.database}</Badge>
            </Field>
            <Field label="Dialect">{health.data.dialect}</Field>
            <Field label="Version">{health.data.version}</Field>
            <Field label="Agents connected">{health.data.agents_connected.toLocaleString()}</Field>
          </dl>
        </div>
      ) : null}
    </section>
  );
}

function Field({ label, children }: { label: string; children: ReactNode }) {
  return (
    <div className="rounded-lg border border-slate-200 bg-white p-4 dark:border-slate-800 dark:bg-slate-900">
      <dt className="text-xs font-medium uppercase tracking-wide text-slate-500 dark:text-slate-400">{label}</dt>
      <dd className="mt-2 text-lg font-semibold">{children}</dd>
    </div>
  );
}

function Badge({ ok, children }: { ok: boolean; children: ReactNode }) {
  const tone = ok
    ? 'bg-emerald-100 text-emerald-800 dark:bg-emerald-900/60 dark:text-emerald-200'
    : 'bg-red-100 text-red-800 dark:bg-red-900/60 dark:text-red-200';
  return <span className={`inline-block rounded-full px-2.5 py-0.5 text-sm font-semibold ${tone}`}>{children}</span>;
}

function LoadingCard() {
  return (
    <div role="status" aria-live="polite" className="grid gap-4 sm:grid-cols-2 lg:grid-cols-5">
      <span className="sr-only">Loading server status…</span>
      {Array.from({ length: 5 }, (_, i) => (
        <div key={i} aria-hidden="true" className="h-20 animate-pulse rounded-lg bg-slate-200 dark:bg-slate-800" />
      ))}
    </div>
  );
}
