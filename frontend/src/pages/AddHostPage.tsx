import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState, type SyntheticEvent } from 'react';
import { Link } from 'react-router';
import { createHost, getSettings, getWsStatus, listGroups } from '../api/fleet';
import { errorMessage } from '../api/errors';
import type { CreatedHost } from '../api/model';
import { useCan } from '../auth/session';
import { ErrorPanel } from '../components/ErrorPanel';
import { GroupChip } from '../components/hostBits';
import { Button, Card, CopyButton, Field, PageHeader } from '../components/ui';
import { installCommand } from '../hosts/install';

export default function AddHostPage() {
  const [name, setName] = useState('');
  const [groupIds, setGroupIds] = useState<string[]>([]);
  const [created, setCreated] = useState<CreatedHost | null>(null);
  const [error, setError] = useState<string | null>(null);
  const groups = useQuery({ queryKey: ['host-groups'], queryFn: ({ signal }) => listGroups(signal) });
  const queryClient = useQueryClient();
  const create = useMutation({
    mutationFn: () => createHost(name.trim(), groupIds),
    onSuccess: async (host) => {
      setCreated(host);
      await queryClient.invalidateQueries({ queryKey: ['hosts'] });
    },
    onError: (e) => setError(errorMessage(e)),
  });

  function submit(e: SyntheticEvent) {
    e.preventDefault();
    setError(null);
    create.mutate();
  }

  if (created) return <Credentials host={created} />;

  return (
    <div className="max-w-2xl">
      <PageHeader title="Add host" subtitle="Create the host here, then run the install command on it." />
      <Card>
        <form onSubmit={submit} className="space-y-4">
          <Field label="Friendly name" value={name} onChange={(e) => setName(e.target.value)} maxLength={255} required autoFocus />
          <fieldset>
            <legend className="text-sm font-medium">Groups</legend>
            {groups.data?.length === 0 ? <p className="text-sm text-slate-500">No groups yet.</p> : null}
            <div className="mt-1 flex flex-wrap gap-3">
              {groups.data?.map((g) => (
                <label key={g.id} className="flex items-center gap-1.5 text-sm">
                  <input
                    type="checkbox"
                    checked={groupIds.includes(g.id)}
                    onChange={(e) => setGroupIds(e.target.checked ? [...groupIds, g.id] : groupIds.filter((x) => x !== g.id))}
                  />
                  <GroupChip group={g} />
                </label>
              ))}
            </div>
          </fieldset>
          {error ? <ErrorPanel title="Could not create the host" message={error} /> : null}
          <div className="flex gap-2">
            <Button type="submit" variant="primary" disabled={create.isPending || name.trim() === ''}>
              {create.isPending ? 'Creating…' : 'Create host'}
            </Button>
            <Link to="/hosts" className="rounded-md px-3 py-1.5 text-sm hover:underline">
              Cancel
            </Link>
          </div>
        </form>
      </Card>
    </div>
  );
}

export function Credentials({ host }: { host: CreatedHost }) {
  const canSettings = useCan('can_manage_settings');
  const settings = useQuery({ queryKey: ['settings'], queryFn: getSettings, enabled: canSettings });
  // The configured server URL is what agents must reach; without access to it, this page's origin.
  const serverUrl = settings.data?.server_url ?? window.location.origin;
  const command = installCommand(serverUrl, host.api_id, host.api_key);
  const status = useQuery({
    queryKey: ['ws-status', host.api_id],
    queryFn: ({ signal }) => getWsStatus(host.api_id, signal),
    refetchInterval: (q) => (q.state.data?.connected ? false : 2000),
    retry: false,
  });
  const connected = status.data?.connected === true;
  return (
    <div className="max-w-3xl space-y-4">
      <PageHeader title={`Host ${host.friendly_name} created`} />
      <div role="alert" className="rounded-lg border border-amber-300 bg-amber-50 p-3 text-sm text-amber-900 dark:border-amber-800 dark:bg-amber-950/50 dark:text-amber-100">
        The API key is shown only now. Copy it or run the command before you leave this page.
      </div>
      <Card title="Credentials">
        <dl className="grid grid-cols-[8rem_1fr_auto] items-center gap-2 text-sm">
          <dt className="font-medium">API ID</dt>
          <dd className="break-all font-mono" data-testid="api-id">{host.api_id}</dd>
          <dd><CopyButton text={host.api_id} label="Copy API ID" /></dd>
          <dt className="font-medium">API key</dt>
          <dd className="break-all font-mono" data-testid="api-key">{host.api_key}</dd>
          <dd><CopyButton text={host.api_key} label="Copy API key" /></dd>
        </dl>
      </Card>
      <Card title="Install command" actions={<CopyButton text={command} label="Copy command" />}>
        <p className="mb-2 text-sm text-slate-600 dark:text-slate-400">Run as root on the host:</p>
        <pre className="overflow-x-auto rounded bg-slate-900 p-3 text-xs text-slate-100" data-testid="install-command">{command}</pre>
        {!settings.data ? (
          <p className="mt-2 text-xs text-slate-500">Uses this page&apos;s address ({serverUrl}); an administrator can set the server URL agents use under Settings.</p>
        ) : null}
      </Card>
      <Card title="Agent connection">
        <div role="status" aria-live="polite" className="flex items-center gap-3 text-sm">
          {connected ? (
            <>
              <span className="inline-block h-3 w-3 rounded-full bg-emerald-500" />
              <span>
                Connected{status.data?.agent_version ? ` (agent ${status.data.agent_version})` : ''}.
              </span>
            </>
          ) : (
            <>
              <span className="inline-block h-3 w-3 animate-pulse rounded-full bg-amber-500" />
              <span>Waiting for connection…</span>
            </>
          )}
        </div>
        {status.isError ? <p className="mt-2 text-xs text-red-600">Could not check the connection: {errorMessage(status.error)} (retrying)</p> : null}
        <div className="mt-4">
          <Link to={`/hosts/${host.id}`} className="text-sm font-medium text-blue-700 hover:underline dark:text-blue-400">
            Open the host
          </Link>
        </div>
      </Card>
    </div>
  );
}
