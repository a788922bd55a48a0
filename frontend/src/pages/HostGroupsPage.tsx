import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { Link } from 'react-router';
import { createGroup, deleteGroup, getGroup, listGroups, updateGroup } from '../api/fleet';
import { errorMessage } from '../api/errors';
import type { HostGroup } from '../api/model';
import { useCan } from '../auth/session';
import { ErrorPanel } from '../components/ErrorPanel';
import { osLabel } from '../components/format';
import { GroupChip, StatusBadge } from '../components/hostBits';
import { Button, Card, ConfirmDialog, Field, Loading, Modal, PageHeader, tableClass, tdClass, thClass } from '../components/ui';
import { useToast } from '../toast/context';

const DEFAULT_COLOR = '#3B82F6';

export default function HostGroupsPage() {
  const groups = useQuery({ queryKey: ['host-groups'], queryFn: ({ signal }) => listGroups(signal) });
  const canManage = useCan('can_manage_hosts');
  const [editing, setEditing] = useState<HostGroup | 'new' | null>(null);
  const [deleting, setDeleting] = useState<HostGroup | null>(null);
  return (
    <div>
      <PageHeader
        title="Host groups"
        subtitle="Groups organise hosts and can limit what a role sees."
        actions={canManage ? <Button variant="primary" onClick={() => setEditing('new')}>New group</Button> : null}
      />
      {groups.isPending ? <Loading /> : null}
      {groups.isError ? <ErrorPanel title="Could not load groups" message={errorMessage(groups.error)} onRetry={() => void groups.refetch()} /> : null}
      {groups.data ? (
        <Card>
          <table className={tableClass} aria-label="Host groups">
            <thead>
              <tr>
                <th className={thClass}>Group</th>
                <th className={thClass}>Description</th>
                <th className={`${thClass} text-right`}>Hosts</th>
                {canManage ? <th className={thClass}><span className="sr-only">Actions</span></th> : null}
              </tr>
            </thead>
            <tbody className="divide-y divide-slate-100 dark:divide-slate-800">
              {groups.data.length === 0 ? (
                <tr>
                  <td colSpan={4} className={`${tdClass} text-slate-500`}>No groups yet.</td>
                </tr>
              ) : null}
              {groups.data.map((g) => (
                <tr key={g.id}>
                  <td className={tdClass}><GroupChip group={g} /></td>
                  <td className={tdClass}>{g.description ?? ''}</td>
                  <td className={`${tdClass} text-right tabular-nums`}>
                    <Link to={`/hosts?group_id=${g.id}`} className="text-blue-700 hover:underline dark:text-blue-400">{g.host_count}</Link>
                  </td>
                  {canManage ? (
                    <td className={`${tdClass} text-right`}>
                      <Button variant="ghost" onClick={() => setEditing(g)}>Edit</Button>
                      <Button variant="ghost" onClick={() => setDeleting(g)}>Delete</Button>
                    </td>
                  ) : null}
                </tr>
              ))}
            </tbody>
          </table>
        </Card>
      ) : null}
      {editing ? <GroupForm group={editing === 'new' ? null : editing} onClose={() => setEditing(null)} /> : null}
      {deleting ? <DeleteGroup group={deleting} onClose={() => setDeleting(null)} /> : null}
    </div>
  );
}

function GroupForm({ group, onClose }: { group: HostGroup | null; onClose: () => void }) {
  const [name, setName] = useState(group?.name ?? '');
  const [description, setDescription] = useState(group?.description ?? '');
  const [color, setColor] = useState(group?.color ?? DEFAULT_COLOR);
  const [error, setError] = useState<string | null>(null);
  const queryClient = useQueryClient();
  const toast = useToast();
  const save = useMutation({
    mutationFn: () => {
      const input = { name: name.trim(), description, color };
      return group ? updateGroup(group.id, input) : createGroup(input);
    },
    onSuccess: async () => {
      toast.show({ kind: 'success', message: group ? 'Group saved' : 'Group created' });
      await queryClient.invalidateQueries({ queryKey: ['host-groups'] });
      await queryClient.invalidateQueries({ queryKey: ['hosts'] });
      onClose();
    },
    onError: (e) => setError(errorMessage(e)),
  });
  return (
    <Modal title={group ? `Edit ${group.name}` : 'New group'} onClose={onClose}>
      <form
        className="space-y-3"
        onSubmit={(e) => {
          e.preventDefault();
          save.mutate();
        }}
      >
        <Field label="Name" value={name} onChange={(e) => setName(e.target.value)} maxLength={100} required autoFocus />
        <Field label="Description" value={description} onChange={(e) => setDescription(e.target.value)} maxLength={1000} />
        <label className="flex items-center gap-3 text-sm font-medium">
          Colour
          <input type="color" aria-label="Colour" value={color} onChange={(e) => setColor(e.target.value)} className="h-8 w-12 cursor-pointer rounded border border-slate-300" />
          <GroupChip group={{ name: name || 'preview', color }} />
        </label>
        {error ? <ErrorPanel title="Could not save" message={error} /> : null}
        <div className="flex justify-end gap-2">
          <Button onClick={onClose}>Cancel</Button>
          <Button type="submit" variant="primary" disabled={save.isPending || name.trim() === ''}>Save</Button>
        </div>
      </form>
    </Modal>
  );
}

function DeleteGroup({ group, onClose }: { group: HostGroup; onClose: () => void }) {
  const detail = useQuery({ queryKey: ['host-group', group.id], queryFn: () => getGroup(group.id) });
  const queryClient = useQueryClient();
  const toast = useToast();
  const remove = useMutation({
    mutationFn: () => deleteGroup(group.id),
    onSuccess: async (r) => {
      toast.show({ kind: 'success', message: `Group deleted; ${r.hosts_detached} host(s) left it` });
      await queryClient.invalidateQueries({ queryKey: ['host-groups'] });
      await queryClient.invalidateQueries({ queryKey: ['hosts'] });
      onClose();
    },
    onError: (e) => toast.show({ kind: 'error', message: errorMessage(e) }),
  });
  const hosts = detail.data?.hosts ?? [];
  return (
    <ConfirmDialog title={`Delete group ${group.name}?`} confirmLabel="Delete group" busy={remove.isPending || detail.isPending} onCancel={onClose} onConfirm={() => remove.mutate()}>
      {detail.isPending ? <Loading label="Looking up its hosts…" /> : null}
      {detail.isError ? <p className="text-red-600">Could not list its hosts: {errorMessage(detail.error)}</p> : null}
      {detail.data ? (
        hosts.length === 0 ? (
          <p>No host is in this group.</p>
        ) : (
          <>
            <p>
              These {hosts.length} host(s) stay, but leave the group (and any role limited to it loses them):
            </p>
            <ul className="max-h-48 overflow-y-auto rounded border border-slate-200 p-2 dark:border-slate-700" aria-label="Affected hosts">
              {hosts.map((h) => (
                <li key={h.id} className="flex justify-between gap-2">
                  <span>{h.friendly_name}</span>
                  <span className="text-xs text-slate-500">{osLabel(h)} <StatusBadge status={h.effective_status} /></span>
                </li>
              ))}
            </ul>
          </>
        )
      ) : null}
    </ConfirmDialog>
  );
}
