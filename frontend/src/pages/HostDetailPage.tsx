import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState, type ReactNode } from 'react';
import { Link, useNavigate, useParams, useSearchParams } from 'react-router';
import {
  deleteHost,
  fetchReport,
  getHost,
  getWsStatus,
  listGroups,
  listHostHistory,
  listHostPackages,
  listHostRepositories,
  regenerateCredentials,
  setFriendlyName,
  setHostGroups,
  setHostIntegrations,
  type IntegrationsInput,
  setNotes,
} from '../api/fleet';
import { ApiError, errorMessage } from '../api/errors';
import type { CreatedHost, DiskInfo, HostDetail } from '../api/model';
import { useCan } from '../auth/session';
import { ErrorPanel } from '../components/ErrorPanel';
import { formatDate, formatRelative, osLabel } from '../components/format';
import { ConnectedDot, GroupChip, GroupChips, StatusBadge } from '../components/hostBits';
import { Badge, Button, Card, ConfirmDialog, Loading, Modal, PageHeader, inputClass, tableClass, tdClass, thClass } from '../components/ui';
import { FilterSelect, Pager, SearchBox, SortHeader } from '../table/TableParts';
import { YES_NO, apiParams, useTableState, type TableSpec } from '../table/urlState';
import { useToast } from '../toast/context';
import { Credentials } from './AddHostPage';

const TABS = ['overview', 'system', 'network', 'disks', 'packages', 'repositories', 'history', 'groups'] as const;
type Tab = (typeof TABS)[number];

export default function HostDetailPage() {
  const { hostId = '' } = useParams();
  const [params, setParams] = useSearchParams();
  const tabParam = params.get('tab');
  const tab: Tab = (TABS as readonly string[]).includes(tabParam ?? '') ? (tabParam as Tab) : 'overview';
  const host = useQuery({ queryKey: ['host', hostId], queryFn: ({ signal }) => getHost(hostId, signal) });
  const [regenerated, setRegenerated] = useState<CreatedHost | null>(null);

  if (host.isPending) return <Loading />;
  if (host.isError) {
    const notFound = host.error instanceof ApiError && host.error.status === 404;
    return (
      <ErrorPanel
        title={notFound ? 'Host not found' : 'Could not load the host'}
        message={notFound ? 'It may have been deleted, or it is outside your host groups.' : errorMessage(host.error)}
        {...(notFound ? {} : { onRetry: () => void host.refetch() })}
      />
    );
  }
  if (regenerated) return <Credentials host={{ ...regenerated, id: host.data.id, friendly_name: host.data.friendly_name }} />;
  const h = host.data;

  function selectTab(t: Tab) {
    const next = new URLSearchParams();
    if (t !== 'overview') next.set('tab', t);
    setParams(next);
  }

  return (
    <div>
      <HostHeader host={h} onRegenerated={setRegenerated} />
      <div role="tablist" aria-label="Host sections" className="mb-4 flex flex-wrap gap-1 border-b border-slate-200 dark:border-slate-800">
        {TABS.map((t) => (
          <button
            key={t}
            type="button"
            role="tab"
            aria-selected={tab === t}
            onClick={() => selectTab(t)}
            className={`-mb-px border-b-2 px-3 py-2 text-sm font-medium capitalize ${tab === t ? 'border-blue-600 text-blue-700 dark:text-blue-400' : 'border-transparent text-slate-600 hover:text-slate-900 dark:text-slate-400 dark:hover:text-white'}`}
          >
            {t}
          </button>
        ))}
      </div>
      <div role="tabpanel" aria-label={tab}>
        {tab === 'overview' ? <Overview host={h} /> : null}
        {tab === 'system' ? <System host={h} /> : null}
        {tab === 'network' ? <Network host={h} /> : null}
        {tab === 'disks' ? <Disks host={h} /> : null}
        {tab === 'packages' ? <Packages hostId={h.id} /> : null}
        {tab === 'repositories' ? <Repositories hostId={h.id} /> : null}
        {tab === 'history' ? <History hostId={h.id} /> : null}
        {tab === 'groups' ? <Groups host={h} /> : null}
      </div>
    </div>
  );
}

function HostHeader({ host, onRegenerated }: { host: HostDetail; onRegenerated: (c: CreatedHost) => void }) {
  const canManage = useCan('can_manage_hosts');
  const [renaming, setRenaming] = useState(false);
  const [confirm, setConfirm] = useState<'delete' | 'regenerate' | null>(null);
  const queryClient = useQueryClient();
  const navigate = useNavigate();
  const toast = useToast();
  const remove = useMutation({
    mutationFn: () => deleteHost(host.id),
    onSuccess: async () => {
      toast.show({ kind: 'success', message: `Host ${host.friendly_name} deleted` });
      // The host's own query is left to expire: removing it while this page
      // still observes it would make the page fetch the deleted host again.
      void navigate('/hosts', { replace: true });
      await queryClient.invalidateQueries({ queryKey: ['hosts'] });
    },
    onError: (e) => {
      setConfirm(null);
      toast.show({ kind: 'error', message: errorMessage(e) });
    },
  });
  const regenerate = useMutation({
    mutationFn: () => regenerateCredentials(host.id),
    onSuccess: (c) => onRegenerated(c),
    onError: (e) => {
      setConfirm(null);
      toast.show({ kind: 'error', message: errorMessage(e) });
    },
  });
  return (
    <>
      <PageHeader
        title={host.friendly_name}
        subtitle={
          <span className="flex flex-wrap items-center gap-2">
            <StatusBadge status={host.effective_status} reporting={host.reporting_state} />
            <span>{host.hostname ?? 'no hostname yet'}</span>
            <span>·</span>
            <span>{osLabel(host)}</span>
            <span>·</span>
            <span>last report {formatRelative(host.last_update)}</span>
          </span>
        }
        actions={
          canManage ? (
            <>
              <Button onClick={() => setRenaming(true)}>Rename</Button>
              <Button onClick={() => setConfirm('regenerate')}>New credentials</Button>
              <Button variant="danger" onClick={() => setConfirm('delete')}>Delete</Button>
            </>
          ) : null
        }
      />
      {renaming ? <RenameDialog host={host} onClose={() => setRenaming(false)} /> : null}
      {confirm === 'delete' ? (
        <ConfirmDialog title={`Delete ${host.friendly_name}?`} confirmLabel="Delete host" busy={remove.isPending} onCancel={() => setConfirm(null)} onConfirm={() => remove.mutate()}>
          <p>The host, its packages, repositories and history are removed, and its agent is disconnected. This cannot be undone.</p>
        </ConfirmDialog>
      ) : null}
      {confirm === 'regenerate' ? (
        <ConfirmDialog title="Issue new credentials?" confirmLabel="Issue new credentials" busy={regenerate.isPending} onCancel={() => setConfirm(null)} onConfirm={() => regenerate.mutate()}>
          <p>The current API key stops working at once and the agent is disconnected until it is given the new one.</p>
        </ConfirmDialog>
      ) : null}
    </>
  );
}

function RenameDialog({ host, onClose }: { host: HostDetail; onClose: () => void }) {
  const [name, setName] = useState(host.friendly_name);
  const [error, setError] = useState<string | null>(null);
  const queryClient = useQueryClient();
  const toast = useToast();
  const save = useMutation({
    mutationFn: () => setFriendlyName(host.id, name.trim()),
    onSuccess: async () => {
      toast.show({ kind: 'success', message: 'Name saved' });
      await queryClient.invalidateQueries({ queryKey: ['host', host.id] });
      await queryClient.invalidateQueries({ queryKey: ['hosts'] });
      onClose();
    },
    onError: (e) => setError(errorMessage(e)),
  });
  return (
    <Modal title="Rename host" onClose={onClose}>
      <form
        className="space-y-3"
        onSubmit={(e) => {
          e.preventDefault();
          save.mutate();
        }}
      >
        <label className="block space-y-1 text-sm font-medium">
          <span>Friendly name</span>
          <input className={inputClass} value={name} onChange={(e) => setName(e.target.value)} maxLength={255} required autoFocus />
        </label>
        {error ? <ErrorPanel title="Could not rename" message={error} /> : null}
        <div className="flex justify-end gap-2">
          <Button onClick={onClose}>Cancel</Button>
          <Button type="submit" variant="primary" disabled={save.isPending || name.trim() === ''}>Save</Button>
        </div>
      </form>
    </Modal>
  );
}

function Dl({ rows }: { rows: [string, ReactNode][] }) {
  return (
    <dl className="grid grid-cols-[minmax(8rem,auto)_1fr] gap-x-4 gap-y-1.5 text-sm">
      {rows.map(([k, v]) => (
        <div key={k} className="contents">
          <dt className="text-slate-500">{k}</dt>
          <dd className="break-words">{v ?? '—'}</dd>
        </div>
      ))}
    </dl>
  );
}

function AgentConnection({ host }: { host: HostDetail }) {
  const canManage = useCan('can_manage_hosts');
  const toast = useToast();
  const queryClient = useQueryClient();
  const requestReport = useMutation({
    mutationFn: () => fetchReport(host.id),
    onSuccess: () => {
      toast.show({ kind: 'success', message: 'Report requested from the agent' });
      // The report arrives a few seconds later.
      setTimeout(() => void queryClient.invalidateQueries({ queryKey: ['host', host.id] }), 5000);
    },
    onError: (e) => toast.show({ kind: 'error', message: `Could not request a report: ${errorMessage(e)}` }),
  });
  const ws = useQuery({
    queryKey: ['ws-status', host.api_id],
    queryFn: ({ signal }) => getWsStatus(host.api_id, signal),
    refetchInterval: 10_000,
    retry: false,
  });
  const s = ws.data;
  return (
    <Card
      title="Agent connection"
      actions={
        canManage ? (
          <Button onClick={() => requestReport.mutate()} disabled={!s?.connected || requestReport.isPending} title={s?.connected ? undefined : 'The agent is not connected'}>
            Report now
          </Button>
        ) : null
      }
    >
      {ws.isError ? <p className="text-sm text-red-600">Could not read the connection state: {errorMessage(ws.error)}</p> : null}
      {s ? (
        <Dl
          rows={[
            ['State', <span key="c" className="inline-flex items-center gap-2"><ConnectedDot connected={s.connected} />{s.connected ? (s.secure ? 'connected (TLS)' : 'connected') : 'not connected'}</span>],
            ['Connected since', s.connected ? formatDate(s.connected_at) : '—'],
            ['Gone for', s.disconnected_seconds_ago !== null ? `${s.disconnected_seconds_ago} s` : '—'],
            ['Agent version', s.agent_version ?? host.agent.version ?? '—'],
            ['Capabilities', s.capabilities.length ? s.capabilities.join(', ') : '—'],
          ]}
        />
      ) : ws.isPending ? (
        <Loading />
      ) : null}
    </Card>
  );
}

function Overview({ host }: { host: HostDetail }) {
  return (
    <div className="grid gap-4 lg:grid-cols-2">
      <Card title="Updates">
        <div className="grid grid-cols-3 gap-3 text-center">
          <Link to="?tab=packages" className="rounded border border-slate-200 p-3 dark:border-slate-800">
            <div className="text-2xl font-semibold tabular-nums">{host.counts.total_packages}</div>
            <div className="text-xs text-slate-500">packages</div>
          </Link>
          <Link to="?tab=packages&updates_only=true" className="rounded border border-slate-200 p-3 dark:border-slate-800">
            <div className="text-2xl font-semibold tabular-nums text-amber-600">{host.counts.updates_available}</div>
            <div className="text-xs text-slate-500">updates</div>
          </Link>
          <Link to="?tab=packages&security_only=true" className="rounded border border-slate-200 p-3 dark:border-slate-800">
            <div className="text-2xl font-semibold tabular-nums text-red-600">{host.counts.security_updates}</div>
            <div className="text-xs text-slate-500">security</div>
          </Link>
        </div>
        {host.needs_reboot ? (
          <p className="mt-3 text-sm">
            <Badge color="amber">Reboot required</Badge> {host.reboot_reason ?? ''}
          </p>
        ) : null}
      </Card>
      <AgentConnection host={host} />
      <Card title="Host">
        <Dl
          rows={[
            ['Hostname', host.hostname],
            ['IP', host.ip],
            ['OS', osLabel(host)],
            ['Groups', <GroupChips key="g" groups={host.groups} />],
            ['API ID', <code key="a" className="text-xs">{host.api_id}</code>],
            ['Created', formatDate(host.created_at)],
            ['Last full report', formatDate(host.last_full_report_at)],
          ]}
        />
      </Card>
      <Integrations host={host} />
      <Notes host={host} />
    </div>
  );
}

const INTEGRATIONS: { key: keyof IntegrationsInput; flag: keyof HostDetail['integrations']; label: string; hint: string }[] = [
  { key: 'docker', flag: 'docker_enabled', label: 'Docker inventory', hint: 'containers, images, volumes and networks' },
  { key: 'compliance', flag: 'compliance_enabled', label: 'Compliance scans', hint: 'OpenSCAP' },
  { key: 'auto_update', flag: 'auto_update', label: 'Agent auto-update', hint: 'install new agent releases' },
];

function Integrations({ host }: { host: HostDetail }) {
  const canManage = useCan('can_manage_hosts');
  const queryClient = useQueryClient();
  const toast = useToast();
  const change = useMutation({
    mutationFn: (input: IntegrationsInput) => setHostIntegrations(host.id, input),
    onSuccess: async (r, input) => {
      const pushed = input.auto_update === undefined;
      toast.show({
        kind: 'success',
        message: !pushed || r.agent_notified ? 'Integrations saved' : 'Integrations saved; the agent applies them when it next starts',
      });
      queryClient.setQueryData(['host', host.id], r.host);
      await queryClient.invalidateQueries({ queryKey: ['host', host.id] });
    },
    onError: (e) => toast.show({ kind: 'error', message: `Could not change the integrations: ${errorMessage(e)}` }),
  });
  return (
    <Card title="Integrations">
      <ul className="space-y-2 text-sm">
        {INTEGRATIONS.map((i) => {
          const on = host.integrations[i.flag];
          return (
            <li key={i.key} className="flex items-center justify-between gap-3">
              <span>
                {i.label} <span className="text-xs text-slate-500">({i.hint})</span>
              </span>
              {canManage ? (
                <label className="flex items-center gap-2">
                  <input
                    type="checkbox"
                    aria-label={i.label}
                    checked={on}
                    disabled={change.isPending}
                    onChange={(e) => change.mutate({ [i.key]: e.target.checked })}
                  />
                  {on ? 'on' : 'off'}
                </label>
              ) : (
                <Badge color={on ? 'green' : 'slate'}>{on ? 'on' : 'off'}</Badge>
              )}
            </li>
          );
        })}
      </ul>
    </Card>
  );
}

function Notes({ host }: { host: HostDetail }) {
  const canManage = useCan('can_manage_hosts');
  const [text, setText] = useState(host.notes ?? '');
  const queryClient = useQueryClient();
  const toast = useToast();
  const save = useMutation({
    mutationFn: () => setNotes(host.id, text),
    onSuccess: async () => {
      toast.show({ kind: 'success', message: 'Notes saved' });
      await queryClient.invalidateQueries({ queryKey: ['host', host.id] });
    },
    onError: (e) => toast.show({ kind: 'error', message: `Could not save the notes: ${errorMessage(e)}` }),
  });
  return (
    <Card title="Notes">
      {canManage ? (
        <>
          <textarea aria-label="Notes" className={`${inputClass} h-28`} value={text} maxLength={10_000} onChange={(e) => setText(e.target.value)} />
          <div className="mt-2 flex justify-end">
            <Button variant="primary" onClick={() => save.mutate()} disabled={save.isPending || text === (host.notes ?? '')}>
              Save notes
            </Button>
          </div>
        </>
      ) : (
        <p className="whitespace-pre-wrap text-sm">{host.notes || 'No notes.'}</p>
      )}
    </Card>
  );
}

function System({ host }: { host: HostDetail }) {
  const hw = host.hardware;
  return (
    <div className="grid gap-4 lg:grid-cols-2">
      <Card title="Operating system">
        <Dl
          rows={[
            ['OS', osLabel(host)],
            ['Architecture', host.architecture],
            ['Kernel (running)', host.kernel_version],
            ['Kernel (installed)', host.installed_kernel_version],
            ['Package manager', host.package_manager],
            ['SELinux', host.selinux_status],
            ['Uptime', host.system_uptime],
            ['Boot time', formatDate(host.boot_time)],
            ['Machine ID', host.machine_id],
          ]}
        />
      </Card>
      <Card title="Hardware">
        <Dl
          rows={[
            ['CPU', hw.cpu_model],
            ['Cores', hw.cpu_cores ?? null],
            ['RAM', hw.ram_installed != null ? `${hw.ram_installed} GB` : null],
            ['Swap', hw.swap_size != null ? `${hw.swap_size} GB` : null],
            ['Load average', hw.load_average?.join(' / ') ?? null],
          ]}
        />
      </Card>
    </div>
  );
}

function Network({ host }: { host: HostDetail }) {
  const n = host.network;
  return (
    <div className="space-y-4">
      <Card title="Network">
        <Dl
          rows={[
            ['IP', host.ip],
            ['Gateway', n.gateway_ip],
            ['DNS servers', n.dns_servers?.join(', ') ?? null],
            ['Primary interface', n.primary_interface],
          ]}
        />
      </Card>
      <Card title="Interfaces">
        {!n.interfaces?.length ? <p className="text-sm text-slate-500">No interface data yet.</p> : null}
        <div className="grid gap-3 md:grid-cols-2">
          {n.interfaces?.map((i) => (
            <div key={i.name} className="rounded border border-slate-200 p-3 text-sm dark:border-slate-800">
              <div className="flex items-center justify-between">
                <span className="font-medium">{i.name}</span>
                <span className="text-xs text-slate-500">
                  {[i.type, i.status].filter(Boolean).join(' · ')}
                </span>
              </div>
              {i.macAddress ? <div className="font-mono text-xs text-slate-500">{i.macAddress}</div> : null}
              <ul className="mt-2 space-y-0.5 font-mono text-xs">
                {(i.addresses ?? []).map((a) => (
                  <li key={a.address}>
                    <Badge color={a.family === 'inet6' ? 'blue' : 'slate'}>{a.family === 'inet6' ? 'IPv6' : 'IPv4'}</Badge> {a.address}
                    {a.netmask ? (a.netmask.startsWith('/') ? a.netmask : ` / ${a.netmask}`) : ''}
                  </li>
                ))}
              </ul>
            </div>
          ))}
        </div>
      </Card>
    </div>
  );
}

function cellText(v: unknown): string {
  if (v === null || v === undefined) return '—';
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return JSON.stringify(v);
}

function Disks({ host }: { host: HostDetail }) {
  const disks = host.hardware.disk_details ?? [];
  if (disks.length === 0) return <Card><p className="text-sm text-slate-500">No disk data yet.</p></Card>;
  const cols: [keyof DiskInfo, string][] = [
    ['name', 'Device'],
    ['mountpoint', 'Mount point'],
    ['size', 'Size'],
  ];
  return (
    <Card>
      <div className="overflow-x-auto">
        <table className={tableClass}>
          <thead>
            <tr>
              {cols.map(([c, label]) => (
                <th key={c} className={thClass}>{label}</th>
              ))}
            </tr>
          </thead>
          <tbody className="divide-y divide-slate-100 dark:divide-slate-800">
            {disks.map((d, i) => (
              <tr key={i}>
                {cols.map(([c]) => (
                  <td key={c} className={tdClass}>{cellText(d[c])}</td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </Card>
  );
}

const HOST_PACKAGES_TABLE: TableSpec = { sorts: ['name', 'needs_update', 'security'], defaultSort: 'name', filters: ['updates_only', 'security_only'], defaultLimit: 50 };

function Packages({ hostId }: { hostId: string }) {
  const [state, update] = useTableState(HOST_PACKAGES_TABLE);
  const params = apiParams(state);
  const pkgs = useQuery({
    queryKey: ['host-packages', hostId, params],
    queryFn: () => listHostPackages(hostId, params),
    placeholderData: keepPreviousData,
  });
  return (
    <Card>
      <div className="mb-3 flex flex-wrap items-end gap-3">
        <SearchBox value={state.search} onChange={(search) => update({ search })} placeholder="Search packages" />
        <FilterSelect label="Updates only" value={state.filters.updates_only} onChange={(v) => update({ filters: { updates_only: v } })} options={YES_NO.slice(0, 1)} />
        <FilterSelect label="Security only" value={state.filters.security_only} onChange={(v) => update({ filters: { security_only: v } })} options={YES_NO.slice(0, 1)} />
      </div>
      {pkgs.isError ? <ErrorPanel title="Could not load packages" message={errorMessage(pkgs.error)} /> : null}
      <div className="overflow-x-auto">
        <table className={tableClass} aria-label="Packages">
          <thead>
            <tr>
              <SortHeader column="name" label="Package" state={state} onChange={update} />
              <th className={thClass}>Installed</th>
              <th className={thClass}>Available</th>
              <SortHeader column="needs_update" label="Update" state={state} onChange={update} />
              <SortHeader column="security" label="Security" state={state} onChange={update} />
              <th className={thClass}>Repository</th>
            </tr>
          </thead>
          <tbody className="divide-y divide-slate-100 dark:divide-slate-800">
            {pkgs.data?.packages.length === 0 ? (
              <tr>
                <td colSpan={6} className={`${tdClass} text-center text-slate-500`}>No packages match.</td>
              </tr>
            ) : null}
            {pkgs.data?.packages.map((p) => (
              <tr key={p.id}>
                <td className={tdClass}>
                  <Link to={`/packages/${p.id}`} className="font-medium text-blue-700 hover:underline dark:text-blue-400">{p.name}</Link>
                  {p.description ? <div className="max-w-md truncate text-xs text-slate-500">{p.description}</div> : null}
                </td>
                <td className={`${tdClass} font-mono text-xs`}>{p.current_version || '—'}</td>
                <td className={`${tdClass} font-mono text-xs`}>{p.needs_update ? (p.available_version ?? '—') : ''}</td>
                <td className={tdClass}>{p.needs_update ? <Badge color="amber">update</Badge> : null}</td>
                <td className={tdClass}>{p.is_security_update ? <Badge color="red">security</Badge> : null}</td>
                <td className={`${tdClass} text-xs`}>{p.source_repository ?? ''}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <Pager pagination={pkgs.data?.pagination} state={state} onChange={update} />
    </Card>
  );
}

function Repositories({ hostId }: { hostId: string }) {
  const repos = useQuery({ queryKey: ['host-repos', hostId], queryFn: () => listHostRepositories(hostId) });
  if (repos.isPending) return <Loading />;
  if (repos.isError) return <ErrorPanel title="Could not load repositories" message={errorMessage(repos.error)} />;
  return (
    <Card>
      <table className={tableClass} aria-label="Repositories">
        <thead>
          <tr>
            <th className={thClass}>Name</th>
            <th className={thClass}>URL</th>
            <th className={thClass}>Distribution</th>
            <th className={thClass}>Type</th>
            <th className={thClass}>State</th>
          </tr>
        </thead>
        <tbody className="divide-y divide-slate-100 dark:divide-slate-800">
          {repos.data.length === 0 ? (
            <tr>
              <td colSpan={5} className={`${tdClass} text-slate-500`}>No repositories reported.</td>
            </tr>
          ) : null}
          {repos.data.map((r) => (
            <tr key={r.id}>
              <td className={tdClass}>
                <Link to={`/repositories/${r.id}`} className="text-blue-700 hover:underline dark:text-blue-400">{r.name}</Link>
              </td>
              <td className={`${tdClass} break-all font-mono text-xs`}>{r.url}</td>
              <td className={tdClass}>{[r.distribution, r.components].filter(Boolean).join(' ')}</td>
              <td className={tdClass}>{r.repo_type}</td>
              <td className={tdClass}>
                {!r.is_enabled ? <Badge>disabled</Badge> : <Badge color="green">enabled</Badge>} {r.is_secure ? <Badge color="blue">https</Badge> : <Badge color="amber">http</Badge>}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </Card>
  );
}

function History({ hostId }: { hostId: string }) {
  const [page, setPage] = useState(1);
  const history = useQuery({
    queryKey: ['host-history', hostId, page],
    queryFn: () => listHostHistory(hostId, { page, limit: 25 }),
    placeholderData: keepPreviousData,
  });
  if (history.isPending) return <Loading />;
  if (history.isError) return <ErrorPanel title="Could not load the history" message={errorMessage(history.error)} />;
  const { pagination } = history.data;
  return (
    <Card>
      <table className={tableClass} aria-label="Report history">
        <thead>
          <tr>
            <th className={thClass}>When</th>
            <th className={thClass}>Type</th>
            <th className={thClass}>Status</th>
            <th className={thClass}>Packages</th>
            <th className={thClass}>Updates / security</th>
            <th className={thClass}>Size</th>
            <th className={thClass}>Time (server / agent)</th>
            <th className={thClass}>Sections</th>
          </tr>
        </thead>
        <tbody className="divide-y divide-slate-100 dark:divide-slate-800">
          {history.data.history.length === 0 ? (
            <tr>
              <td colSpan={8} className={`${tdClass} text-slate-500`}>No reports yet.</td>
            </tr>
          ) : null}
          {history.data.history.map((e) => (
            <tr key={e.id}>
              <td className={`${tdClass} whitespace-nowrap`}>{formatDate(e.timestamp)}</td>
              <td className={tdClass}>{e.report_type || '—'}</td>
              <td className={tdClass}>
                {e.status === 'success' ? <Badge color="green">{e.status}</Badge> : <Badge color="red">{e.status}</Badge>}
                {e.error_message ? <div className="text-xs text-red-600">{e.error_message}</div> : null}
              </td>
              <td className={`${tdClass} tabular-nums`}>{e.total_packages}</td>
              <td className={`${tdClass} tabular-nums`}>
                {e.packages_count} / {e.security_count}
              </td>
              <td className={`${tdClass} tabular-nums`}>{`${e.payload_size_kb} KB`}</td>
              <td className={`${tdClass} tabular-nums`}>
                {e.execution_time} ms / {e.agent_execution_ms ?? '—'} ms
              </td>
              <td className={`${tdClass} text-xs`}>
                {e.sections_sent?.join(', ') ?? ''}
                {e.sections_unchanged?.length ? <span className="text-slate-500"> (unchanged: {e.sections_unchanged.join(', ')})</span> : null}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <div className="mt-3 flex items-center justify-end gap-2 text-sm">
        <Button onClick={() => setPage(page - 1)} disabled={page <= 1}>Previous</Button>
        <span>
          Page {page} of {Math.max(1, pagination.total_pages)}
        </span>
        <Button onClick={() => setPage(page + 1)} disabled={page >= pagination.total_pages}>Next</Button>
      </div>
    </Card>
  );
}

function Groups({ host }: { host: HostDetail }) {
  const canManage = useCan('can_manage_hosts');
  const groups = useQuery({ queryKey: ['host-groups'], queryFn: ({ signal }) => listGroups(signal) });
  const [selected, setSelected] = useState<string[]>(host.groups.map((g) => g.id));
  const queryClient = useQueryClient();
  const toast = useToast();
  const save = useMutation({
    mutationFn: () => setHostGroups(host.id, selected),
    onSuccess: async () => {
      toast.show({ kind: 'success', message: 'Groups saved' });
      await queryClient.invalidateQueries({ queryKey: ['host', host.id] });
      await queryClient.invalidateQueries({ queryKey: ['hosts'] });
      await queryClient.invalidateQueries({ queryKey: ['host-groups'] });
    },
    onError: (e) => toast.show({ kind: 'error', message: `Could not save the groups: ${errorMessage(e)}` }),
  });
  const original = host.groups.map((g) => g.id).sort().join(',');
  const dirty = [...selected].sort().join(',') !== original;
  if (!canManage) return <Card title="Groups"><GroupChips groups={host.groups} /></Card>;
  return (
    <Card title="Groups">
      {groups.isPending ? <Loading /> : null}
      {groups.data?.length === 0 ? (
        <p className="text-sm text-slate-500">
          No groups exist yet. <Link to="/host-groups" className="text-blue-700 hover:underline">Create one</Link>.
        </p>
      ) : null}
      <fieldset>
        <legend className="sr-only">Groups of this host</legend>
        <div className="flex flex-wrap gap-3">
          {groups.data?.map((g) => (
            <label key={g.id} className="flex items-center gap-1.5 text-sm">
              <input type="checkbox" checked={selected.includes(g.id)} onChange={(e) => setSelected(e.target.checked ? [...selected, g.id] : selected.filter((x) => x !== g.id))} />
              <GroupChip group={g} />
            </label>
          ))}
        </div>
      </fieldset>
      <div className="mt-3 flex justify-end gap-2">
        <Button onClick={() => setSelected(host.groups.map((g) => g.id))} disabled={!dirty}>Reset</Button>
        <Button variant="primary" onClick={() => save.mutate()} disabled={!dirty || save.isPending}>Save groups</Button>
      </div>
    </Card>
  );
}
