import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { deleteRole, listRoles, saveRole } from '../api/auth';
import { errorMessage } from '../api/errors';
import { PERMISSIONS, type Permission, type RolePermissions } from '../api/types';
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

  function value(r: RolePermissions, p: Permission): boolean {
    return draft[r.role]?.[p] ?? r[p];
  }
  function toggle(r: RolePermissions, p: Permission) {
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
              </tbody>
            </table>
          </div>
          <p className="mt-3 text-xs text-slate-500">The superadmin role is fixed. Built-in roles cannot be deleted; a role still assigned to a user cannot be deleted.</p>
        </Card>
      ) : null}
      {creating ? <NewRole onClose={() => setCreating(false)} /> : null}
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
