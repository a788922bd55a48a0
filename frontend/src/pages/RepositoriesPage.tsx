import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { Link } from 'react-router';
import { listRepositories } from '../api/fleet';
import { errorMessage } from '../api/errors';
import { ErrorPanel } from '../components/ErrorPanel';
import { Badge, Card, PageHeader, tableClass, tdClass, thClass } from '../components/ui';
import { FilterSelect, Pager, SearchBox, SortHeader } from '../table/TableParts';
import { YES_NO, apiParams, useTableState, type TableSpec } from '../table/urlState';

const REPOS_TABLE: TableSpec = { sorts: ['name', 'hosts', 'repo_type'], defaultSort: 'name', filters: ['is_secure', 'is_active'], defaultLimit: 50 };

export default function RepositoriesPage() {
  const [state, update] = useTableState(REPOS_TABLE);
  const params = apiParams(state);
  const repos = useQuery({ queryKey: ['repositories', params], queryFn: ({ signal }) => listRepositories(params, signal), placeholderData: keepPreviousData });
  return (
    <div>
      <PageHeader title="Repositories" subtitle="Package sources your hosts use." />
      <Card>
        <div className="mb-3 flex flex-wrap items-end gap-3">
          <SearchBox value={state.search} onChange={(search) => update({ search })} placeholder="Search name or URL" />
          <FilterSelect label="HTTPS" value={state.filters.is_secure} onChange={(v) => update({ filters: { is_secure: v } })} options={YES_NO} />
          <FilterSelect label="Active" value={state.filters.is_active} onChange={(v) => update({ filters: { is_active: v } })} options={YES_NO} />
        </div>
        {repos.isError ? <ErrorPanel title="Could not load repositories" message={errorMessage(repos.error)} onRetry={() => void repos.refetch()} /> : null}
        <div className="overflow-x-auto">
          <table className={tableClass} aria-label="Repositories">
            <thead>
              <tr>
                <SortHeader column="name" label="Name" state={state} onChange={update} />
                <th className={thClass}>URL</th>
                <th className={thClass}>Distribution</th>
                <SortHeader column="repo_type" label="Type" state={state} onChange={update} />
                <SortHeader column="hosts" label="Hosts" state={state} onChange={update} className="text-right" />
                <th className={thClass}>Flags</th>
              </tr>
            </thead>
            <tbody className="divide-y divide-slate-100 dark:divide-slate-800">
              {repos.data?.repositories.length === 0 ? (
                <tr><td colSpan={6} className={`${tdClass} text-center text-slate-500`}>No repositories match.</td></tr>
              ) : null}
              {repos.data?.repositories.map((r) => (
                <tr key={r.id}>
                  <td className={tdClass}>
                    <Link to={`/repositories/${r.id}`} className="font-medium text-blue-700 hover:underline dark:text-blue-400">{r.name}</Link>
                  </td>
                  <td className={`${tdClass} max-w-xs break-all font-mono text-xs`}>{r.url}</td>
                  <td className={tdClass}>{[r.distribution, r.components].filter(Boolean).join(' ')}</td>
                  <td className={tdClass}>{r.repo_type}</td>
                  <td className={`${tdClass} text-right tabular-nums`}>
                    {r.hosts}
                    {r.enabled_hosts !== r.hosts ? <span className="text-xs text-slate-500"> ({r.enabled_hosts} enabled)</span> : null}
                  </td>
                  <td className={tdClass}>
                    {r.is_secure ? <Badge color="blue">https</Badge> : <Badge color="amber">http</Badge>} {r.is_active ? null : <Badge>inactive</Badge>}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
        <Pager pagination={repos.data?.pagination} state={state} onChange={update} />
      </Card>
    </div>
  );
}
