import { queryOptions } from '@tanstack/react-query';
import { createContext, useContext } from 'react';
import { getProfile } from '../api/auth';
import type { Permission, Profile } from '../api/model';

export const ME_KEY = ['me'] as const;

/** The signed-in user (GET /auth/profile). A 401 means "not signed in", so it is never retried. */
export const meQuery = queryOptions({
  queryKey: ME_KEY,
  queryFn: ({ signal }) => getProfile(signal),
  retry: false,
  staleTime: 60_000,
});

/**
 * The signed-in user as <RequireAuth> last saw it. Kept in context rather than
 * read from the query cache, so a page that is being left after sign-out (the
 * cache already cleared) still renders until the navigation completes.
 */
export const MeContext = createContext<Profile | null>(null);

/** The signed-in user; only for components under <RequireAuth>. */
export function useMe(): Profile {
  const me = useContext(MeContext);
  if (!me) throw new Error('useMe used outside <RequireAuth>');
  return me;
}

export function can(me: Pick<Profile, 'permissions'> | undefined, permission: Permission): boolean {
  return me?.permissions[permission] === true;
}

export function useCan(permission: Permission): boolean {
  return can(useMe(), permission);
}

export function displayName(user: Pick<Profile, 'first_name' | 'last_name' | 'username'>): string {
  const full = [user.first_name, user.last_name].filter(Boolean).join(' ').trim();
  return full || user.username;
}
