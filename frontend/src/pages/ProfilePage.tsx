import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { lazy, Suspense, useState, type SyntheticEvent } from 'react';
import { changePassword, disableTfa, getTfaStatus, listSessions, revokeOtherSessions, revokeSession, startTfaSetup, updateProfile, verifyTfaSetup } from '../api/auth';
import { errorMessage } from '../api/errors';
import type { TfaSetup } from '../api/model';
import { ME_KEY, useMe } from '../auth/session';
import { ErrorPanel } from '../components/ErrorPanel';
import { formatDate, formatRelative } from '../components/format';
import { Badge, Button, Card, CopyButton, Field, Loading, PageHeader, tableClass, tdClass, thClass } from '../components/ui';
import { useToast } from '../toast/context';

const QrCode = lazy(() => import('../components/QrCode').then((m) => ({ default: m.QrCode })));

export default function ProfilePage() {
  const me = useMe();
  return (
    <div className="space-y-6">
      <PageHeader title="Your profile" subtitle={`${me.username} · ${me.role}`} />
      <div className="grid gap-6 lg:grid-cols-2">
        <Details />
        <Password />
      </div>
      <TwoFactor />
      <Sessions />
    </div>
  );
}

function Details() {
  const me = useMe();
  const [form, setForm] = useState({ first_name: me.first_name ?? '', last_name: me.last_name ?? '', email: me.email });
  const queryClient = useQueryClient();
  const toast = useToast();
  const save = useMutation({
    mutationFn: () => updateProfile(form),
    onSuccess: async () => {
      toast.show({ kind: 'success', message: 'Profile saved' });
      await queryClient.invalidateQueries({ queryKey: ME_KEY });
    },
    onError: (e) => toast.show({ kind: 'error', message: `Could not save: ${errorMessage(e)}` }),
  });
  return (
    <Card title="Details">
      <form
        className="space-y-3"
        onSubmit={(e) => {
          e.preventDefault();
          save.mutate();
        }}
      >
        <div className="grid grid-cols-2 gap-3">
          <Field label="First name" value={form.first_name} onChange={(e) => setForm({ ...form, first_name: e.target.value })} />
          <Field label="Last name" value={form.last_name} onChange={(e) => setForm({ ...form, last_name: e.target.value })} />
        </div>
        <Field label="Email" type="email" value={form.email} onChange={(e) => setForm({ ...form, email: e.target.value })} required />
        <Button type="submit" variant="primary" disabled={save.isPending}>Save</Button>
      </form>
    </Card>
  );
}

function Password() {
  const [current, setCurrent] = useState('');
  const [next, setNext] = useState('');
  const [confirm, setConfirm] = useState('');
  const [error, setError] = useState<string | null>(null);
  const toast = useToast();
  const save = useMutation({
    mutationFn: () => changePassword(current, next),
    onSuccess: () => {
      toast.show({ kind: 'success', message: 'Password changed; your other sessions have been signed out' });
      setCurrent('');
      setNext('');
      setConfirm('');
    },
    onError: (e) => setError(errorMessage(e)),
  });
  function submit(e: SyntheticEvent) {
    e.preventDefault();
    setError(null);
    if (next !== confirm) {
      setError('The new passwords do not match.');
      return;
    }
    save.mutate();
  }
  return (
    <Card title="Change password">
      <form className="space-y-3" onSubmit={submit}>
        <Field label="Current password" type="password" value={current} onChange={(e) => setCurrent(e.target.value)} autoComplete="current-password" required />
        <Field label="New password" type="password" value={next} onChange={(e) => setNext(e.target.value)} autoComplete="new-password" required />
        <Field label="Confirm new password" type="password" value={confirm} onChange={(e) => setConfirm(e.target.value)} autoComplete="new-password" required />
        {error ? <ErrorPanel title="Password not changed" message={error} /> : null}
        <Button type="submit" variant="primary" disabled={save.isPending}>Change password</Button>
      </form>
    </Card>
  );
}

function TwoFactor() {
  const status = useQuery({ queryKey: ['tfa-status'], queryFn: getTfaStatus });
  const [setup, setSetup] = useState<TfaSetup | null>(null);
  const [code, setCode] = useState('');
  const [backupCodes, setBackupCodes] = useState<string[] | null>(null);
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | null>(null);
  const queryClient = useQueryClient();
  const toast = useToast();

  const start = useMutation({ mutationFn: startTfaSetup, onSuccess: setSetup, onError: (e) => setError(errorMessage(e)) });
  const verify = useMutation({
    mutationFn: () => verifyTfaSetup(code.replace(/\s/g, '')),
    onSuccess: async (codes) => {
      setBackupCodes(codes);
      setSetup(null);
      setCode('');
      toast.show({ kind: 'success', message: 'Two-factor authentication is on' });
      await queryClient.invalidateQueries({ queryKey: ['tfa-status'] });
      await queryClient.invalidateQueries({ queryKey: ME_KEY });
    },
    onError: (e) => setError(errorMessage(e)),
  });
  const disable = useMutation({
    mutationFn: () => disableTfa(password),
    onSuccess: async () => {
      setPassword('');
      toast.show({ kind: 'success', message: 'Two-factor authentication is off' });
      await queryClient.invalidateQueries({ queryKey: ['tfa-status'] });
      await queryClient.invalidateQueries({ queryKey: ME_KEY });
    },
    onError: (e) => setError(errorMessage(e)),
  });

  return (
    <Card title="Two-factor authentication">
      {status.isPending ? <Loading /> : null}
      {status.isError ? <ErrorPanel title="Could not read the 2FA state" message={errorMessage(status.error)} /> : null}
      {error ? <div className="mb-3"><ErrorPanel title="2FA" message={error} /></div> : null}
      {backupCodes ? (
        <div className="mb-4 rounded border border-amber-300 bg-amber-50 p-3 text-sm dark:border-amber-800 dark:bg-amber-950/40">
          <p className="font-medium">Backup codes: shown once. Each works one time if you lose your authenticator.</p>
          <ul className="mt-2 grid grid-cols-2 gap-1 font-mono sm:grid-cols-5" aria-label="Backup codes">
            {backupCodes.map((c) => (
              <li key={c}>{c}</li>
            ))}
          </ul>
          <div className="mt-2 flex gap-2">
            <CopyButton text={backupCodes.join('\n')} label="Copy codes" />
            <Button onClick={() => setBackupCodes(null)}>I have saved them</Button>
          </div>
        </div>
      ) : null}
      {status.data?.enabled ? (
        <form
          className="flex flex-wrap items-end gap-3"
          onSubmit={(e) => {
            e.preventDefault();
            setError(null);
            disable.mutate();
          }}
        >
          <p className="w-full text-sm">
            <Badge color="green">on</Badge> {status.data.backupCodesRemaining} backup code(s) left.
          </p>
          <Field label="Password (to turn it off)" type="password" value={password} onChange={(e) => setPassword(e.target.value)} autoComplete="current-password" required />
          <Button type="submit" variant="danger" disabled={disable.isPending}>Turn off 2FA</Button>
        </form>
      ) : status.data && !setup ? (
        <div className="space-y-2 text-sm">
          <p><Badge>off</Badge> Protect your account with an authenticator app (TOTP).</p>
          <Button variant="primary" onClick={() => { setError(null); start.mutate(); }} disabled={start.isPending}>Set up 2FA</Button>
        </div>
      ) : null}
      {setup ? (
        <form
          className="flex flex-wrap gap-6"
          onSubmit={(e) => {
            e.preventDefault();
            setError(null);
            verify.mutate();
          }}
        >
          <Suspense fallback={<Loading label="Drawing the QR code…" />}>
            <QrCode text={setup.otpauth_url} label="QR code for your authenticator app" />
          </Suspense>
          <div className="min-w-64 flex-1 space-y-3 text-sm">
            <p>Scan the code with your authenticator app, or enter the secret by hand:</p>
            <p className="flex items-center gap-2">
              <code className="break-all rounded bg-slate-100 px-2 py-1 dark:bg-slate-800" data-testid="tfa-secret">{setup.secret}</code>
              <CopyButton text={setup.secret} label="Copy secret" />
            </p>
            <Field label="Code from the app" value={code} onChange={(e) => setCode(e.target.value)} inputMode="numeric" autoComplete="one-time-code" required />
            <div className="flex gap-2">
              <Button type="submit" variant="primary" disabled={verify.isPending}>Verify and turn on</Button>
              <Button onClick={() => setSetup(null)}>Cancel</Button>
            </div>
          </div>
        </form>
      ) : null}
    </Card>
  );
}

function Sessions() {
  const sessions = useQuery({ queryKey: ['sessions'], queryFn: listSessions });
  const queryClient = useQueryClient();
  const toast = useToast();
  const refresh = () => queryClient.invalidateQueries({ queryKey: ['sessions'] });
  const revoke = useMutation({
    mutationFn: revokeSession,
    onSuccess: async () => {
      toast.show({ kind: 'success', message: 'Session ended' });
      await refresh();
    },
    onError: (e) => toast.show({ kind: 'error', message: errorMessage(e) }),
  });
  const revokeOthers = useMutation({
    mutationFn: revokeOtherSessions,
    onSuccess: async () => {
      toast.show({ kind: 'success', message: 'All other sessions ended' });
      await refresh();
    },
    onError: (e) => toast.show({ kind: 'error', message: errorMessage(e) }),
  });
  return (
    <Card title="Sessions" actions={<Button onClick={() => revokeOthers.mutate()} disabled={revokeOthers.isPending}>Sign out everywhere else</Button>}>
      {sessions.isPending ? <Loading /> : null}
      {sessions.isError ? <ErrorPanel title="Could not list sessions" message={errorMessage(sessions.error)} /> : null}
      {sessions.data ? (
        <div className="overflow-x-auto">
          <table className={tableClass} aria-label="Sessions">
            <thead>
              <tr>
                <th className={thClass}>Browser</th>
                <th className={thClass}>IP</th>
                <th className={thClass}>Started</th>
                <th className={thClass}>Last active</th>
                <th className={thClass}><span className="sr-only">Actions</span></th>
              </tr>
            </thead>
            <tbody className="divide-y divide-slate-100 dark:divide-slate-800">
              {sessions.data.map((s) => (
                <tr key={s.id}>
                  <td className={`${tdClass} max-w-sm truncate text-xs`} title={s.user_agent ?? ''}>{s.user_agent ?? '—'}</td>
                  <td className={`${tdClass} font-mono text-xs`}>{s.ip_address ?? '—'}</td>
                  <td className={tdClass}>{formatDate(s.created_at)}</td>
                  <td className={tdClass}>{formatRelative(s.last_activity)}</td>
                  <td className={`${tdClass} text-right`}>
                    {s.is_current ? <Badge color="blue">this session</Badge> : <Button variant="ghost" onClick={() => revoke.mutate(s.id)}>End</Button>}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
    </Card>
  );
}
