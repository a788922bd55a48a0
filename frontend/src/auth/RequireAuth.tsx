import { useQuery } from '@tanstack/react-query';
import { useState, type ReactNode } from 'react';
import { Navigate, useLocation } from 'react-router';
import { ApiError, errorMessage } from '../api/errors';
import type { Permission } from '../api/model';
import { ErrorPanel } from '../components/ErrorPanel';
import { Layout } from '../components/Layout';
import { Loading } from '../components/ui';
import { MeContext, can, meQuery, useMe } from './session';

/** Renders children only for a signed-in user; sends everyone else to the login page. */
export function RequireAuth({ children }: { children: ReactNode }) {
  const me = useQuery(meQuery);
  const location = useLocation();
  // The last profile seen: after sign-out clears the cache, the page being
  // left keeps rendering with it until the login page takes over.
  const [last, setLast] = useState(me.data);
  if (me.data && me.data !== last) setLast(me.data);
  const profile = me.data ?? last;
  if (me.isPending && !profile) return <Loading label="Checking your session…" />;
  if (me.isError) {
    if (me.error instanceof ApiError && me.error.status === 401) {
      const next = location.pathname + location.search;
      return <Navigate to={next === '/' ? '/login' : `/login?next=${encodeURIComponent(next)}`} replace />;
    }
    return (
      <div className="mx-auto max-w-xl p-8">
        <ErrorPanel title="Could not check your session" message={errorMessage(me.error)} onRetry={() => void me.refetch()} />
      </div>
    );
  }
  if (!profile) return <Loading label="Checking your session…" />;
  return <MeContext value={profile}>{children}</MeContext>;
}

/** Renders children only when the user's role has `permission`. */
export function RequirePermission({ permission, children }: { permission: Permission; children: ReactNode }) {
  const me = useMe();
  if (!can(me, permission)) {
    return (
      <ErrorPanel
        title="Not allowed"
        message={`Your role (${me.role}) does not have the permission this page needs (${permission}).`}
      />
    );
  }
  return <>{children}</>;
}

/** The app frame for signed-in pages. */
export function AuthedLayout() {
  return (
    <RequireAuth>
      <Layout />
    </RequireAuth>
  );
}
