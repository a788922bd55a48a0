import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { Link } from 'react-router';
import { exportUrl, listPackages } from '../api/fleet';
import { errorMessage } from '../api/errors';
import { useCan } from '../auth/session';
import { ErrorPanel } from '../components/ErrorPanel';
import { Badge, Card, PageHeader, tableClass, tdClass, thClass } from '../components/ui';
import { FilterSelect, Pager, SearchBox, SortHeader } from '../table/TableParts';
import { apiParams, useTableState, type TableSpec } from '../table/urlState';

const PACKAGES_TABLE: TableSpec = { sorts: ['name', 'hosts', 'outdated_hosts', 'security_hosts'], defaultSort: 'name', filters: ['needs_update', 'security'], defaultLimit: 50 };
const ONLY = [{ value: 'true', label: 'Only these' }];

export default function PackagesPage() {
  const [state, update] = useTableState(PACKAGES_TABLE);
  const params = apiParams(state);
  const pkgs = useQuery({ queryKey: ['packages', params], queryFn: ({ signal }) => listPackages(params, signal), placeholderData: keepPreviousData });
  const canExport = useCan('can_export_data');
  return (
    <div>
      <PageHeader
        title="Packages"
        subtitle="Every package installed on a host you can see."
        actions={
          canExport ? (
            <>
              <a className="rounded-md border border-slate-300 px-3 py-1.5 text-sm dark:border-slate-700" href={exportUrl('packages', 'csv', params)}>Export CSV</a>
              <a className="rounded-md border border-slate-300 px-3 py-1.5 text-sm dark:border-slate-700" href={exportUrl('packages', 'json', params)}>Export JSON</a>
            </>
          ) : null
        }
      />
      <Card>
        <div className="mb-3 flex flex-wrap items-end gap-3">
          <SearchBox value={state.search} onChange={(search) => update({ search })} placeholder="Search package names" />
          <FilterSelect label="Needs update" value={state.filters.needs_update} onChange={(v) => update({ filters: { needs_update: v } })} options={ONLY} />
          <FilterSelect label="Security update" value={state.filters.security} onChange={(v) => update({ filters: { security: v } })} options={ONLY} />
        </div>
        {pkgs.isError ? <ErrorPanel title="Could not load packages" message={errorMessage(pkgs.error)} onRetry={() => void pkgs.refetch()} /> : null}
        <div className="overflow-x-auto">
          <table className={tableClass} aria-label="Packages">
            <thead>
              <tr>
                <SortHeader column="name" label="Package" state={state} onChange={update} />
                <th className={thClass}>Latest available</th>
                <SortHeader column="hosts" label="Hosts" state={state} onChange={update} className="text-right" />
                <SortHeader column="outdated_hosts" label="Need update" state={state} onChange={update} className="text-right" />
                <SortHeader column="security_hosts" label="Security" state={state} onChange={update} className="text-right" />
              </tr>
            </thead>
            <tbody className={`divide-y divide-slate-100 dark:divide-slate-800 ${pkgs.isPlaceholderData ? 'opacity-60' : ''}`}>
              {pkgs.isPending ? (
                <tr><td colSpan={5} className={tdClass}>Loading…</td></tr>
              ) : null}
              {pkgs.data?.packages.length === 0 ? (
                <tr><td colSpan={5} className={`${tdClass} text-center text-slate-500`}>No packages match.</td></tr>
              ) : null}
              {pkgs.data?.packages.map((p) => (
                <tr key={p.id}>
                  <td className={tdClass}>
                    <Link to={`/packages/${p.id}`} className="font-medium text-blue-700 hover:underline dark:text-blue-400">{p.name}</Link>
                    {p.description ? <div className="max-w-lg truncate text-xs text-slate-500">{p.description}</div> : null}
                  </td>
                  <td className={`${tdClass} font-mono text-xs`}>{p.latest_version ?? '—'}</td>
                  <td className={`${tdClass} text-right tabular-nums`}>{p.hosts}</td>
                  <td className={`${tdClass} text-right tabular-nums`}>{p.outdated_hosts > 0 ? <Badge color="amber">{p.outdated_hosts}</Badge> : 0}</td>
                  <td className={`${tdClass} text-right tabular-nums`}>{p.security_hosts > 0 ? <Badge color="red">{p.security_hosts}</Badge> : 0}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
        <Pager pagination={pkgs.data?.pagination} state={state} onChange={update} />
      </Card>
    </div>
  );
}
