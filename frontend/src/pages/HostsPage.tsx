import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState, type ReactNode } from 'react';
import { Link, useSearchParams } from 'react-router';
import { bulkSetGroups, getDashboardStats, exportUrl, listGroups, listHosts } from '../api/fleet';
import { useToast } from '../toast/context';
import { errorMessage } from '../api/errors';
import { useCan } from '../auth/session';
import { ErrorPanel } from '../components/ErrorPanel';
import { formatRelative, osLabel } from '../components/format';
import { ConnectedDot, GroupChips, StatusBadge } from '../components/hostBits';
import { Badge, Button, Card, PageHeader, selectClass, tableClass, tdClass, thClass } from '../components/ui';
import { HOST_COLUMNS, columnsParam, readColumns, type HostColumn } from '../hosts/columns';
import { HostViews } from '../hosts/HostViews';
import type { HostListItem } from '../api/model';
import { FilterSelect, Pager, SearchBox, SortHeader } from '../table/TableParts';
import { YES_NO, apiParams, useTableState, type TableSpec } from '../table/urlState';

const HOSTS_TABLE: TableSpec = {
  sorts: ['friendly_name', 'hostname', 'ip', 'os', 'status', 'last_update', 'updates', 'security_updates', 'total_packages', 'agent_version', 'needs_reboot', 'created_at'],
  defaultSort: 'friendly_name',
  filters: ['group_id', 'os', 'status', 'reporting_state', 'needs_updates', 'security_updates', 'needs_reboot'],
  defaultLimit: 50,
};

function cell(h: HostListItem, c: HostColumn): ReactNode {
  switch (c) {
    case 'ip':
      return <span className="font-mono text-xs">{h.ip ?? '—'}</span>;
    case 'os':
      return osLabel(h);
    case 'status':
      return <StatusBadge status={h.effective_status} reporting={h.reporting_state} />;
    case 'updates':
      return h.updates_available > 0 ? <Badge color="amber">{h.updates_available}</Badge> : '0';
    case 'security_updates':
      return h.security_updates > 0 ? <Badge color="red">{h.security_updates}</Badge> : '0';
    case 'needs_reboot':
      return h.needs_reboot ? <Badge color="amber">reboot</Badge> : '';
    case 'groups':
      return <GroupChips groups={h.groups} />;
    case 'agent_version':
      return <span className="text-xs">{h.agent_version ?? '—'}</span>;
    case 'last_update':
      return <span className="whitespace-nowrap text-xs">{formatRelative(h.last_update)}</span>;
  }
}

const NUMERIC = new Set<HostColumn>(['updates', 'security_updates']);

export default function HostsPage() {
  const [state, update] = useTableState(HOSTS_TABLE);
  const [params_, setParams] = useSearchParams();
  const columns = readColumns(params_.get('cols'));
  function toggleColumn(c: HostColumn, on: boolean) {
    const next = on ? [...columns, c] : columns.filter((x) => x !== c);
    setParams((cur) => {
      const p = new URLSearchParams(cur);
      const v = columnsParam(next);
      if (v === null) p.delete('cols');
      else p.set('cols', v);
      return p;
    });
  }
  const params = apiParams(state);
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [bulkGroup, setBulkGroup] = useState('');
  const queryClient = useQueryClient();
  const toast = useToast();
  const bulk = useMutation({
    mutationFn: (mode: 'add' | 'remove') => bulkSetGroups([...selected], [bulkGroup], mode),
    onSuccess: async (n, mode) => {
      toast.show({ kind: 'success', message: `${n} host(s) ${mode === 'add' ? 'added to' : 'removed from'} the group` });
      setSelected(new Set());
      await queryClient.invalidateQueries({ queryKey: ['hosts'] });
      await queryClient.invalidateQueries({ queryKey: ['host-groups'] });
    },
    onError: (e) => toast.show({ kind: 'error', message: `Group change failed: ${errorMessage(e)}` }),
  });
  const hosts = useQuery({
    queryKey: ['hosts', params],
    queryFn: ({ signal }) => listHosts(params, signal),
    placeholderData: keepPreviousData,
  });
  const groups = useQuery({ queryKey: ['host-groups'], queryFn: ({ signal }) => listGroups(signal) });
  const pageIds = hosts.data?.hosts.map((h) => h.id) ?? [];
  const canDashboard = useCan('can_view_dashboard');
  // The OS filter's choices come from the dashboard statistics, which cost the
  // server a fleet-wide aggregation: read them only once the user reaches for
  // the OS filter (or one is already set), not on every visit of the list.
  const [wantOs, setWantOs] = useState(false);
  const stats = useQuery({
    queryKey: ['dashboard-stats'],
    queryFn: ({ signal }) => getDashboardStats(signal),
    enabled: canDashboard && (wantOs || state.filters.os !== undefined),
    // Opening the filter should show every OS reported so far, not a cached list.
    staleTime: 0,
  });
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
          <FilterSelect label="OS" value={state.filters.os} onChange={setFilter('os')} onOpen={() => setWantOs(true)} options={[...new Set([...osNames, ...(state.filters.os ? [state.filters.os] : [])])].map((o) => ({ value: o, label: o }))} />
          <FilterSelect
            label="Status"
            value={state.filters.status}
            onChange={setFilter('status')}
            options={['active', 'pending', 'inactive'].map((s) => ({ value: s, label: s }))}
          />
          <FilterSelect label="Needs updates" value={state.filters.needs_updates} onChange={setFilter('needs_updates')} options={YES_NO} />
          <FilterSelect label="Security updates" value={state.filters.security_updates} onChange={setFilter('security_updates')} options={YES_NO} />
          <FilterSelect label="Reboot needed" value={state.filters.needs_reboot} onChange={setFilter('needs_reboot')} options={YES_NO} />
          <details className="relative">
            <summary className="cursor-pointer rounded-md border border-slate-300 px-3 py-1.5 text-sm dark:border-slate-700">Columns</summary>
            <fieldset className="absolute z-10 mt-1 w-44 space-y-1 rounded-md border border-slate-200 bg-white p-2 text-sm shadow-lg dark:border-slate-700 dark:bg-slate-900">
              <legend className="sr-only">Visible columns</legend>
              {HOST_COLUMNS.map((c) => (
                <label key={c.id} className="flex items-center gap-2">
                  <input type="checkbox" checked={columns.includes(c.id)} onChange={(e) => toggleColumn(c.id, e.target.checked)} />
                  {c.label}
                </label>
              ))}
            </fieldset>
          </details>
          <HostViews state={state} columns={columns} />
        </div>
        {canManage && selected.size > 0 ? (
          <div role="region" aria-label="Selected hosts" className="mb-3 flex flex-wrap items-center gap-2 rounded-md bg-blue-50 p-2 text-sm dark:bg-blue-950/40">
            <span>{selected.size} selected</span>
            <select aria-label="Group for the selected hosts" className={selectClass} value={bulkGroup} onChange={(e) => setBulkGroup(e.target.value)}>
              <option value="">Choose a group…</option>
              {(groups.data ?? []).map((g) => (
                <option key={g.id} value={g.id}>
                  {g.name}
                </option>
              ))}
            </select>
            <Button onClick={() => bulk.mutate('add')} disabled={!bulkGroup || bulk.isPending}>Add to group</Button>
            <Button onClick={() => bulk.mutate('remove')} disabled={!bulkGroup || bulk.isPending}>Remove from group</Button>
            <Button variant="ghost" onClick={() => setSelected(new Set())}>Clear selection</Button>
          </div>
        ) : null}
        {hosts.isError ? <ErrorPanel title="Could not load hosts" message={errorMessage(hosts.error)} onRetry={() => void hosts.refetch()} /> : null}
        <div className="overflow-x-auto">
          <table className={tableClass} aria-label="Hosts" aria-busy={hosts.isFetching}>
            <thead>
              <tr>
                {canManage ? (
                  <th className={`${thClass} w-8`}>
                    <input
                      type="checkbox"
                      aria-label="Select all hosts on this page"
                      checked={pageIds.length > 0 && pageIds.every((id) => selected.has(id))}
                      onChange={(e) => setSelected(e.target.checked ? new Set([...selected, ...pageIds]) : new Set([...selected].filter((id) => !pageIds.includes(id))))}
                    />
                  </th>
                ) : null}
                <SortHeader column="friendly_name" label="Name" state={state} onChange={update} />
                {HOST_COLUMNS.filter((c) => columns.includes(c.id)).map((c) =>
                  c.sort ? (
                    <SortHeader key={c.id} column={c.sort} label={c.label} state={state} onChange={update} className={NUMERIC.has(c.id) ? 'text-right' : ''} />
                  ) : (
                    <th key={c.id} className={thClass}>{c.label}</th>
                  ),
                )}
              </tr>
            </thead>
            <tbody className={`divide-y divide-slate-100 dark:divide-slate-800 ${hosts.isPlaceholderData ? 'opacity-60' : ''}`}>
              {hosts.isPending ? (
                <tr>
                  <td colSpan={columns.length + (canManage ? 2 : 1)} className={tdClass}>Loading…</td>
                </tr>
              ) : null}
              {hosts.data?.hosts.length === 0 ? (
                <tr>
                  <td colSpan={columns.length + (canManage ? 2 : 1)} className={`${tdClass} text-center text-slate-500`}>No hosts match.</td>
                </tr>
              ) : null}
              {hosts.data?.hosts.map((h) => (
                <tr key={h.id} className="hover:bg-slate-50 dark:hover:bg-slate-800/50">
                  {canManage ? (
                    <td className={`${tdClass} w-8`}>
                      <input
                        type="checkbox"
                        aria-label={`Select ${h.friendly_name}`}
                        checked={selected.has(h.id)}
                        onChange={(e) => {
                          const next = new Set(selected);
                          if (e.target.checked) next.add(h.id);
                          else next.delete(h.id);
                          setSelected(next);
                        }}
                      />
                    </td>
                  ) : null}
                  <td className={tdClass}>
                    <div className="flex items-center gap-2">
                      <ConnectedDot connected={h.connected} />
                      <Link to={`/hosts/${h.id}`} className="whitespace-nowrap font-medium text-blue-700 hover:underline dark:text-blue-400">
                        {h.friendly_name}
                      </Link>
                    </div>
                    {h.hostname && h.hostname !== h.friendly_name ? <div className="text-xs text-slate-500">{h.hostname}</div> : null}
                  </td>
                  {columns.map((c) => (
                    <td key={c} className={`${tdClass} ${NUMERIC.has(c) ? 'text-right tabular-nums' : ''}`}>
                      {cell(h, c)}
                    </td>
                  ))}
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
