import { expectArray, expectShape, request, setCsrfToken } from './client';
import type {
  ApiRequest,
  CreateUserBody,
  UpdateUserBody,
  AdminUsersCheck,
  BackupCodes,
  LoginAnswer,
  ProfileAnswer,
  SessionList,
  LoginNeedsTfa,
  LoginSuccess,
  OidcConfig,
  Profile,
  RoleWithScope,
  Session,
  TfaSetup,
  TfaStatus,
  User,
} from './model';

/** Remembers the new session's CSRF token. */
function loginAnswer(body: LoginSuccess): LoginSuccess {
  setCsrfToken(body.csrf_token);
  return body;
}

const LOGIN_FIELDS = { user: 'object', csrf_token: 'string' } as const;

export async function checkAdminUsers(): Promise<boolean> {
  const body = expectShape<AdminUsersCheck>(
    await request('/api/v1/auth/check-admin-users'),
    'check-admin-users',
    { hasAdminUsers: 'boolean' },
  );
  return body.hasAdminUsers;
}

export interface SetupAdminInput {
  firstName: string;
  lastName: string;
  username: string;
  email: string;
  password: string;
}

export async function setupAdmin(input: SetupAdminInput): Promise<LoginSuccess> {
  return loginAnswer(expectShape<LoginSuccess>(await request('/api/v1/auth/setup-admin', { method: 'POST', body: input satisfies ApiRequest<'POST /api/v1/auth/setup-admin', typeof input>, allow401: true }), 'setup-admin', LOGIN_FIELDS));
}

export async function login(username: string, password: string): Promise<LoginSuccess | LoginNeedsTfa> {
  const body = expectShape<LoginAnswer>(await request('/api/v1/auth/login', { method: 'POST', body: { username, password } satisfies ApiRequest<'POST /api/v1/auth/login'>, allow401: true }), 'login');
  if ('requiresTfa' in body && body.requiresTfa) {
    return expectShape<LoginNeedsTfa>(body, 'login (tfa)', { tfa_ticket: 'string' });
  }
  return loginAnswer(expectShape<LoginSuccess>(body, 'login', LOGIN_FIELDS));
}

export async function verifyTfa(ticket: string, token: string, rememberMe: boolean): Promise<LoginSuccess> {
  return loginAnswer(
    expectShape<LoginSuccess>(
      await request('/api/v1/auth/verify-tfa', {
        method: 'POST',
        body: { tfa_ticket: ticket, token, remember_me: rememberMe } satisfies ApiRequest<'POST /api/v1/auth/verify-tfa'>,
        allow401: true,
      }),
      'verify-tfa',
      LOGIN_FIELDS,
    ),
  );
}

export async function getOidcConfig(): Promise<OidcConfig> {
  return expectShape<OidcConfig>(await request('/api/v1/auth/oidc/config'), 'oidc/config', { enabled: 'boolean' });
}

export async function logout(): Promise<void> {
  await request('/api/v1/auth/logout', { method: 'POST', allow401: true });
  setCsrfToken(null);
}

/** The signed-in user with permissions; a 401 means nobody is signed in. */
export async function getProfile(signal?: AbortSignal): Promise<Profile> {
  const body = expectShape<ProfileAnswer>(
    await request('/api/v1/auth/profile', { allow401: true, ...(signal ? { signal } : {}) }),
    'profile',
    { user: 'object' },
  );
  return expectShape<Profile>(body.user, 'profile.user', { username: 'string', permissions: 'object' });
}

export async function updateProfile(input: Partial<Pick<User, 'first_name' | 'last_name' | 'email'>>): Promise<void> {
  await request('/api/v1/auth/profile', { method: 'PUT', body: input satisfies ApiRequest<'PUT /api/v1/auth/profile', typeof input> });
}

export async function changePassword(currentPassword: string, newPassword: string): Promise<void> {
  await request('/api/v1/auth/change-password', { method: 'PUT', body: { currentPassword, newPassword } satisfies ApiRequest<'PUT /api/v1/auth/change-password'> });
}

export async function listSessions(): Promise<Session[]> {
  const body = expectShape<SessionList>(await request('/api/v1/auth/sessions'), 'sessions', { sessions: 'array' });
  return body.sessions;
}

export async function revokeSession(id: string): Promise<void> {
  await request(`/api/v1/auth/sessions/${encodeURIComponent(id)}`, { method: 'DELETE' });
}

export async function revokeOtherSessions(): Promise<void> {
  await request('/api/v1/auth/sessions', { method: 'DELETE' });
}

export async function getTfaStatus(): Promise<TfaStatus> {
  return expectShape<TfaStatus>(await request('/api/v1/tfa/status'), 'tfa/status', { enabled: 'boolean' });
}

export async function startTfaSetup(): Promise<TfaSetup> {
  return expectShape<TfaSetup>(await request('/api/v1/tfa/setup'), 'tfa/setup', { otpauth_url: 'string', secret: 'string' });
}

export async function verifyTfaSetup(token: string): Promise<string[]> {
  const body = expectShape<BackupCodes>(
    await request('/api/v1/tfa/verify-setup', { method: 'POST', body: { token } satisfies ApiRequest<'POST /api/v1/tfa/verify-setup'> }),
    'tfa/verify-setup',
    { backupCodes: 'array' },
  );
  return body.backupCodes;
}

export async function disableTfa(password: string): Promise<void> {
  await request('/api/v1/tfa/disable', { method: 'POST', body: { password } satisfies ApiRequest<'POST /api/v1/tfa/disable'> });
}

// Users and roles (admin)

export async function listUsers(): Promise<User[]> {
  return expectArray<User>(await request('/api/v1/auth/admin/users'), 'admin/users');
}

export async function createUser(input: CreateUserBody): Promise<void> {
  await request('/api/v1/auth/admin/users', { method: 'POST', body: input satisfies ApiRequest<'POST /api/v1/auth/admin/users', typeof input> });
}

export async function updateUser(id: string, input: UpdateUserBody): Promise<void> {
  await request(`/api/v1/auth/admin/users/${encodeURIComponent(id)}`, { method: 'PUT', body: input satisfies ApiRequest<'PUT /api/v1/auth/admin/users/{user_id}', typeof input> });
}

export async function deleteUser(id: string): Promise<void> {
  await request(`/api/v1/auth/admin/users/${encodeURIComponent(id)}`, { method: 'DELETE' });
}

export async function resetUserPassword(id: string, newPassword: string): Promise<void> {
  await request(`/api/v1/auth/admin/users/${encodeURIComponent(id)}/reset-password`, { method: 'POST', body: { newPassword } satisfies ApiRequest<'POST /api/v1/auth/admin/users/{user_id}/reset-password'> });
}

export async function listRoles(): Promise<RoleWithScope[]> {
  return expectArray<RoleWithScope>(await request('/api/v1/permissions/roles'), 'permissions/roles');
}

export async function saveRole(role: string, flags: Partial<RoleWithScope>): Promise<void> {
  await request(`/api/v1/permissions/roles/${encodeURIComponent(role)}`, { method: 'PUT', body: flags satisfies ApiRequest<'PUT /api/v1/permissions/roles/{role}', typeof flags> });
}

export async function deleteRole(role: string): Promise<void> {
  await request(`/api/v1/permissions/roles/${encodeURIComponent(role)}`, { method: 'DELETE' });
}
