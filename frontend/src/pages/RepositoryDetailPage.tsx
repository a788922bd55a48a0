import { useQuery } from '@tanstack/react-query';
import { Link, useParams } from 'react-router';
import { getRepository } from '../api/fleet';
import { ApiError, errorMessage } from '../api/errors';
import { ErrorPanel } from '../components/ErrorPanel';
import { formatDate, osLabel } from '../components/format';
import { StatusBadge } from '../components/hostBits';
import { Badge, Card, Loading, PageHeader, tableClass, tdClass, thClass } from '../components/ui';

export default function RepositoryDetailPage() {
  const { repositoryId = '' } = useParams();
  const repo = useQuery({ queryKey: ['repository', repositoryId], queryFn: () => getRepository(repositoryId) });
  if (repo.isPending) return <Loading />;
  if (repo.isError) {
    const notFound = repo.error instanceof ApiError && repo.error.status === 404;
    return <ErrorPanel title={notFound ? 'Repository not found' : 'Could not load the repository'} message={notFound ? 'No host you can see uses it.' : errorMessage(repo.error)} />;
  }
  const r = repo.data;
  return (
    <div className="space-y-4">
      <PageHeader title={r.name} subtitle={<span className="break-all font-mono">{r.url}</span>} />
      <Card title="Repository">
        <dl className="grid grid-cols-[10rem_1fr] gap-y-1.5 text-sm">
          <dt className="text-slate-500">Distribution</dt>
          <dd>{r.distribution || '—'}</dd>
          <dt className="text-slate-500">Components</dt>
          <dd>{r.components || '—'}</dd>
          <dt className="text-slate-500">Type</dt>
          <dd>{r.repo_type || '—'}</dd>
          <dt className="text-slate-500">Flags</dt>
          <dd>
            {r.is_secure ? <Badge color="blue">https</Badge> : <Badge color="amber">http</Badge>} {r.is_active ? <Badge color="green">active</Badge> : <Badge>inactive</Badge>}
          </dd>
          <dt className="text-slate-500">First seen</dt>
          <dd>{formatDate(r.created_at)}</dd>
        </dl>
      </Card>
      <Card title={`Hosts using it (${r.host_list.length})`}>
        <table className={tableClass} aria-label="Hosts using this repository">
          <thead>
            <tr>
              <th className={thClass}>Host</th>
              <th className={thClass}>OS</th>
              <th className={thClass}>Status</th>
              <th className={thClass}>Enabled</th>
            </tr>
          </thead>
          <tbody className="divide-y divide-slate-100 dark:divide-slate-800">
            {r.host_list.map((h) => (
              <tr key={h.host_id}>
                <td className={tdClass}>
                  <Link to={`/hosts/${h.host_id}?tab=repositories`} className="font-medium text-blue-700 hover:underline dark:text-blue-400">{h.friendly_name}</Link>
                </td>
                <td className={tdClass}>{osLabel(h)}</td>
                <td className={tdClass}><StatusBadge status={h.effective_status} /></td>
                <td className={tdClass}>{h.is_enabled ? 'yes' : 'no'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </Card>
    </div>
  );
}
