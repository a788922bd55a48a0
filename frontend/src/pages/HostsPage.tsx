import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { Link } from 'react-router';
import { getDashboardStats, exportUrl, listGroups, listHosts } from '../api/fleet';
import { errorMessage } from '../api/errors';
import { useCan } from '../auth/session';
import { ErrorPanel } from '../components/ErrorPanel';
import { formatRelative, osLabel } from '../components/format';
import { ConnectedDot, GroupChips, StatusBadge } from '../components/hostBits';
import { Badge, Card, PageHeader, tableClass, tdClass, thClass } from '../components/ui';
import { FilterSelect, Pager, SearchBox, SortHeader } from '../table/TableParts';
import { YES_NO, apiParams, useTableState, type TableSpec } from '../table/urlState';

const HOSTS_TABLE: TableSpec = {
  sorts: ['friendly_name', 'hostname', 'ip', 'os', 'status', 'last_update', 'updates', 'security_updates', 'total_packages', 'agent_version', 'needs_reboot', 'created_at'],
  defaultSort: 'friendly_name',
  filters: ['group_id', 'os', 'status', 'reporting_state', 'needs_updates', 'security_updates', 'needs_reboot'],
  defaultLimit: 50,
};

export default function HostsPage() {
  const [state, update] = useTableState(HOSTS_TABLE);
  const params = apiParams(state);
  const hosts = useQuery({
    queryKey: ['hosts', params],
    queryFn: ({ signal }) => listHosts(params, signal),
    placeholderData: keepPreviousData,
  });
  const groups = useQuery({ queryKey: ['host-groups'], queryFn: ({ signal }) => listGroups(signal) });
  const canDashboard = useCan('can_view_dashboard');
  // The OS filter's choices: the OS distribution of the dashboard statistics, re-read on every visit.
  const stats = useQuery({ queryKey: ['dashboard-stats'], queryFn: ({ signal }) => getDashboardStats(signal), enabled: canDashboard, staleTime: 0 });
  const canManage = useCan('can_manage_hosts');
  const canExport = useCan('can_export_data');
  const osNames = [...new Set((stats.data?.os_distribution ?? []).map((o) => o.os_type).filter((o): o is string => !!o))];
  const setFilter = (name: string) => (value: string) => update({ filters: { [name]: value } });

  return (
    <div>
      <PageHeader
        title="Hosts"
        subtitle={hosts.data ? `${hosts.data.pagination.total.toLocaleString()} ${hosts.data.pagination.total === 1 ? 'host matches' : 'hosts match'}` : undefined}
        actions={
          <>
            {canExport ? (
              <>
                <a className="rounded-md border border-slate-300 px-3 py-1.5 text-sm dark:border-slate-700" href={exportUrl('hosts', 'csv', params)}>Export CSV</a>
                <a className="rounded-md border border-slate-300 px-3 py-1.5 text-sm dark:border-slate-700" href={exportUrl('hosts', 'json', params)}>Export JSON</a>
              </>
            ) : null}
            {canManage ? (
              <Link to="/hosts/new" className="rounded-md bg-blue-600 px-3 py-1.5 text-sm font-medium text-white hover:bg-blue-700">
                Add host
              </Link>
            ) : null}
          </>
        }
      />
      <Card>
        <div className="mb-3 flex flex-wrap items-end gap-3" role="group" aria-label="Filters">
          <SearchBox value={state.search} onChange={(search) => update({ search })} placeholder="Search name, hostname or IP" />
          <FilterSelect
            label="Group"
            value={state.filters.group_id}
            onChange={setFilter('group_id')}
            options={[{ value: 'ungrouped', label: '(no group)' }, ...(groups.data ?? []).map((g) => ({ value: g.id, label: g.name }))]}
          />
          <FilterSelect label="OS" value={state.filters.os} onChange={setFilter('os')} options={[...new Set([...osNames, ...(state.filters.os ? [state.filters.os] : [])])].map((o) => ({ value: o, label: o }))} />
          <FilterSelect
            label="Status"
            value={state.filters.status}
            onChange={setFilter('status')}
            options={['active', 'pending', 'inactive'].map((s) => ({ value: s, label: s }))}
          />
          <FilterSelect label="Needs updates" value={state.filters.needs_updates} onChange={setFilter('needs_updates')} options={YES_NO} />
          <FilterSelect label="Security updates" value={state.filters.security_updates} onChange={setFilter('security_updates')} options={YES_NO} />
          <FilterSelect label="Reboot needed" value={state.filters.needs_reboot} onChange={setFilter('needs_reboot')} options={YES_NO} />
        </div>
        {hosts.isError ? <ErrorPanel title="Could not load hosts" message={errorMessage(hosts.error)} onRetry={() => void hosts.refetch()} /> : null}
        <div className="overflow-x-auto">
          <table className={tableClass} aria-label="Hosts" aria-busy={hosts.isFetching}>
            <thead>
              <tr>
                <SortHeader column="friendly_name" label="Name" state={state} onChange={update} />
                <SortHeader column="ip" label="IP" state={state} onChange={update} />
                <SortHeader column="os" label="OS" state={state} onChange={update} />
                <SortHeader column="status" label="Status" state={state} onChange={update} />
                <SortHeader column="updates" label="Updates" state={state} onChange={update} className="text-right" />
                <SortHeader column="security_updates" label="Security" state={state} onChange={update} className="text-right" />
                <SortHeader column="needs_reboot" label="Reboot" state={state} onChange={update} />
                <th className={thClass}>Groups</th>
                <SortHeader column="agent_version" label="Agent" state={state} onChange={update} />
                <SortHeader column="last_update" label="Last report" state={state} onChange={update} />
              </tr>
            </thead>
            <tbody className={`divide-y divide-slate-100 dark:divide-slate-800 ${hosts.isPlaceholderData ? 'opacity-60' : ''}`}>
              {hosts.isPending ? (
                <tr>
                  <td colSpan={10} className={tdClass}>Loading…</td>
                </tr>
              ) : null}
              {hosts.data?.hosts.length === 0 ? (
                <tr>
                  <td colSpan={10} className={`${tdClass} text-center text-slate-500`}>No hosts match.</td>
                </tr>
              ) : null}
              {hosts.data?.hosts.map((h) => (
                <tr key={h.id} className="hover:bg-slate-50 dark:hover:bg-slate-800/50">
                  <td className={tdClass}>
                    <div className="flex items-center gap-2">
                      <ConnectedDot connected={h.connected} />
                      <Link to={`/hosts/${h.id}`} className="whitespace-nowrap font-medium text-blue-700 hover:underline dark:text-blue-400">
                        {h.friendly_name}
                      </Link>
                    </div>
                    {h.hostname && h.hostname !== h.friendly_name ? <div className="text-xs text-slate-500">{h.hostname}</div> : null}
                  </td>
                  <td className={`${tdClass} font-mono text-xs`}>{h.ip ?? '—'}</td>
                  <td className={tdClass}>{osLabel(h)}</td>
                  <td className={tdClass}>
                    <StatusBadge status={h.effective_status} reporting={h.reporting_state} />
                  </td>
                  <td className={`${tdClass} text-right tabular-nums`}>{h.updates_available > 0 ? <Badge color="amber">{h.updates_available}</Badge> : '0'}</td>
                  <td className={`${tdClass} text-right tabular-nums`}>{h.security_updates > 0 ? <Badge color="red">{h.security_updates}</Badge> : '0'}</td>
                  <td className={tdClass}>{h.needs_reboot ? <Badge color="amber">reboot</Badge> : ''}</td>
                  <td className={tdClass}>
                    <GroupChips groups={h.groups} />
                  </td>
                  <td className={`${tdClass} text-xs`}>{h.agent_version ?? '—'}</td>
                  <td className={`${tdClass} whitespace-nowrap text-xs`}>{formatRelative(h.last_update)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
        <Pager pagination={hosts.data?.pagination} state={state} onChange={update} />
      </Card>
    </div>
  );
}
