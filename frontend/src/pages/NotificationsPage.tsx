import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useId, useState, type SyntheticEvent } from 'react';
import { errorMessage } from '../api/errors';
import { listGroups } from '../api/fleet';
import {
  ALERT_TYPES,
  CHANNEL_EVENTS,
  CHANNEL_KINDS,
  REDACTED,
  SEVERITIES,
  createChannel,
  deleteChannel,
  listChannels,
  listDeliveries,
  testChannel,
  updateChannel,
  type Channel,
  type ChannelInput,
  type ChannelKind,
  type Severity,
  type TestResult,
} from '../api/ops';
import { useCan } from '../auth/session';
import { DeleteDialog } from '../components/DeleteDialog';
import { ErrorPanel } from '../components/ErrorPanel';
import { formatDate, formatRelative, humanize, offsetPagination } from '../components/format';
import { StatusBadge } from '../components/opsBits';
import { Badge, Button, Card, Field, Loading, Modal, PageHeader, selectClass, tableClass, tdClass, thClass } from '../components/ui';
import { FilterSelect, Pager } from '../table/TableParts';
import { useTableState, type TableSpec } from '../table/urlState';
import { useToast } from '../toast/context';

const CHANNELS_KEY = ['notification-channels'] as const;
const DELIVERIES_KEY = ['notification-deliveries'] as const;
const DELIVERIES_TABLE: TableSpec = { sorts: ['created_at'], defaultSort: 'created_at', defaultOrder: 'desc', filters: ['channel_id', 'status'], defaultLimit: 25 };

const KIND_LABEL: Record<ChannelKind, string> = { webhook: 'Webhook', email: 'Email (SMTP)', ntfy: 'ntfy', gotify: 'Gotify' };

export default function NotificationsPage() {
  const channels = useQuery({ queryKey: CHANNELS_KEY, queryFn: ({ signal }) => listChannels(signal) });
  const canLog = useCan('can_view_notification_logs');
  const [creating, setCreating] = useState(false);
  const [editing, setEditing] = useState<Channel | null>(null);
  const [deleting, setDeleting] = useState<Channel | null>(null);
  return (
    <div className="space-y-4">
      <PageHeader
        title="Notifications"
        subtitle="Channels that are told when alerts are raised or resolved: signed webhooks, email, ntfy and Gotify."
        actions={
          <Button variant="primary" onClick={() => setCreating(true)}>
            New channel
          </Button>
        }
      />
      {channels.isPending ? <Loading /> : null}
      {channels.isError ? <ErrorPanel title="Could not load the channels" message={errorMessage(channels.error)} onRetry={() => void channels.refetch()} /> : null}
      {channels.data ? <ChannelTable channels={channels.data} onEdit={setEditing} onDelete={setDeleting} /> : null}
      {canLog ? <DeliveryLog channels={channels.data ?? []} /> : null}
      {creating ? <ChannelFormModal onClose={() => setCreating(false)} /> : null}
      {editing ? <ChannelFormModal channel={editing} onClose={() => setEditing(null)} /> : null}
      {deleting ? <DeleteChannelDialog channel={deleting} onClose={() => setDeleting(null)} /> : null}
    </div>
  );
}

function str(config: Record<string, unknown>, key: string): string {
  const v = config[key];
  return typeof v === 'string' ? v : typeof v === 'number' ? String(v) : '';
}

/** Where a channel sends, in a few words (never a secret). */
function target(c: Channel): string {
  const cfg = c.config;
  switch (c.kind) {
    case 'webhook':
      return str(cfg, 'url');
    case 'ntfy':
      return `${str(cfg, 'url') || 'https://ntfy.sh'}/${str(cfg, 'topic')}`;
    case 'gotify':
      return str(cfg, 'url');
    case 'email': {
      const to = Array.isArray(cfg.to) ? (cfg.to as unknown[]).filter((x): x is string => typeof x === 'string') : [];
      return `${to.join(', ')} via ${str(cfg, 'host')}:${str(cfg, 'port') || '587'}`;
    }
  }
}

function ChannelTable({ channels, onEdit, onDelete }: { channels: Channel[]; onEdit: (c: Channel) => void; onDelete: (c: Channel) => void }) {
  if (channels.length === 0) {
    return (
      <Card>
        <p className="text-sm text-slate-600 dark:text-slate-400">No channels yet. Create one with “New channel”.</p>
      </Card>
    );
  }
  return (
    <div className="overflow-x-auto rounded-lg border border-slate-200 bg-white dark:border-slate-800 dark:bg-slate-900">
      <table className={tableClass} aria-label="Channels">
        <thead>
          <tr>
            <th className={thClass}>Name</th>
            <th className={thClass}>Kind</th>
            <th className={thClass}>Sends to</th>
            <th className={thClass}>Events</th>
            <th className={thClass}>Min. severity</th>
            <th className={thClass}>Cooldown</th>
            <th className={thClass}>Last test</th>
            <th className={thClass}>
              <span className="sr-only">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody className="divide-y divide-slate-100 dark:divide-slate-800">
          {channels.map((c) => (
            <ChannelRow key={c.id} channel={c} onEdit={() => onEdit(c)} onDelete={() => onDelete(c)} />
          ))}
        </tbody>
      </table>
    </div>
  );
}

function ChannelRow({ channel: c, onEdit, onDelete }: { channel: Channel; onEdit: () => void; onDelete: () => void }) {
  const queryClient = useQueryClient();
  const toast = useToast();
  const [result, setResult] = useState<TestResult | null>(null);
  const test = useMutation({
    mutationFn: () => testChannel(c.id),
    onSuccess: async (r) => {
      setResult(r);
      if (r.status === 'sent') toast.show({ kind: 'success', message: `Test sent through ${c.name}` });
      else toast.show({ kind: 'error', message: `Test through ${c.name} failed: ${r.error ?? 'unknown error'}` });
      await queryClient.invalidateQueries({ queryKey: DELIVERIES_KEY });
    },
    onError: (e) => toast.show({ kind: 'error', message: `Could not test ${c.name}: ${errorMessage(e)}` }),
  });
  return (
    <tr data-channel={c.name}>
      <td className={`${tdClass} font-medium`}>
        {c.name}
        {!c.enabled ? (
          <div>
            <Badge>disabled</Badge>
          </div>
        ) : null}
      </td>
      <td className={tdClass}>
        <Badge color="blue">{KIND_LABEL[c.kind]}</Badge>
      </td>
      <td className={`${tdClass} max-w-xs break-all font-mono text-xs`}>{target(c)}</td>
      <td className={`${tdClass} text-xs`}>{c.events.length === 0 ? 'all' : c.events.map(humanize).join(', ')}</td>
      <td className={tdClass}>{c.min_severity}</td>
      <td className={`${tdClass} whitespace-nowrap`}>{c.cooldown_seconds === 0 ? 'none' : `${String(Math.round(c.cooldown_seconds / 60))} min`}</td>
      <td className={tdClass} data-testid="test-result">
        {test.isPending ? (
          <span className="text-xs text-slate-500">sending…</span>
        ) : result ? (
          <span className="text-xs">
            <StatusBadge status={result.status} /> {result.attempts === 1 ? '1 attempt' : `${String(result.attempts)} attempts`}
            {result.error ? <div className="text-red-700 dark:text-red-300">{result.error}</div> : null}
          </span>
        ) : (
          '—'
        )}
      </td>
      <td className={`${tdClass} whitespace-nowrap text-right`}>
        <Button variant="ghost" onClick={() => test.mutate()} disabled={test.isPending} aria-label={`Send test through ${c.name}`}>
          Send test
        </Button>
        <Button variant="ghost" onClick={onEdit} aria-label={`Edit ${c.name}`}>
          Edit
        </Button>
        <Button variant="ghost" onClick={onDelete} aria-label={`Delete ${c.name}`}>
          Delete
        </Button>
      </td>
    </tr>
  );
}

/** Text fields of every kind's config; secrets are separate (below). */
interface FormState {
  name: string;
  kind: ChannelKind;
  enabled: boolean;
  url: string;
  topic: string;
  host: string;
  port: string;
  security: 'starttls' | 'tls' | 'none';
  username: string;
  from: string;
  to: string;
  events: string[];
  min_severity: Severity;
  host_group_id: string;
  cooldown_seconds: string;
  /** What the user typed into the secret field of this kind ("" = not retyped). */
  secret: string;
  /** The user asked to remove the stored secret. */
  clearSecret: boolean;
}

/** The secret field of each kind: its config key and label. */
const SECRET_FIELD: Record<ChannelKind, { key: 'secret' | 'token' | 'password'; label: string; hint: string }> = {
  webhook: { key: 'secret', label: 'Signing secret', hint: 'Optional. Deliveries carry X-PatchMon-Signature: sha256=HMAC(secret, "<timestamp>.<body>").' },
  ntfy: { key: 'token', label: 'Access token', hint: 'Optional; sent as a bearer token.' },
  gotify: { key: 'token', label: 'Application token', hint: 'Required; sent as X-Gotify-Key.' },
  email: { key: 'password', label: 'SMTP password', hint: 'Used with the username.' },
};

function initialForm(c?: Channel): FormState {
  const cfg = c?.config ?? {};
  const to = Array.isArray(cfg.to) ? (cfg.to as unknown[]).filter((x): x is string => typeof x === 'string').join(', ') : '';
  const sec = str(cfg, 'security');
  return {
    name: c?.name ?? '',
    kind: c?.kind ?? 'webhook',
    enabled: c?.enabled ?? true,
    url: str(cfg, 'url'),
    topic: str(cfg, 'topic'),
    host: str(cfg, 'host'),
    port: str(cfg, 'port') || '587',
    security: sec === 'tls' || sec === 'none' ? sec : 'starttls',
    username: str(cfg, 'username'),
    from: str(cfg, 'from'),
    to,
    events: c?.events ?? [],
    min_severity: c?.min_severity ?? 'info',
    host_group_id: c?.host_group_id ?? '',
    cooldown_seconds: String(c?.cooldown_seconds ?? 900),
    secret: '',
    clearSecret: false,
  };
}

/** Whether the channel as stored has a secret in the key this kind uses (the server shows it as "********"). */
function hasStoredSecret(c: Channel | undefined, kind: ChannelKind): boolean {
  if (!c || c.kind !== kind) return false;
  const v = c.config[SECRET_FIELD[kind].key];
  return v !== undefined && v !== null && v !== '';
}

/** The request body. Empty optional fields are left out; an untouched stored secret goes back as "********" (kept by the server). */
function toInput(f: FormState, channel?: Channel): ChannelInput {
  const config: Record<string, unknown> = {};
  const put = (k: string, v: string) => {
    if (v.trim() !== '') config[k] = v.trim();
  };
  switch (f.kind) {
    case 'webhook':
      put('url', f.url);
      break;
    case 'ntfy':
      put('url', f.url);
      put('topic', f.topic);
      break;
    case 'gotify':
      put('url', f.url);
      break;
    case 'email':
      put('host', f.host);
      if (f.port.trim() !== '') config.port = Number(f.port);
      config.security = f.security;
      put('username', f.username);
      put('from', f.from);
      config.to = f.to
        .split(/[\s,;]+/)
        .map((s) => s.trim())
        .filter((s) => s !== '');
      break;
  }
  const key = SECRET_FIELD[f.kind].key;
  if (f.secret !== '') config[key] = f.secret;
  else if (hasStoredSecret(channel, f.kind) && !f.clearSecret) config[key] = REDACTED;
  return {
    name: f.name.trim(),
    kind: f.kind,
    enabled: f.enabled,
    config,
    events: f.events,
    min_severity: f.min_severity,
    host_group_id: f.host_group_id === '' ? null : f.host_group_id,
    cooldown_seconds: Number(f.cooldown_seconds),
  };
}

function ChannelFormModal({ channel, onClose }: { channel?: Channel; onClose: () => void }) {
  const [form, setForm] = useState<FormState>(() => initialForm(channel));
  const [error, setError] = useState<string | null>(null);
  const queryClient = useQueryClient();
  const toast = useToast();
  const canGroups = useCan('can_view_hosts');
  const groups = useQuery({ queryKey: ['host-groups'], queryFn: ({ signal }) => listGroups(signal), enabled: canGroups });
  const ids = useId();
  const set = (patch: Partial<FormState>) => setForm((f) => ({ ...f, ...patch }));
  const save = useMutation({
    mutationFn: () => {
      const input = toInput(form, channel);
      return channel ? updateChannel(channel.id, input) : createChannel(input);
    },
    onSuccess: async (c) => {
      toast.show({ kind: 'success', message: channel ? `Channel ${c.name} saved` : `Channel ${c.name} created` });
      await queryClient.invalidateQueries({ queryKey: CHANNELS_KEY });
      onClose();
    },
    // The server's words: "webhook config needs an http(s) url", "cooldown_seconds must be 0..2592000", …
    onError: (e) => setError(errorMessage(e)),
  });
  function submit(e: SyntheticEvent) {
    e.preventDefault();
    setError(null);
    if (form.name.trim() === '') {
      setError('Give the channel a name.');
      return;
    }
    save.mutate();
  }
  const secret = SECRET_FIELD[form.kind];
  const stored = hasStoredSecret(channel, form.kind);
  const toggleEvent = (ev: string, on: boolean) => set({ events: on ? [...form.events, ev] : form.events.filter((x) => x !== ev) });
  return (
    <Modal title={channel ? `Edit channel ${channel.name}` : 'New channel'} onClose={onClose} wide>
      <form onSubmit={submit} className="space-y-4" noValidate>
        <div className="grid gap-3 sm:grid-cols-2">
          <Field label="Name" value={form.name} onChange={(e) => set({ name: e.target.value })} maxLength={100} required autoFocus />
          <div className="space-y-1">
            <label htmlFor={`${ids}-kind`} className="block text-sm font-medium">
              Kind
            </label>
            <select id={`${ids}-kind`} className={selectClass} value={form.kind} onChange={(e) => set({ kind: e.target.value as ChannelKind, secret: '', clearSecret: false })}>
              {CHANNEL_KINDS.map((k) => (
                <option key={k} value={k}>
                  {KIND_LABEL[k]}
                </option>
              ))}
            </select>
          </div>
        </div>
        <label className="flex items-center gap-2 text-sm">
          <input type="checkbox" checked={form.enabled} onChange={(e) => set({ enabled: e.target.checked })} /> Enabled
        </label>

        <fieldset className="space-y-3 rounded-md border border-slate-200 p-3 dark:border-slate-700">
          <legend className="px-1 text-sm font-medium">{KIND_LABEL[form.kind]} settings</legend>
          {form.kind === 'webhook' ? <Field label="URL" type="url" value={form.url} onChange={(e) => set({ url: e.target.value })} placeholder="https://hooks.example.com/patchmon" /> : null}
          {form.kind === 'ntfy' ? (
            <>
              <Field label="Server URL" type="url" value={form.url} onChange={(e) => set({ url: e.target.value })} placeholder="https://ntfy.sh" hint="Empty: https://ntfy.sh" />
              <Field label="Topic" value={form.topic} onChange={(e) => set({ topic: e.target.value })} />
            </>
          ) : null}
          {form.kind === 'gotify' ? <Field label="Server URL" type="url" value={form.url} onChange={(e) => set({ url: e.target.value })} placeholder="https://gotify.example.com" /> : null}
          {form.kind === 'email' ? (
            <>
              <div className="grid gap-3 sm:grid-cols-3">
                <Field label="SMTP host" value={form.host} onChange={(e) => set({ host: e.target.value })} />
                <Field label="Port" type="number" min={1} max={65535} value={form.port} onChange={(e) => set({ port: e.target.value })} />
                <div className="space-y-1">
                  <label htmlFor={`${ids}-security`} className="block text-sm font-medium">
                    Security
                  </label>
                  <select id={`${ids}-security`} className={selectClass} value={form.security} onChange={(e) => set({ security: e.target.value as FormState['security'] })}>
                    <option value="starttls">STARTTLS</option>
                    <option value="tls">TLS</option>
                    <option value="none">none</option>
                  </select>
                </div>
              </div>
              <Field label="Username" value={form.username} onChange={(e) => set({ username: e.target.value })} autoComplete="off" />
              <Field label="From" value={form.from} onChange={(e) => set({ from: e.target.value })} placeholder="PatchMon <patchmon@example.com>" />
              <Field label="To" value={form.to} onChange={(e) => set({ to: e.target.value })} placeholder="ops@example.com, admin@example.com" hint="One or more addresses, separated by commas." />
            </>
          ) : null}
          <Field
            label={secret.label}
            type="password"
            autoComplete="new-password"
            value={form.secret}
            onChange={(e) => set({ secret: e.target.value, clearSecret: false })}
            placeholder={stored && !form.clearSecret ? 'Stored; leave empty to keep it' : ''}
            hint={secret.hint}
          />
          {stored && form.kind !== 'gotify' ? (
            <label className="flex items-center gap-2 text-sm">
              <input type="checkbox" checked={form.clearSecret} onChange={(e) => set({ clearSecret: e.target.checked, secret: '' })} /> Remove the stored {secret.label.toLowerCase()}
            </label>
          ) : null}
        </fieldset>

        <fieldset>
          <legend className="text-sm font-medium">Events</legend>
          <p className="text-xs text-slate-500">None chosen: every alert event.</p>
          <div className="mt-1 grid gap-1 sm:grid-cols-3">
            {[...CHANNEL_EVENTS, ...ALERT_TYPES].map((ev) => (
              <label key={ev} className="flex items-center gap-2 text-sm">
                <input type="checkbox" aria-label={`Event ${ev}`} checked={form.events.includes(ev)} onChange={(e) => toggleEvent(ev, e.target.checked)} />
                {humanize(ev)}
              </label>
            ))}
          </div>
        </fieldset>

        <div className="grid gap-3 sm:grid-cols-3">
          <div className="space-y-1">
            <label htmlFor={`${ids}-sev`} className="block text-sm font-medium">
              Minimum severity
            </label>
            <select id={`${ids}-sev`} className={selectClass} value={form.min_severity} onChange={(e) => set({ min_severity: e.target.value as Severity })}>
              {SEVERITIES.map((s) => (
                <option key={s} value={s}>
                  {s}
                </option>
              ))}
            </select>
          </div>
          <Field
            label="Cooldown (seconds)"
            type="number"
            min={0}
            max={2592000}
            value={form.cooldown_seconds}
            onChange={(e) => set({ cooldown_seconds: e.target.value })}
            hint="Per host and alert type; 0 = none."
          />
          <div className="space-y-1">
            <label htmlFor={`${ids}-group`} className="block text-sm font-medium">
              Host group
            </label>
            <select id={`${ids}-group`} className={selectClass} value={form.host_group_id} onChange={(e) => set({ host_group_id: e.target.value })} disabled={canGroups && !groups.data}>
              <option value="">all hosts</option>
              {form.host_group_id !== '' && !groups.data?.some((g) => g.id === form.host_group_id) ? <option value={form.host_group_id}>{form.host_group_id.slice(0, 8)}…</option> : null}
              {groups.data?.map((g) => (
                <option key={g.id} value={g.id}>
                  {g.name}
                </option>
              ))}
            </select>
          </div>
        </div>

        {error ? <ErrorPanel title={channel ? 'Channel not saved' : 'Channel not created'} message={error} /> : null}
        <div className="flex justify-end gap-2">
          <Button onClick={onClose}>Cancel</Button>
          <Button type="submit" variant="primary" disabled={save.isPending}>
            {save.isPending ? 'Saving…' : channel ? 'Save' : 'Create channel'}
          </Button>
        </div>
      </form>
    </Modal>
  );
}

function DeleteChannelDialog({ channel, onClose }: { channel: Channel; onClose: () => void }) {
  return (
    <DeleteDialog
      title={`Delete channel ${channel.name}?`}
      confirmLabel="Delete channel"
      run={() => deleteChannel(channel.id)}
      done={`Channel ${channel.name} deleted`}
      refresh={CHANNELS_KEY}
      errorTitle="Channel not deleted"
      onClose={onClose}
    >
      <p>Alerts are no longer sent to {target(channel)}.</p>
    </DeleteDialog>
  );
}

function DeliveryLog({ channels }: { channels: Channel[] }) {
  const [state, update] = useTableState(DELIVERIES_TABLE);
  const offset = (state.page - 1) * state.limit;
  const deliveries = useQuery({
    queryKey: [...DELIVERIES_KEY, state.filters, state.limit, offset],
    queryFn: ({ signal }) => listDeliveries({ ...state.filters, limit: state.limit, offset }, signal),
    placeholderData: keepPreviousData,
    refetchInterval: 15_000,
    staleTime: 0,
  });
  const setFilter = (k: string) => (v: string) => update({ filters: { [k]: v } });
  const nameOf = (cid: string) => channels.find((c) => c.id === cid)?.name ?? `${cid.slice(0, 8)}… (deleted)`;
  const rows = deliveries.data?.deliveries;
  return (
    <Card title="Delivery log">
      <div className="mb-3 flex flex-wrap items-end gap-3">
        <FilterSelect label="Channel" value={state.filters.channel_id} onChange={setFilter('channel_id')} options={channels.map((c) => ({ value: c.id, label: c.name }))} />
        <FilterSelect
          label="Outcome"
          value={state.filters.status}
          onChange={setFilter('status')}
          options={[
            { value: 'sent', label: 'Sent' },
            { value: 'failed', label: 'Failed' },
            { value: 'skipped_cooldown', label: 'Skipped (cooldown)' },
          ]}
        />
      </div>
      {deliveries.isPending ? <Loading /> : null}
      {deliveries.isError ? <ErrorPanel title="Could not load the delivery log" message={errorMessage(deliveries.error)} onRetry={() => void deliveries.refetch()} /> : null}
      {rows && rows.length === 0 ? <p className="p-2 text-sm text-slate-600 dark:text-slate-400">Nothing delivered yet.</p> : null}
      {rows && rows.length > 0 ? (
        <div className="overflow-x-auto">
          <table className={tableClass} aria-label="Deliveries">
            <thead>
              <tr>
                <th className={thClass}>When</th>
                <th className={thClass}>Channel</th>
                <th className={thClass}>Event</th>
                <th className={thClass}>Alert type</th>
                <th className={thClass}>Outcome</th>
                <th className={thClass}>Attempts</th>
                <th className={thClass}>Error</th>
              </tr>
            </thead>
            <tbody className="divide-y divide-slate-100 dark:divide-slate-800">
              {rows.map((d) => (
                <tr key={d.id} data-delivery={d.event}>
                  <td className={`${tdClass} whitespace-nowrap`} title={formatDate(d.created_at)}>
                    {formatRelative(d.created_at)}
                  </td>
                  <td className={tdClass}>{nameOf(d.channel_id)}</td>
                  <td className={tdClass}>{humanize(d.event)}</td>
                  <td className={tdClass}>{humanize(d.alert_type)}</td>
                  <td className={tdClass}>
                    <StatusBadge status={d.status} />
                  </td>
                  <td className={tdClass}>{d.attempts}</td>
                  <td className={`${tdClass} text-xs text-red-700 dark:text-red-300`}>{d.error ?? ''}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
      {deliveries.data ? <Pager pagination={offsetPagination(deliveries.data.total, state.limit, offset)} state={state} onChange={update} /> : null}
    </Card>
  );
}
