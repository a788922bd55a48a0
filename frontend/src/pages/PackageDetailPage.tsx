import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { Link, useParams } from 'react-router';
import { getPackage } from '../api/fleet';
import { ApiError, errorMessage } from '../api/errors';
import { ErrorPanel } from '../components/ErrorPanel';
import { osLabel } from '../components/format';

import { Badge, Card, Loading, PageHeader, tableClass, tdClass, thClass } from '../components/ui';
import { FilterSelect, Pager } from '../table/TableParts';
import { useTableState, type TableSpec } from '../table/urlState';

const PACKAGE_HOSTS_TABLE: TableSpec = { sorts: [], defaultSort: '', filters: ['needs_update'], defaultLimit: 50 };

export default function PackageDetailPage() {
  const { packageId = '' } = useParams();
  const [state, update] = useTableState(PACKAGE_HOSTS_TABLE);
  const params = { page: state.page, limit: state.limit, ...state.filters };
  const pkg = useQuery({ queryKey: ['package', packageId, params], queryFn: () => getPackage(packageId, params), placeholderData: keepPreviousData });
  if (pkg.isPending) return <Loading />;
  if (pkg.isError) {
    const notFound = pkg.error instanceof ApiError && pkg.error.status === 404;
    return <ErrorPanel title={notFound ? 'Package not found' : 'Could not load the package'} message={notFound ? 'No host you can see has it installed.' : errorMessage(pkg.error)} />;
  }
  const p = pkg.data;
  const maxVersion = Math.max(1, ...p.versions.map((v) => v.hosts));
  return (
    <div className="space-y-4">
      <PageHeader title={p.name} subtitle={p.description ?? undefined} />
      <div className="grid gap-4 md:grid-cols-4">
        <Stat label="Hosts" value={p.host_count} />
        <Stat label="Need the update" value={p.outdated_hosts} tone="text-amber-600" />
        <Stat label="Security update" value={p.security_hosts} tone="text-red-600" />
        <Card>
          <div className="text-xs uppercase tracking-wide text-slate-500">Latest available</div>
          <div className="mt-1 break-all font-mono text-sm">{p.latest_version ?? '—'}</div>
        </Card>
      </div>
      <Card title="Installed versions">
        <ul className="space-y-2 text-sm" aria-label="Installed versions">
          {p.versions.map((v) => (
            <li key={v.version}>
              <div className="flex justify-between font-mono text-xs">
                <span>{v.version || 'unknown'}</span>
                <span className="tabular-nums">{v.hosts} host{v.hosts === 1 ? '' : 's'}</span>
              </div>
              <div className="mt-1 h-1.5 rounded bg-slate-100 dark:bg-slate-800">
                <div className="h-1.5 rounded bg-blue-500" style={{ width: `${(v.hosts / maxVersion) * 100}%` }} />
              </div>
            </li>
          ))}
        </ul>
      </Card>
      <Card title="Hosts with this package" actions={<FilterSelect label="Needs update" value={state.filters.needs_update} onChange={(v) => update({ filters: { needs_update: v } })} options={[{ value: 'true', label: 'Only these' }]} />}>
        <div className="overflow-x-auto">
          <table className={tableClass} aria-label="Hosts with this package">
            <thead>
              <tr>
                <th className={thClass}>Host</th>
                <th className={thClass}>OS</th>
                <th className={thClass}>Installed</th>
                <th className={thClass}>Available</th>
                <th className={thClass}>State</th>
              </tr>
            </thead>
            <tbody className="divide-y divide-slate-100 dark:divide-slate-800">
              {p.hosts.map((h) => (
                <tr key={h.host_id}>
                  <td className={tdClass}>
                    <Link to={`/hosts/${h.host_id}?tab=packages&search=${encodeURIComponent(p.name)}`} className="font-medium text-blue-700 hover:underline dark:text-blue-400">{h.friendly_name}</Link>
                    {h.hostname ? <div className="text-xs text-slate-500">{h.hostname}</div> : null}
                  </td>
                  <td className={tdClass}>{osLabel(h)}</td>
                  <td className={`${tdClass} font-mono text-xs`}>{h.current_version || '—'}</td>
                  <td className={`${tdClass} font-mono text-xs`}>{h.needs_update ? (h.available_version ?? '—') : ''}</td>
                  <td className={tdClass}>
                    {h.needs_update ? <Badge color={h.is_security_update ? 'red' : 'amber'}>{h.is_security_update ? 'security update' : 'update'}</Badge> : <Badge color="green">current</Badge>}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
        <Pager pagination={p.pagination} state={state} onChange={update} />
      </Card>
    </div>
  );
}

function Stat({ label, value, tone = '' }: { label: string; value: number | null; tone?: string }) {
  return (
    <Card>
      <div className="text-xs uppercase tracking-wide text-slate-500">{label}</div>
      <div className={`mt-1 text-2xl font-semibold tabular-nums ${value ? tone : ''}`}>{value ?? '—'}</div>
    </Card>
  );
}
