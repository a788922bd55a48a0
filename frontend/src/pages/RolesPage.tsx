import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { deleteRole, listRoles, saveRole } from '../api/auth';
import { listGroups } from '../api/fleet';
import { GroupChip } from '../components/hostBits';
import { errorMessage } from '../api/errors';
import { PERMISSIONS, type Permission, type RoleWithScope } from '../api/model';
import { ErrorPanel } from '../components/ErrorPanel';
import { Button, Card, ConfirmDialog, Field, Loading, Modal, PageHeader, thClass } from '../components/ui';
import { useToast } from '../toast/context';

function label(p: Permission): string {
  return p.replace(/^can_/, '').replace(/_/g, ' ');
}

/** Changed flags per role, on top of what the server has. */
type Draft = Record<string, Partial<Record<Permission, boolean>>>;

export default function RolesPage() {
  const roles = useQuery({ queryKey: ['roles'], queryFn: listRoles });
  const [draft, setDraft] = useState<Draft>({});
  const [creating, setCreating] = useState(false);
  const [deleting, setDeleting] = useState<string | null>(null);
  const [scoping, setScoping] = useState<RoleWithScope | null>(null);
  const groups = useQuery({ queryKey: ['host-groups'], queryFn: ({ signal }) => listGroups(signal) });
  const queryClient = useQueryClient();
  const toast = useToast();

  const save = useMutation({
    mutationFn: async (d: Draft) => {
      for (const [role, flags] of Object.entries(d)) await saveRole(role, flags);
    },
    onSuccess: async () => {
      toast.show({ kind: 'success', message: 'Permissions saved' });
      setDraft({});
      await queryClient.invalidateQueries({ queryKey: ['roles'] });
    },
    onError: (e) => toast.show({ kind: 'error', message: `Could not save: ${errorMessage(e)}` }),
  });
  const remove = useMutation({
    mutationFn: (role: string) => deleteRole(role),
    onSuccess: async () => {
      toast.show({ kind: 'success', message: 'Role deleted' });
      setDeleting(null);
      await queryClient.invalidateQueries({ queryKey: ['roles'] });
    },
    onError: (e) => {
      setDeleting(null);
      toast.show({ kind: 'error', message: errorMessage(e) });
    },
  });

  function value(r: RoleWithScope, p: Permission): boolean {
    return draft[r.role]?.[p] ?? r[p];
  }
  function toggle(r: RoleWithScope, p: Permission) {
    const next = !value(r, p);
    const flags = Object.fromEntries(Object.entries({ ...draft[r.role], [p]: next }).filter(([k, v]) => !(k === p && v === r[p])));
    const d = Object.fromEntries(Object.entries({ ...draft, [r.role]: flags }).filter(([, f]) => Object.keys(f).length > 0));
    setDraft(d);
  }
  const changes = Object.values(draft).reduce((n, f) => n + Object.keys(f).length, 0);

  return (
    <div>
      <PageHeader
        title="Roles"
        subtitle="What each role may do. Changes apply on the users' next request."
        actions={
          <>
            <Button onClick={() => setCreating(true)}>New role</Button>
            <Button onClick={() => setDraft({})} disabled={changes === 0}>Discard</Button>
            <Button variant="primary" onClick={() => save.mutate(draft)} disabled={changes === 0 || save.isPending}>
              {changes === 0 ? 'No changes' : `Save ${changes} change${changes === 1 ? '' : 's'}`}
            </Button>
          </>
        }
      />
      {roles.isPending ? <Loading /> : null}
      {roles.isError ? <ErrorPanel title="Could not load roles" message={errorMessage(roles.error)} onRetry={() => void roles.refetch()} /> : null}
      {roles.data ? (
        <Card>
          <div className="overflow-x-auto">
            <table className="min-w-full text-sm" aria-label="Permission matrix">
              <thead>
                <tr>
                  <th className={thClass}>Permission</th>
                  {roles.data.map((r) => (
                    <th key={r.role} className={`${thClass} text-center`}>
                      <div>{r.role}</div>
                      {!r.is_builtin ? (
                        <button type="button" className="mt-1 text-xs font-normal normal-case text-red-600 hover:underline" onClick={() => setDeleting(r.role)}>
                          delete
                        </button>
                      ) : null}
                    </th>
                  ))}
                </tr>
              </thead>
              <tbody className="divide-y divide-slate-100 dark:divide-slate-800">
                {PERMISSIONS.map((p) => (
                  <tr key={p}>
                    <th scope="row" className="px-3 py-1.5 text-left font-normal capitalize">{label(p)}</th>
                    {roles.data.map((r) => {
                      const changed = draft[r.role]?.[p] !== undefined;
                      return (
                        <td key={r.role} className={`px-3 py-1.5 text-center ${changed ? 'bg-amber-50 dark:bg-amber-950/40' : ''}`}>
                          <input
                            type="checkbox"
                            aria-label={`${r.role}: ${label(p)}`}
                            checked={value(r, p)}
                            disabled={r.role === 'superadmin'}
                            onChange={() => toggle(r, p)}
                          />
                        </td>
                      );
                    })}
                  </tr>
                ))}
                <tr>
                  <th scope="row" className="px-3 py-1.5 text-left font-normal">Host groups (scope)</th>
                  {roles.data.map((r) => {
                    const ids = r.host_group_ids;
                    const names = ids.map((id) => groups.data?.find((g) => g.id === id)?.name ?? '?');
                    return (
                      <td key={r.role} className="px-3 py-1.5 text-center text-xs">
                        <div>{ids.length === 0 ? 'all hosts' : names.join(', ')}</div>
                        {r.role !== 'superadmin' ? (
                          <button type="button" className="text-blue-700 hover:underline dark:text-blue-400" onClick={() => setScoping(r)} aria-label={`Edit the host groups of ${r.role}`}>
                            edit
                          </button>
                        ) : null}
                      </td>
                    );
                  })}
                </tr>
              </tbody>
            </table>
          </div>
          <p className="mt-3 text-xs text-slate-500">A role limited to host groups sees only hosts in those groups. The superadmin role is fixed. Built-in roles cannot be deleted; a role still assigned to a user cannot be deleted.</p>
        </Card>
      ) : null}
      {creating ? <NewRole onClose={() => setCreating(false)} /> : null}
      {scoping ? <ScopeDialog role={scoping} groups={groups.data ?? []} onClose={() => setScoping(null)} /> : null}
      {deleting ? (
        <ConfirmDialog title={`Delete role ${deleting}?`} confirmLabel="Delete role" busy={remove.isPending} onCancel={() => setDeleting(null)} onConfirm={() => remove.mutate(deleting)}>
          <p>Only a role that no user has can be deleted.</p>
        </ConfirmDialog>
      ) : null}
    </div>
  );
}

function NewRole({ onClose }: { onClose: () => void }) {
  const [name, setName] = useState('');
  const [description, setDescription] = useState('');
  const [error, setError] = useState<string | null>(null);
  const queryClient = useQueryClient();
  const toast = useToast();
  const create = useMutation({
    mutationFn: () => saveRole(name, { description, can_view_dashboard: true }),
    onSuccess: async () => {
      toast.show({ kind: 'success', message: `Role ${name} created` });
      await queryClient.invalidateQueries({ queryKey: ['roles'] });
      onClose();
    },
    onError: (e) => setError(errorMessage(e)),
  });
  return (
    <Modal title="New role" onClose={onClose}>
      <form
        className="space-y-3"
        onSubmit={(e) => {
          e.preventDefault();
          create.mutate();
        }}
      >
        <Field label="Name" hint="Lowercase letters, digits and _" value={name} onChange={(e) => setName(e.target.value)} pattern="[a-z0-9_]{2,50}" required />
        <Field label="Description" value={description} onChange={(e) => setDescription(e.target.value)} />
        {error ? <ErrorPanel title="Could not create" message={error} /> : null}
        <div className="flex justify-end gap-2">
          <Button onClick={onClose}>Cancel</Button>
          <Button type="submit" variant="primary" disabled={create.isPending}>Create</Button>
        </div>
      </form>
    </Modal>
  );
}

function ScopeDialog({ role, groups, onClose }: { role: RoleWithScope; groups: { id: string; name: string; color: string }[]; onClose: () => void }) {
  const [selected, setSelected] = useState<string[]>(role.host_group_ids);
  const [error, setError] = useState<string | null>(null);
  const queryClient = useQueryClient();
  const toast = useToast();
  const save = useMutation({
    mutationFn: () => saveRole(role.role, { host_group_ids: selected }),
    onSuccess: async () => {
      toast.show({ kind: 'success', message: `Host groups of ${role.role} saved` });
      await queryClient.invalidateQueries({ queryKey: ['roles'] });
      onClose();
    },
    onError: (e) => setError(errorMessage(e)),
  });
  return (
    <Modal title={`Host groups of ${role.role}`} onClose={onClose}>
      <p className="mb-3 text-sm text-slate-600 dark:text-slate-400">No group selected: the role sees every host. Otherwise it sees only hosts in the selected groups.</p>
      {groups.length === 0 ? <p className="text-sm text-slate-500">No host groups exist yet.</p> : null}
      <div className="flex flex-wrap gap-3">
        {groups.map((g) => (
          <label key={g.id} className="flex items-center gap-1.5 text-sm">
            <input type="checkbox" checked={selected.includes(g.id)} onChange={(e) => setSelected(e.target.checked ? [...selected, g.id] : selected.filter((x) => x !== g.id))} />
            <GroupChip group={g} />
          </label>
        ))}
      </div>
      {error ? <div className="mt-3"><ErrorPanel title="Could not save" message={error} /></div> : null}
      <div className="mt-4 flex justify-end gap-2">
        <Button onClick={onClose}>Cancel</Button>
        <Button variant="primary" onClick={() => save.mutate()} disabled={save.isPending}>Save</Button>
      </div>
    </Modal>
  );
}
