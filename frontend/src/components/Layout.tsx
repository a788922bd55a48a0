import { useQueryClient } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import { Link, NavLink, Outlet, useLocation, useNavigate } from 'react-router';
import { logout } from '../api/auth';
import { setUnauthorizedHandler } from '../api/client';
import { errorMessage } from '../api/errors';
import { displayName, useMe } from '../auth/session';
import { ThemeToggle } from '../theme/ThemeToggle';
import { useToast } from '../toast/context';
import { visibleNav } from './nav';

function navClass({ isActive }: { isActive: boolean }): string {
  const base = 'block whitespace-nowrap rounded-md px-3 py-2 text-sm font-medium focus-visible:outline-2 focus-visible:outline-blue-600';
  return isActive
    ? `${base} bg-slate-200 text-slate-900 dark:bg-slate-800 dark:text-white`
    : `${base} text-slate-600 hover:bg-slate-100 hover:text-slate-900 dark:text-slate-300 dark:hover:bg-slate-800 dark:hover:text-white`;
}

/** Sends the user to the login page when any call finds the session gone. */
function useSessionExpiry() {
  const navigate = useNavigate();
  const location = useLocation();
  const queryClient = useQueryClient();
  const toast = useToast();
  const here = location.pathname + location.search;
  useEffect(
    () =>
      setUnauthorizedHandler(() => {
        queryClient.clear();
        toast.show({ kind: 'info', message: 'Your session has ended; please sign in again.' });
        void navigate(`/login?next=${encodeURIComponent(here)}`, { replace: true });
      }),
    [navigate, queryClient, toast, here],
  );
}

export function Layout() {
  const me = useMe();
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const toast = useToast();
  const [busy, setBusy] = useState(false);
  useSessionExpiry();

  async function signOut() {
    setBusy(true);
    try {
      await logout();
    } catch (e) {
      toast.show({ kind: 'error', message: `Sign-out failed: ${errorMessage(e)}` });
      setBusy(false);
      return;
    }
    queryClient.clear();
    void navigate('/login', { replace: true });
  }

  return (
    <div className="flex min-h-screen flex-col">
      <a
        href="#main"
        className="sr-only focus:not-sr-only focus:absolute focus:left-2 focus:top-2 focus:rounded focus:bg-white focus:px-3 focus:py-2 focus:text-slate-900"
      >
        Skip to content
      </a>
      <header className="border-b border-slate-200 bg-white dark:border-slate-800 dark:bg-slate-900">
        <div className="flex h-14 items-center gap-4 px-4">
          <Link to="/" className="text-lg font-semibold tracking-tight">
            PatchMon
          </Link>
          <div className="flex-1" />
          <Link to="/profile" className="text-sm text-slate-700 hover:underline dark:text-slate-300" title="Your profile">
            {displayName(me)} <span className="text-slate-500">({me.role})</span>
          </Link>
          <ThemeToggle />
          <button
            type="button"
            onClick={() => void signOut()}
            disabled={busy}
            className="rounded-md px-3 py-1.5 text-sm font-medium text-slate-700 hover:bg-slate-100 dark:text-slate-200 dark:hover:bg-slate-800"
          >
            Sign out
          </button>
        </div>
      </header>
      <div className="flex flex-1 flex-col md:flex-row">
        <nav aria-label="Main" className="border-b border-slate-200 p-2 md:w-52 md:border-r md:border-b-0 dark:border-slate-800">
          <ul className="flex gap-1 overflow-x-auto md:flex-col">
            {visibleNav(me).map((item) => (
              <li key={item.to}>
                <NavLink to={item.to} end={item.to === '/'} className={navClass}>
                  {item.label}
                </NavLink>
              </li>
            ))}
          </ul>
        </nav>
        <main id="main" className="w-full min-w-0 flex-1 px-4 py-6 md:px-8">
          <Outlet />
        </main>
      </div>
    </div>
  );
}
