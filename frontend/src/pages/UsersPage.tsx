import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState, type SyntheticEvent } from 'react';
import { createUser, deleteUser, listRoles, listUsers, resetUserPassword, updateUser } from '../api/auth';
import { errorMessage } from '../api/errors';
import type { UpdateUserBody, User } from '../api/model';
import { displayName, useCan, useMe } from '../auth/session';
import { ErrorPanel } from '../components/ErrorPanel';
import { formatRelative } from '../components/format';
import { Badge, Button, Card, ConfirmDialog, Field, Loading, Modal, PageHeader, inputClass, tableClass, tdClass, thClass } from '../components/ui';
import { useToast } from '../toast/context';

type Editing = { mode: 'create' } | { mode: 'edit'; user: User } | { mode: 'password'; user: User } | { mode: 'delete'; user: User } | null;

export default function UsersPage() {
  const users = useQuery({ queryKey: ['users'], queryFn: listUsers });
  const canManage = useCan('can_manage_users');
  const canSeeRoles = useCan('can_manage_settings');
  const roles = useQuery({ queryKey: ['roles'], queryFn: listRoles, enabled: canManage && canSeeRoles });
  const me = useMe();
  const [editing, setEditing] = useState<Editing>(null);
  const queryClient = useQueryClient();
  const toast = useToast();

  const remove = useMutation({
    mutationFn: (id: string) => deleteUser(id),
    onSuccess: async () => {
      toast.show({ kind: 'success', message: 'User deleted' });
      setEditing(null);
      await queryClient.invalidateQueries({ queryKey: ['users'] });
    },
    onError: (e) => toast.show({ kind: 'error', message: errorMessage(e) }),
  });

  // Without can_manage_settings the role list is not readable; offer the built-in names.
  const roleNames = roles.data?.map((r) => r.role) ?? ['superadmin', 'admin', 'host_manager', 'user', 'readonly'];

  return (
    <div>
      <PageHeader
        title="Users"
        subtitle="Accounts that can sign in to this server."
        actions={canManage ? <Button variant="primary" onClick={() => setEditing({ mode: 'create' })}>Add user</Button> : null}
      />
      {users.isPending ? <Loading /> : null}
      {users.isError ? <ErrorPanel title="Could not load users" message={errorMessage(users.error)} onRetry={() => void users.refetch()} /> : null}
      {users.data ? (
        <Card>
          <div className="overflow-x-auto">
            <table className={tableClass}>
              <thead>
                <tr>
                  <th className={thClass}>User</th>
                  <th className={thClass}>Email</th>
                  <th className={thClass}>Role</th>
                  <th className={thClass}>Status</th>
                  <th className={thClass}>Last login</th>
                  {canManage ? <th className={thClass}><span className="sr-only">Actions</span></th> : null}
                </tr>
              </thead>
              <tbody className="divide-y divide-slate-100 dark:divide-slate-800">
                {users.data.map((u) => (
                  <tr key={u.id}>
                    <td className={tdClass}>
                      <div className="font-medium">{u.username}</div>
                      <div className="text-xs text-slate-500">{displayName(u)}</div>
                    </td>
                    <td className={tdClass}>{u.email}</td>
                    <td className={tdClass}>{u.role}</td>
                    <td className={tdClass}>
                      {u.is_active ? <Badge color="green">active</Badge> : <Badge color="red">disabled</Badge>}{' '}
                      {u.tfa_enabled ? <Badge color="blue">2FA</Badge> : null}
                    </td>
                    <td className={tdClass}>{formatRelative(u.last_login)}</td>
                    {canManage ? (
                      <td className={`${tdClass} whitespace-nowrap text-right`}>
                        <Button variant="ghost" onClick={() => setEditing({ mode: 'edit', user: u })}>Edit</Button>
                        <Button variant="ghost" onClick={() => setEditing({ mode: 'password', user: u })}>Reset password</Button>
                        {u.id !== me.id ? (
                          <Button variant="ghost" onClick={() => setEditing({ mode: 'delete', user: u })}>Delete</Button>
                        ) : null}
                      </td>
                    ) : null}
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </Card>
      ) : null}
      {editing?.mode === 'create' || editing?.mode === 'edit' ? (
        <UserForm user={editing.mode === 'edit' ? editing.user : null} roleNames={roleNames} onClose={() => setEditing(null)} isSelf={editing.mode === 'edit' && editing.user.id === me.id} />
      ) : null}
      {editing?.mode === 'password' ? <ResetPassword user={editing.user} onClose={() => setEditing(null)} /> : null}
      {editing?.mode === 'delete' ? (
        <ConfirmDialog
          title={`Delete ${editing.user.username}?`}
          confirmLabel="Delete user"
          busy={remove.isPending}
          onCancel={() => setEditing(null)}
          onConfirm={() => remove.mutate(editing.user.id)}
        >
          <p>The account and its sessions are removed. This cannot be undone.</p>
        </ConfirmDialog>
      ) : null}
    </div>
  );
}

function UserForm({ user, roleNames, onClose, isSelf }: { user: User | null; roleNames: string[]; onClose: () => void; isSelf: boolean }) {
  const [form, setForm] = useState({
    username: user?.username ?? '',
    email: user?.email ?? '',
    first_name: user?.first_name ?? '',
    last_name: user?.last_name ?? '',
    role: user?.role ?? 'user',
    is_active: user?.is_active ?? true,
    password: '',
  });
  const [error, setError] = useState<string | null>(null);
  const queryClient = useQueryClient();
  const toast = useToast();
  const save = useMutation({
    mutationFn: async () => {
      const body: UpdateUserBody = { username: form.username, email: form.email, first_name: form.first_name, last_name: form.last_name };
      if (!isSelf) {
        body.role = form.role;
        body.is_active = form.is_active;
      }
      if (user) await updateUser(user.id, body);
      else await createUser({ ...body, username: form.username, email: form.email, password: form.password });
    },
    onSuccess: async () => {
      toast.show({ kind: 'success', message: user ? 'User saved' : 'User created' });
      await queryClient.invalidateQueries({ queryKey: ['users'] });
      onClose();
    },
    onError: (e) => setError(errorMessage(e)),
  });
  const set = (k: 'username' | 'email' | 'first_name' | 'last_name' | 'password') => (e: React.ChangeEvent<HTMLInputElement>) =>
    setForm({ ...form, [k]: e.target.value });
  function submit(e: SyntheticEvent) {
    e.preventDefault();
    setError(null);
    save.mutate();
  }
  return (
    <Modal title={user ? `Edit ${user.username}` : 'Add user'} onClose={onClose}>
      <form onSubmit={submit} className="space-y-3">
        <Field label="Username" value={form.username} onChange={set('username')} required />
        <Field label="Email" type="email" value={form.email} onChange={set('email')} required />
        <div className="grid grid-cols-2 gap-3">
          <Field label="First name" value={form.first_name} onChange={set('first_name')} />
          <Field label="Last name" value={form.last_name} onChange={set('last_name')} />
        </div>
        {!user ? <Field label="Password" type="password" value={form.password} onChange={set('password')} autoComplete="new-password" required /> : null}
        {!isSelf ? (
          <>
            <label className="block space-y-1 text-sm font-medium">
              <span>Role</span>
              <select className={inputClass} value={form.role} onChange={(e) => setForm({ ...form, role: e.target.value })}>
                {roleNames.map((r) => (
                  <option key={r}>{r}</option>
                ))}
              </select>
            </label>
            <label className="flex items-center gap-2 text-sm">
              <input type="checkbox" checked={form.is_active} onChange={(e) => setForm({ ...form, is_active: e.target.checked })} /> Active
            </label>
          </>
        ) : null}
        {error ? <ErrorPanel title="Could not save" message={error} /> : null}
        <div className="flex justify-end gap-2">
          <Button onClick={onClose}>Cancel</Button>
          <Button type="submit" variant="primary" disabled={save.isPending}>
            {save.isPending ? 'Saving…' : 'Save'}
          </Button>
        </div>
      </form>
    </Modal>
  );
}

function ResetPassword({ user, onClose }: { user: User; onClose: () => void }) {
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | null>(null);
  const toast = useToast();
  const save = useMutation({
    mutationFn: () => resetUserPassword(user.id, password),
    onSuccess: () => {
      toast.show({ kind: 'success', message: `Password of ${user.username} reset; their sessions have ended` });
      onClose();
    },
    onError: (e) => setError(errorMessage(e)),
  });
  return (
    <Modal title={`Reset the password of ${user.username}`} onClose={onClose}>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          save.mutate();
        }}
        className="space-y-3"
      >
        <Field label="New password" type="password" value={password} onChange={(e) => setPassword(e.target.value)} autoComplete="new-password" required />
        {error ? <ErrorPanel title="Could not reset" message={error} /> : null}
        <div className="flex justify-end gap-2">
          <Button onClick={onClose}>Cancel</Button>
          <Button type="submit" variant="primary" disabled={save.isPending}>Reset password</Button>
        </div>
      </form>
    </Modal>
  );
}
