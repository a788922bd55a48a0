import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useId, useState, type SyntheticEvent } from 'react';
import { Link } from 'react-router';
import { listUsers } from '../api/auth';
import { errorMessage } from '../api/errors';
import {
  ALERT_STATUSES,
  ALERT_TYPES,
  SEVERITIES,
  alertAction,
  getAlert,
  getAlertSummary,
  listAlertConfig,
  listAlerts,
  updateAlertConfig,
  type Alert,
  type AlertAction,
  type AlertConfig,
  type AlertConfigInput,
  type Severity,
} from '../api/ops';
import type { User } from '../api/types';
import { useCan, useMe } from '../auth/session';
import { ErrorPanel } from '../components/ErrorPanel';
import { formatDate, formatRelative, humanize, offsetPagination } from '../components/format';
import { Details, JsonBlock, SeverityBadge, StatCard, StatusBadge } from '../components/opsBits';
import { Button, Card, Loading, Modal, PageHeader, inputClass, selectClass, tableClass, tdClass, thClass } from '../components/ui';
import { FilterSelect, Pager } from '../table/TableParts';
import { useTableState, type TableSpec } from '../table/urlState';
import { useToast } from '../toast/context';

const ALERTS_TABLE: TableSpec = { sorts: ['created_at'], defaultSort: 'created_at', defaultOrder: 'desc', filters: ['status', 'severity', 'type', 'host_id', 'assigned_to'], defaultLimit: 25 };
const ALERTS_KEY = ['alerts'] as const;
const SUMMARY_DAYS = 30;

function userName(users: User[] | undefined, userId: string | null, meId: string): string {
  if (!userId) return '—';
  if (userId === meId) return 'you';
  const u = users?.find((x) => x.id === userId);
  return u ? u.username : `${userId.slice(0, 8)}…`;
}

/** Users for assignment and names; only for roles that may list users. */
function useUsers() {
  const canList = useCan('can_view_users');
  return useQuery({ queryKey: ['users'], queryFn: listUsers, enabled: canList, staleTime: 60_000 });
}

export default function AlertsPage() {
  const [tab, setTab] = useState<'alerts' | 'config'>('alerts');
  return (
    <div className="space-y-4">
      <PageHeader title="Alerts" subtitle="Raised by the host-status monitor and other checks; acknowledge, silence, assign and resolve them here." />
      <Summary />
      <div role="tablist" aria-label="Alert views" className="flex gap-1 border-b border-slate-200 dark:border-slate-800">
        {(
          [
            ['alerts', 'Alerts'],
            ['config', 'Alert types'],
          ] as const
        ).map(([k, label]) => (
          <button
            key={k}
            type="button"
            role="tab"
            aria-selected={tab === k}
            onClick={() => setTab(k)}
            className={`-mb-px border-b-2 px-3 py-2 text-sm font-medium ${tab === k ? 'border-blue-600 text-blue-700 dark:text-blue-300' : 'border-transparent text-slate-600 hover:text-slate-900 dark:text-slate-400 dark:hover:text-white'}`}
          >
            {label}
          </button>
        ))}
      </div>
      {tab === 'alerts' ? <AlertList /> : <ConfigTable />}
    </div>
  );
}

function Summary() {
  const summary = useQuery({ queryKey: ['alerts-summary', SUMMARY_DAYS], queryFn: ({ signal }) => getAlertSummary(SUMMARY_DAYS, signal), refetchInterval: 30_000, staleTime: 0 });
  if (summary.isPending) return <Loading label="Loading the summary…" />;
  if (summary.isError) return <ErrorPanel title="Could not load the alert summary" message={errorMessage(summary.error)} onRetry={() => void summary.refetch()} />;
  const s = summary.data;
  const st = (k: string) => s.by_status[k] ?? 0;
  const sev = SEVERITIES.map((k) => `${String(s.by_severity[k] ?? 0)} ${k}`).join(' · ');
  return (
    <div>
      <div className="grid grid-cols-2 gap-3 sm:grid-cols-3 lg:grid-cols-5" aria-label="Alert summary">
        <StatCard label="Open" value={st('open')} tone={st('open') > 0 ? 'red' : 'slate'} testId="open" />
        <StatCard label="Acknowledged" value={st('acknowledged')} tone={st('acknowledged') > 0 ? 'amber' : 'slate'} testId="acknowledged" />
        <StatCard label="Silenced" value={st('silenced')} testId="silenced" />
        <StatCard label="Resolved" value={st('resolved')} tone="green" testId="resolved" />
        <StatCard label={`Raised, last ${String(s.days)} days`} value={s.total} tone="blue" testId="raised" />
      </div>
      <p className="mt-2 text-xs text-slate-500">
        Last {s.days} days by severity: {sev}
        {Object.keys(s.by_type).length > 0 ? ` · by type: ${Object.entries(s.by_type).map(([t, n]) => `${humanize(t)} ${String(n)}`).join(', ')}` : ''}
      </p>
    </div>
  );
}

function AlertList() {
  const [state, update] = useTableState(ALERTS_TABLE);
  const [openId, setOpenId] = useState<string | null>(null);
  const offset = (state.page - 1) * state.limit;
  const alerts = useQuery({
    queryKey: [...ALERTS_KEY, state.filters, state.limit, offset],
    queryFn: ({ signal }) => listAlerts({ ...state.filters, limit: state.limit, offset }, signal),
    placeholderData: keepPreviousData,
    refetchInterval: 15_000,
    // Alerts change under us: a page opened again shows the current list, not the cached one.
    staleTime: 0,
  });
  const me = useMe();
  const users = useUsers();
  const canHosts = useCan('can_view_hosts');
  const setFilter = (k: string) => (v: string) => update({ filters: { [k]: v } });
  return (
    <Card>
      <div className="mb-3 flex flex-wrap items-end gap-3">
        <FilterSelect label="Status" value={state.filters.status} onChange={setFilter('status')} options={ALERT_STATUSES.map((s) => ({ value: s, label: humanize(s) }))} />
        <FilterSelect label="Severity" value={state.filters.severity} onChange={setFilter('severity')} options={SEVERITIES.map((s) => ({ value: s, label: humanize(s) }))} />
        <FilterSelect label="Type" value={state.filters.type} onChange={setFilter('type')} options={ALERT_TYPES.map((t) => ({ value: t, label: humanize(t) }))} />
        <FilterSelect
          label="Assigned to"
          value={state.filters.assigned_to}
          onChange={setFilter('assigned_to')}
          options={[{ value: me.id, label: 'Me' }, ...(users.data ?? []).filter((u) => u.id !== me.id).map((u) => ({ value: u.id, label: u.username }))]}
        />
        {state.filters.host_id ? (
          <Button variant="ghost" onClick={() => update({ filters: { host_id: '' } })}>
            Host {state.filters.host_id.slice(0, 8)}… ✕
          </Button>
        ) : null}
      </div>
      {alerts.isPending ? <Loading /> : null}
      {alerts.isError ? <ErrorPanel title="Could not load the alerts" message={errorMessage(alerts.error)} onRetry={() => void alerts.refetch()} /> : null}
      {alerts.data && alerts.data.alerts.length === 0 ? (
        <p className="p-2 text-sm text-slate-600 dark:text-slate-400" data-testid="alerts-empty">
          {Object.keys(state.filters).length > 0 ? 'No alerts match these filters.' : 'No alerts. Nothing needs attention.'}
        </p>
      ) : null}
      {alerts.data && alerts.data.alerts.length > 0 ? (
        <div className="overflow-x-auto">
          <table className={tableClass} aria-label="Alerts">
            <thead>
              <tr>
                <th className={thClass}>Severity</th>
                <th className={thClass}>Alert</th>
                <th className={thClass}>Type</th>
                <th className={thClass}>Status</th>
                <th className={thClass}>Host</th>
                <th className={thClass}>Assigned</th>
                <th className={thClass}>Raised</th>
              </tr>
            </thead>
            <tbody className={`divide-y divide-slate-100 dark:divide-slate-800 ${alerts.isPlaceholderData ? 'opacity-60' : ''}`}>
              {alerts.data.alerts.map((a) => (
                <tr key={a.id} data-alert={a.alert_type}>
                  <td className={tdClass}>
                    <SeverityBadge severity={a.severity} />
                  </td>
                  <td className={tdClass}>
                    <button type="button" className="text-left font-medium text-blue-700 hover:underline dark:text-blue-300" onClick={() => setOpenId(a.id)}>
                      {a.title}
                    </button>
                    {a.message !== a.title ? <div className="text-xs text-slate-500">{a.message}</div> : null}
                  </td>
                  <td className={`${tdClass} whitespace-nowrap`}>{humanize(a.alert_type)}</td>
                  <td className={tdClass}>
                    <StatusBadge status={a.status} />
                    {a.status === 'silenced' && a.silenced_until ? <div className="text-xs text-slate-500">until {formatDate(a.silenced_until)}</div> : null}
                  </td>
                  <td className={`${tdClass} whitespace-nowrap`}>
                    {a.host_id ? (
                      <span className="inline-flex items-center gap-1">
                        {canHosts ? (
                          <Link to={`/hosts/${a.host_id}`} className="text-blue-700 hover:underline dark:text-blue-300">
                            host
                          </Link>
                        ) : (
                          <span className="font-mono text-xs">{a.host_id.slice(0, 8)}…</span>
                        )}
                        <button type="button" className="text-xs text-slate-500 hover:underline" onClick={() => update({ filters: { host_id: a.host_id ?? '' } })} aria-label={`Only alerts of the host of ${a.title}`}>
                          filter
                        </button>
                      </span>
                    ) : (
                      <span className="text-slate-500">server</span>
                    )}
                  </td>
                  <td className={tdClass}>{userName(users.data, a.assigned_to_user_id, me.id)}</td>
                  <td className={`${tdClass} whitespace-nowrap`} title={formatDate(a.created_at)}>
                    {formatRelative(a.created_at)}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
      {alerts.data ? <Pager pagination={offsetPagination(alerts.data.total, state.limit, offset)} state={state} onChange={update} /> : null}
      {openId ? <AlertDetailModal alertId={openId} onClose={() => setOpenId(null)} /> : null}
    </Card>
  );
}

/** A datetime-local value one hour from now (local time). */
function inAnHour(): string {
  const d = new Date(Date.now() + 3_600_000 - new Date().getTimezoneOffset() * 60_000);
  return d.toISOString().slice(0, 16);
}

function AlertDetailModal({ alertId, onClose }: { alertId: string; onClose: () => void }) {
  const detail = useQuery({ queryKey: [...ALERTS_KEY, 'detail', alertId], queryFn: ({ signal }) => getAlert(alertId, signal) });
  const queryClient = useQueryClient();
  const toast = useToast();
  const me = useMe();
  const users = useUsers();
  const [note, setNote] = useState('');
  const [until, setUntil] = useState(inAnHour);
  const [assignee, setAssignee] = useState('');
  const [error, setError] = useState<string | null>(null);
  const ids = useId();
  const act = useMutation({
    mutationFn: (action: AlertAction) => alertAction(alertId, action),
    onSuccess: async (_alert, action) => {
      toast.show({ kind: 'success', message: `Alert ${PAST[action.action]}` });
      setNote('');
      setError(null);
      await queryClient.invalidateQueries({ queryKey: ALERTS_KEY });
      await queryClient.invalidateQueries({ queryKey: ['alerts-summary'] });
    },
    // The server's words: "Alert is already resolved", "silence needs \"until\" in the future", …
    onError: (e) => setError(errorMessage(e)),
  });
  const withNote = <T extends AlertAction>(a: T): T => (note.trim() ? { ...a, note: note.trim() } : a);

  const a: Alert | undefined = detail.data?.alert;
  const resolved = a?.status === 'resolved';
  function silence(e: SyntheticEvent) {
    e.preventDefault();
    const t = new Date(until);
    if (Number.isNaN(t.getTime())) {
      setError('Choose when the silence ends.');
      return;
    }
    act.mutate(withNote({ action: 'silence', until: t.toISOString() }));
  }
  return (
    <Modal title={a ? a.title : 'Alert'} onClose={onClose} wide>
      {detail.isPending ? <Loading /> : null}
      {detail.isError ? <ErrorPanel title="Could not load the alert" message={errorMessage(detail.error)} onRetry={() => void detail.refetch()} /> : null}
      {a && detail.data ? (
        <div className="space-y-4">
          <div className="flex flex-wrap items-center gap-2">
            <SeverityBadge severity={a.severity} />
            <StatusBadge status={a.status} />
            <span className="text-sm text-slate-600 dark:text-slate-400">{humanize(a.alert_type)}</span>
          </div>
          <p className="text-sm">{a.message}</p>
          <Details
            items={[
              ['Raised', formatDate(a.created_at)],
              ['Host', a.host_id ?? 'server-wide'],
              ['Assigned to', userName(users.data, a.assigned_to_user_id, me.id)],
              ['Acknowledged', a.acknowledged_at ? `${formatDate(a.acknowledged_at)} by ${userName(users.data, a.acknowledged_by, me.id)}` : '—'],
              ['Silenced until', formatDate(a.silenced_until)],
              ['Resolved', a.resolved_at ? `${formatDate(a.resolved_at)}${a.resolved_by ? ` by ${userName(users.data, a.resolved_by, me.id)}` : ' (automatically)'}` : '—'],
            ]}
          />
          {Object.keys(a.metadata).length > 0 ? <JsonBlock value={a.metadata} label="Metadata" /> : null}

          <section aria-label="Actions" className="space-y-2 rounded-md border border-slate-200 p-3 dark:border-slate-700">
            <div className="space-y-1">
              <label htmlFor={`${ids}-note`} className="block text-sm font-medium">
                Note (optional, goes into the history)
              </label>
              <textarea id={`${ids}-note`} className={inputClass} rows={2} maxLength={2000} value={note} onChange={(e) => setNote(e.target.value)} />
            </div>
            <div className="flex flex-wrap gap-2">
              {!resolved && a.status !== 'acknowledged' ? (
                <Button variant="primary" disabled={act.isPending} onClick={() => act.mutate(withNote({ action: 'acknowledge' }))}>
                  Acknowledge
                </Button>
              ) : null}
              {!resolved ? (
                <Button disabled={act.isPending} onClick={() => act.mutate(withNote({ action: 'resolve' }))}>
                  Resolve
                </Button>
              ) : (
                <Button disabled={act.isPending} onClick={() => act.mutate(withNote({ action: 'reopen' }))}>
                  Reopen
                </Button>
              )}
              {a.assigned_to_user_id !== me.id ? (
                <Button disabled={act.isPending} onClick={() => act.mutate(withNote({ action: 'assign', user_id: me.id }))}>
                  Assign to me
                </Button>
              ) : null}
              {a.assigned_to_user_id ? (
                <Button variant="ghost" disabled={act.isPending} onClick={() => act.mutate(withNote({ action: 'unassign' }))}>
                  Unassign
                </Button>
              ) : null}
            </div>
            {users.data ? (
              <div className="flex flex-wrap items-end gap-2">
                <div className="space-y-1">
                  <label htmlFor={`${ids}-user`} className="block text-sm font-medium">
                    Assign to
                  </label>
                  <select id={`${ids}-user`} className={selectClass} value={assignee} onChange={(e) => setAssignee(e.target.value)}>
                    <option value="">Choose a user…</option>
                    {users.data
                      .filter((u) => u.is_active)
                      .map((u) => (
                        <option key={u.id} value={u.id}>
                          {u.username}
                        </option>
                      ))}
                  </select>
                </div>
                <Button disabled={act.isPending || assignee === ''} onClick={() => act.mutate(withNote({ action: 'assign', user_id: assignee }))}>
                  Assign
                </Button>
              </div>
            ) : null}
            {!resolved ? (
              <form className="flex flex-wrap items-end gap-2" onSubmit={silence}>
                <div className="space-y-1">
                  <label htmlFor={`${ids}-until`} className="block text-sm font-medium">
                    Silence until
                  </label>
                  <input id={`${ids}-until`} type="datetime-local" className={inputClass} value={until} onChange={(e) => setUntil(e.target.value)} />
                </div>
                <Button type="submit" disabled={act.isPending}>
                  Silence
                </Button>
              </form>
            ) : null}
            {error ? <ErrorPanel title="Action refused" message={error} /> : null}
          </section>

          <section aria-label="History">
            <h3 className="mb-1 text-sm font-semibold">History</h3>
            <ol className="space-y-1 border-l-2 border-slate-200 pl-3 text-sm dark:border-slate-700">
              {detail.data.history.map((h, i) => (
                <li key={`${h.created_at}-${String(i)}`} data-history={h.action}>
                  <span className="font-medium">{humanize(h.action)}</span>{' '}
                  <span className="text-slate-500">
                    {formatDate(h.created_at)} · {h.user_id ? userName(users.data, h.user_id, me.id) : 'server'}
                  </span>
                  {h.note ? <div className="text-xs text-slate-600 dark:text-slate-400">{h.note}</div> : null}
                </li>
              ))}
            </ol>
          </section>
          <div className="flex justify-end">
            <Button onClick={onClose}>Close</Button>
          </div>
        </div>
      ) : null}
    </Modal>
  );
}

const PAST: Record<AlertAction['action'], string> = {
  acknowledge: 'acknowledged',
  resolve: 'resolved',
  reopen: 'reopened',
  unassign: 'unassigned',
  silence: 'silenced',
  assign: 'assigned',
};

const CONFIG_KEY = ['alert-config'] as const;

function ConfigTable() {
  const config = useQuery({ queryKey: CONFIG_KEY, queryFn: ({ signal }) => listAlertConfig(signal) });
  const users = useUsers();
  if (config.isPending) return <Loading />;
  if (config.isError) return <ErrorPanel title="Could not load the alert configuration" message={errorMessage(config.error)} onRetry={() => void config.refetch()} />;
  return (
    <Card>
      <p className="mb-3 text-sm text-slate-600 dark:text-slate-400">
        Per alert type: whether it is raised, its severity, who gets it, whether it resolves itself when the condition clears, and how long resolved alerts are kept.
      </p>
      <div className="overflow-x-auto">
        <table className={tableClass} aria-label="Alert types">
          <thead>
            <tr>
              <th className={thClass}>Type</th>
              <th className={thClass}>Enabled</th>
              <th className={thClass}>Severity</th>
              <th className={thClass}>Auto-resolve</th>
              <th className={thClass}>Keep resolved (days)</th>
              <th className={thClass}>Auto-assign</th>
              <th className={thClass}>Down after (s)</th>
              <th className={thClass}>
                <span className="sr-only">Save</span>
              </th>
            </tr>
          </thead>
          <tbody className="divide-y divide-slate-100 dark:divide-slate-800">
            {config.data.map((c) => (
              <ConfigRow key={`${c.alert_type}-${JSON.stringify(c)}`} config={c} users={users.data} />
            ))}
          </tbody>
        </table>
      </div>
    </Card>
  );
}

interface ConfigForm {
  enabled: boolean;
  default_severity: Severity;
  auto_resolve: boolean;
  retention_days: string;
  auto_assign_user_id: string;
  threshold_seconds: string;
}

function configForm(c: AlertConfig): ConfigForm {
  const t = c.metadata.threshold_seconds;
  return {
    enabled: c.enabled,
    default_severity: c.default_severity,
    auto_resolve: c.auto_resolve,
    retention_days: String(c.retention_days),
    auto_assign_user_id: c.auto_assign_user_id ?? '',
    threshold_seconds: typeof t === 'number' ? String(t) : c.alert_type === 'host_down' ? '30' : '',
  };
}

/** Only the fields that changed. */
function configChanges(c: AlertConfig, f: ConfigForm): AlertConfigInput {
  const before = configForm(c);
  const out: AlertConfigInput = {};
  if (f.enabled !== before.enabled) out.enabled = f.enabled;
  if (f.default_severity !== before.default_severity) out.default_severity = f.default_severity;
  if (f.auto_resolve !== before.auto_resolve) out.auto_resolve = f.auto_resolve;
  if (f.retention_days !== before.retention_days) out.retention_days = Number(f.retention_days);
  if (f.auto_assign_user_id !== before.auto_assign_user_id) out.auto_assign_user_id = f.auto_assign_user_id === '' ? null : f.auto_assign_user_id;
  if (c.alert_type === 'host_down' && f.threshold_seconds !== before.threshold_seconds) {
    // metadata is replaced as a whole: keep its other keys.
    out.metadata = { ...c.metadata, threshold_seconds: Number(f.threshold_seconds) };
  }
  return out;
}

function ConfigRow({ config: c, users }: { config: AlertConfig; users: User[] | undefined }) {
  const [form, setForm] = useState<ConfigForm>(() => configForm(c));
  const [error, setError] = useState<string | null>(null);
  const queryClient = useQueryClient();
  const toast = useToast();
  const changes = configChanges(c, form);
  const dirty = Object.keys(changes).length > 0;
  const save = useMutation({
    mutationFn: () => updateAlertConfig(c.alert_type, changes),
    onSuccess: async (saved) => {
      // The server reads `"auto_assign_user_id": null` as "not given" and keeps the user: say so instead of pretending.
      if (changes.auto_assign_user_id === null && saved.auto_assign_user_id !== null) {
        toast.show({ kind: 'error', message: `${humanize(c.alert_type)}: the server kept the auto-assigned user; it cannot be cleared yet` });
      } else {
        toast.show({ kind: 'success', message: `${humanize(c.alert_type)} saved` });
      }
      setError(null);
      await queryClient.invalidateQueries({ queryKey: CONFIG_KEY });
    },
    // "retention_days must be 1..36500", "threshold_seconds must be 0..86400", …
    onError: (e) => setError(errorMessage(e)),
  });
  const name = humanize(c.alert_type);
  const assignedUnknown = form.auto_assign_user_id !== '' && !users?.some((u) => u.id === form.auto_assign_user_id);
  return (
    <tr data-config={c.alert_type}>
      <td className={`${tdClass} font-medium`}>
        {name}
        <div className="font-mono text-xs font-normal text-slate-500">{c.alert_type}</div>
        {error ? (
          <div role="alert" className="mt-1 text-xs text-red-700 dark:text-red-300">
            {error}
          </div>
        ) : null}
      </td>
      <td className={tdClass}>
        <input type="checkbox" role="switch" aria-label={`Enabled: ${name}`} checked={form.enabled} onChange={(e) => setForm({ ...form, enabled: e.target.checked })} />
      </td>
      <td className={tdClass}>
        <select aria-label={`Severity: ${name}`} className={selectClass} value={form.default_severity} onChange={(e) => setForm({ ...form, default_severity: e.target.value as Severity })}>
          {SEVERITIES.map((s) => (
            <option key={s} value={s}>
              {s}
            </option>
          ))}
        </select>
      </td>
      <td className={tdClass}>
        <input type="checkbox" aria-label={`Auto-resolve: ${name}`} checked={form.auto_resolve} onChange={(e) => setForm({ ...form, auto_resolve: e.target.checked })} />
      </td>
      <td className={tdClass}>
        <input
          type="number"
          min={1}
          max={36500}
          aria-label={`Keep resolved days: ${name}`}
          className={`${inputClass} w-24`}
          value={form.retention_days}
          onChange={(e) => setForm({ ...form, retention_days: e.target.value })}
        />
      </td>
      <td className={tdClass}>
        {users ? (
          <select aria-label={`Auto-assign: ${name}`} className={selectClass} value={form.auto_assign_user_id} onChange={(e) => setForm({ ...form, auto_assign_user_id: e.target.value })}>
            <option value="">nobody</option>
            {assignedUnknown ? <option value={form.auto_assign_user_id}>{form.auto_assign_user_id.slice(0, 8)}…</option> : null}
            {users.map((u) => (
              <option key={u.id} value={u.id}>
                {u.username}
              </option>
            ))}
          </select>
        ) : (
          <span className="text-xs text-slate-500">{form.auto_assign_user_id ? `${form.auto_assign_user_id.slice(0, 8)}…` : 'nobody'}</span>
        )}
      </td>
      <td className={tdClass}>
        {c.alert_type === 'host_down' ? (
          <input
            type="number"
            min={0}
            max={86400}
            aria-label={`Down after seconds: ${name}`}
            className={`${inputClass} w-24`}
            value={form.threshold_seconds}
            onChange={(e) => setForm({ ...form, threshold_seconds: e.target.value })}
          />
        ) : (
          <span className="text-slate-400">—</span>
        )}
      </td>
      <td className={`${tdClass} text-right`}>
        <Button variant={dirty ? 'primary' : 'secondary'} disabled={!dirty || save.isPending} onClick={() => save.mutate()} aria-label={`Save ${name}`}>
          {save.isPending ? 'Saving…' : 'Save'}
        </Button>
      </td>
    </tr>
  );
}
