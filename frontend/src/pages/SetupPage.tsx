import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useState, type SyntheticEvent } from 'react';
import { Navigate, useNavigate } from 'react-router';
import { checkAdminUsers, setupAdmin } from '../api/auth';
import { errorMessage } from '../api/errors';
import { ME_KEY } from '../auth/session';
import { ErrorPanel } from '../components/ErrorPanel';
import { Button, Field, Loading } from '../components/ui';
import { AuthShell } from './LoginPage';

export default function SetupPage() {
  const admins = useQuery({ queryKey: ['check-admin-users'], queryFn: checkAdminUsers, retry: false });
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const [form, setForm] = useState({ firstName: '', lastName: '', username: '', email: '', password: '' });
  const [confirm, setConfirm] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  if (admins.isPending) return <Loading />;
  if (admins.data === true) return <Navigate to="/login" replace />;

  const set = (k: keyof typeof form) => (e: React.ChangeEvent<HTMLInputElement>) => setForm({ ...form, [k]: e.target.value });

  async function submit(e: SyntheticEvent) {
    e.preventDefault();
    if (form.password !== confirm) {
      setError('The passwords do not match.');
      return;
    }
    setBusy(true);
    setError(null);
    try {
      await setupAdmin(form);
      queryClient.setQueryData(['check-admin-users'], true);
      await queryClient.invalidateQueries({ queryKey: ME_KEY });
      void navigate('/', { replace: true });
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      setBusy(false);
    }
  }

  return (
    <AuthShell title="Create the first administrator">
      <form onSubmit={(e) => void submit(e)} className="space-y-3">
        <p className="text-sm text-slate-600 dark:text-slate-400">No account exists yet. This one becomes the super-administrator.</p>
        <div className="grid grid-cols-2 gap-3">
          <Field label="First name" value={form.firstName} onChange={set('firstName')} required />
          <Field label="Last name" value={form.lastName} onChange={set('lastName')} required />
        </div>
        <Field label="Username" value={form.username} onChange={set('username')} autoComplete="username" required />
        <Field label="Email" type="email" value={form.email} onChange={set('email')} autoComplete="email" required />
        <Field label="Password" type="password" value={form.password} onChange={set('password')} autoComplete="new-password" required />
        <Field label="Confirm password" type="password" value={confirm} onChange={(e) => setConfirm(e.target.value)} autoComplete="new-password" required />
        {error ? <ErrorPanel title="Setup failed" message={error} /> : null}
        <Button type="submit" variant="primary" className="w-full" disabled={busy}>
          {busy ? 'Creating…' : 'Create account and sign in'}
        </Button>
      </form>
    </AuthShell>
  );
}
