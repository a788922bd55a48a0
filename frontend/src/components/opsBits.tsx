import type { ReactNode } from 'react';
import { Badge } from './ui';

// Small pieces shared by the alerts, queue and notification screens.

const SEVERITY_COLOR: Record<string, 'slate' | 'blue' | 'amber' | 'red'> = { info: 'blue', warning: 'amber', error: 'red', critical: 'red' };

export function SeverityBadge({ severity }: { severity: string }) {
  return <Badge color={SEVERITY_COLOR[severity] ?? 'slate'}>{severity === 'critical' ? 'CRITICAL' : severity}</Badge>;
}

const STATUS_COLOR: Record<string, 'slate' | 'blue' | 'amber' | 'red' | 'green'> = {
  // alerts
  open: 'red',
  acknowledged: 'amber',
  silenced: 'slate',
  resolved: 'green',
  // jobs
  queued: 'blue',
  delayed: 'amber',
  waiting: 'amber',
  active: 'blue',
  completed: 'green',
  failed: 'red',
  // deliveries
  sent: 'green',
  skipped_cooldown: 'slate',
};

export function StatusBadge({ status }: { status: string }) {
  return (
    <Badge color={STATUS_COLOR[status] ?? 'slate'}>
      {status === 'active' ? <span className="mr-1 inline-block h-1.5 w-1.5 animate-pulse rounded-full bg-current" aria-hidden="true" /> : null}
      {status.replace(/_/g, ' ')}
    </Badge>
  );
}

export function JsonBlock({ value, label }: { value: unknown; label: string }) {
  return (
    <pre aria-label={label} className="max-h-72 overflow-auto whitespace-pre-wrap break-all rounded bg-slate-100 p-2 font-mono text-xs text-slate-800 dark:bg-slate-950 dark:text-slate-200 dark:ring-1 dark:ring-slate-700">
      {JSON.stringify(value, null, 2)}
    </pre>
  );
}

/** A term/definition grid for detail dialogs. */
export function Details({ items }: { items: [string, ReactNode][] }) {
  return (
    <dl className="grid grid-cols-[9rem_1fr] gap-x-3 gap-y-1 text-sm">
      {items.map(([k, v]) => (
        <div key={k} className="contents">
          <dt className="font-medium text-slate-600 dark:text-slate-400">{k}</dt>
          <dd className="break-words">{v}</dd>
        </div>
      ))}
    </dl>
  );
}

export function StatCard({ label, value, tone = 'slate', testId }: { label: string; value: ReactNode; tone?: 'slate' | 'red' | 'amber' | 'green' | 'blue'; testId?: string }) {
  const tones = {
    slate: 'text-slate-900 dark:text-slate-100',
    red: 'text-red-700 dark:text-red-300',
    amber: 'text-amber-700 dark:text-amber-300',
    green: 'text-emerald-700 dark:text-emerald-300',
    blue: 'text-blue-700 dark:text-blue-300',
  };
  return (
    <div data-card={testId} className="rounded-lg border border-slate-200 bg-white p-3 shadow-sm dark:border-slate-800 dark:bg-slate-900">
      <div className="text-xs font-medium uppercase tracking-wide text-slate-500 dark:text-slate-400">{label}</div>
      <div className={`mt-1 text-2xl font-semibold ${tones[tone]}`}>{value}</div>
    </div>
  );
}
