import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useState, type SyntheticEvent } from 'react';
import { Navigate, useNavigate, useSearchParams } from 'react-router';
import { checkAdminUsers, getOidcConfig, login, verifyTfa } from '../api/auth';
import { getBranding, logoUrl } from '../api/fleet';
import { errorMessage } from '../api/errors';
import { safeNext } from '../auth/next';
import { ME_KEY, meQuery } from '../auth/session';
import { ErrorPanel } from '../components/ErrorPanel';
import { Button, Field, Loading } from '../components/ui';
import { ThemeToggle } from '../theme/ThemeToggle';

export function AuthShell({ title, children }: { title: string; children: React.ReactNode }) {
  const branding = useQuery({ queryKey: ['branding'], queryFn: getBranding, retry: false, staleTime: 300_000 });
  const name = branding.data?.branding_name || 'PatchMon';
  return (
    <div className="flex min-h-screen flex-col items-center justify-center px-4">
      <title>{`${title} · PatchMon`}</title>
      <div className="absolute right-4 top-4">
        <ThemeToggle />
      </div>
      <div className="w-full max-w-sm rounded-lg border border-slate-200 bg-white p-6 shadow-sm dark:border-slate-800 dark:bg-slate-900">
        <div className="flex items-center gap-2">
          {branding.data?.has_logo ? <img src={logoUrl(branding.data.logo_updated_at)} alt="" className="h-8 max-w-32 object-contain" /> : null}
          <p className="text-sm font-semibold tracking-tight text-blue-600">{name}</p>
        </div>
        <h1 className="mb-5 text-xl font-semibold">{title}</h1>
        {children}
      </div>
    </div>
  );
}

export default function LoginPage() {
  const [params] = useSearchParams();
  const next = safeNext(params.get('next'));
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const me = useQuery(meQuery);
  const admins = useQuery({ queryKey: ['check-admin-users'], queryFn: checkAdminUsers, retry: false });
  const oidc = useQuery({ queryKey: ['oidc-config'], queryFn: getOidcConfig, retry: false });

  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [ticket, setTicket] = useState<string | null>(null);
  const [code, setCode] = useState('');
  const [remember, setRemember] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  if (me.isSuccess) return <Navigate to={next} replace />;
  if (admins.data === false) return <Navigate to="/setup" replace />;
  if (me.isPending || admins.isPending) return <Loading />;

  async function signedIn() {
    await queryClient.invalidateQueries({ queryKey: ME_KEY });
    void navigate(next, { replace: true });
  }

  async function submitPassword(e: SyntheticEvent) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const answer = await login(username, password);
      if ('requiresTfa' in answer) {
        setTicket(answer.tfa_ticket);
      } else {
        await signedIn();
      }
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      setBusy(false);
    }
  }

  async function submitCode(e: SyntheticEvent) {
    e.preventDefault();
    if (!ticket) return;
    setBusy(true);
    setError(null);
    try {
      await verifyTfa(ticket, code, remember);
      await signedIn();
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      setBusy(false);
    }
  }

  const localDisabled = oidc.data?.enabled === true && oidc.data.disableLocalAuth === true;

  if (ticket) {
    return (
      <AuthShell title="Two-factor authentication">
        <form onSubmit={(e) => void submitCode(e)} className="space-y-4">
          <p className="text-sm text-slate-600 dark:text-slate-400">Enter the 6-digit code from your authenticator app, or a backup code.</p>
          <Field label="Code" value={code} onChange={(e) => setCode(e.target.value)} autoComplete="one-time-code" inputMode="text" autoFocus required />
          <label className="flex items-center gap-2 text-sm">
            <input type="checkbox" checked={remember} onChange={(e) => setRemember(e.target.checked)} />
            Remember this browser
          </label>
          {error ? <ErrorPanel title="Sign-in failed" message={error} /> : null}
          <Button type="submit" variant="primary" className="w-full" disabled={busy}>
            {busy ? 'Checking…' : 'Verify'}
          </Button>
          <Button variant="ghost" className="w-full" onClick={() => { setTicket(null); setCode(''); setError(null); }}>
            Back
          </Button>
        </form>
      </AuthShell>
    );
  }

  return (
    <AuthShell title="Sign in">
      {!localDisabled ? (
        <form onSubmit={(e) => void submitPassword(e)} className="space-y-4">
          <Field label="Username or email" value={username} onChange={(e) => setUsername(e.target.value)} autoComplete="username" autoFocus required />
          <Field label="Password" type="password" value={password} onChange={(e) => setPassword(e.target.value)} autoComplete="current-password" required />
          {error ? <ErrorPanel title="Sign-in failed" message={error} /> : null}
          <Button type="submit" variant="primary" className="w-full" disabled={busy}>
            {busy ? 'Signing in…' : 'Sign in'}
          </Button>
        </form>
      ) : null}
      {oidc.data?.enabled ? (
        <div className={localDisabled ? '' : 'mt-4 border-t border-slate-200 pt-4 dark:border-slate-800'}>
          {/* A full navigation: the server answers with a redirect to the identity provider. */}
          <a
            href="/api/v1/auth/oidc/login"
            className="block w-full rounded-md border border-slate-300 px-3 py-1.5 text-center text-sm font-medium hover:bg-slate-100 dark:border-slate-700 dark:hover:bg-slate-800"
          >
            {oidc.data.buttonText || 'Sign in with SSO'}
          </a>
        </div>
      ) : null}
    </AuthShell>
  );
}
