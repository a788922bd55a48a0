import { expectShape, queryString, request } from './client';
import type {
  ApiRequest,
  Branding,
  CreatedHost,
  DashboardCardPref,
  DashboardLayout,
  DashboardStats,
  GroupDeleted,
  HistoryPage,
  HostDetail,
  HostGroup,
  HostGroupDetail,
  HostGroupList,
  HostList,
  HostPackageList,
  HostRepository,
  HostRepositoryList,
  HostView,
  HostViewList,
  IntegrationsChanged,
  PackageDetail,
  PackageDetailView,
  PackageList,
  RepositoryDetail,
  RepositoryList,
  Settings,
  SettingsBody,
  TrendPoint,
  Trends,
  Updated,
  WsStatus,
} from './model';

type Params = Record<string, string | number | boolean | undefined | null>;
const id = encodeURIComponent;

// Hosts

export async function listHosts(params: Params, signal?: AbortSignal): Promise<HostList> {
  return expectShape<HostList>(await request(`/api/v1/hosts${queryString(params)}`, signal ? { signal } : {}), 'hosts', {
    hosts: 'array',
    pagination: 'object',
  });
}

export async function createHost(friendlyName: string, groupIds: string[]): Promise<CreatedHost> {
  return expectShape<CreatedHost>(
    await request('/api/v1/hosts', { method: 'POST', body: { friendly_name: friendlyName, group_ids: groupIds } satisfies ApiRequest<'POST /api/v1/hosts'> }),
    'create host',
    { id: 'string', api_id: 'string', api_key: 'string' },
  );
}

export async function getHost(hostId: string, signal?: AbortSignal): Promise<HostDetail> {
  return expectShape<HostDetail>(await request(`/api/v1/hosts/${id(hostId)}`, signal ? { signal } : {}), 'host', {
    id: 'string',
    api_id: 'string',
    groups: 'array',
  });
}

export async function listHostPackages(hostId: string, params: Params): Promise<HostPackageList> {
  return expectShape<HostPackageList>(await request(`/api/v1/hosts/${id(hostId)}/packages${queryString(params)}`), 'host packages', {
    packages: 'array',
    pagination: 'object',
  });
}

export async function listHostRepositories(hostId: string): Promise<HostRepository[]> {
  const body = expectShape<HostRepositoryList>(await request(`/api/v1/hosts/${id(hostId)}/repositories`), 'host repositories', {
    repositories: 'array',
  });
  return body.repositories;
}

export async function listHostHistory(hostId: string, params: Params): Promise<HistoryPage> {
  return expectShape<HistoryPage>(await request(`/api/v1/hosts/${id(hostId)}/history${queryString(params)}`), 'host history', {
    history: 'array',
    pagination: 'object',
  });
}

export async function setFriendlyName(hostId: string, friendlyName: string): Promise<HostDetail> {
  return expectShape<HostDetail>(await request(`/api/v1/hosts/${id(hostId)}/friendly-name`, { method: 'PATCH', body: { friendly_name: friendlyName } satisfies ApiRequest<'PATCH /api/v1/hosts/{host_id}/friendly-name'> }), 'friendly-name');
}

export async function setNotes(hostId: string, notes: string): Promise<HostDetail> {
  return expectShape<HostDetail>(await request(`/api/v1/hosts/${id(hostId)}/notes`, { method: 'PATCH', body: { notes } satisfies ApiRequest<'PATCH /api/v1/hosts/{host_id}/notes'> }), 'notes');
}

export async function setHostGroups(hostId: string, groupIds: string[]): Promise<HostDetail> {
  return expectShape<HostDetail>(await request(`/api/v1/hosts/${id(hostId)}/groups`, { method: 'PUT', body: { group_ids: groupIds } satisfies ApiRequest<'PUT /api/v1/hosts/{host_id}/groups'> }), 'groups');
}

export interface IntegrationsInput {
  docker?: boolean;
  compliance?: boolean;
  auto_update?: boolean;
}

/** Turns integrations on or off; a connected agent is told at once (`agent_notified`). */
export async function setHostIntegrations(hostId: string, input: IntegrationsInput): Promise<IntegrationsChanged> {
  return expectShape<IntegrationsChanged>(await request(`/api/v1/hosts/${id(hostId)}/integrations`, { method: 'PUT', body: input satisfies ApiRequest<'PUT /api/v1/hosts/{host_id}/integrations', typeof input> }), 'integrations', {
    host: 'object',
    agent_notified: 'boolean',
  });
}

export async function regenerateCredentials(hostId: string): Promise<CreatedHost> {
  return expectShape<CreatedHost>(await request(`/api/v1/hosts/${id(hostId)}/regenerate-credentials`, { method: 'POST' }), 'regenerate', {
    api_id: 'string',
    api_key: 'string',
  });
}

/** Adds, removes or replaces groups on many hosts in one transaction. */
export async function bulkSetGroups(hostIds: string[], groupIds: string[], mode: 'add' | 'remove' | 'replace'): Promise<number> {
  const body = expectShape<Updated>(
    await request('/api/v1/hosts/bulk/groups', { method: 'PUT', body: { host_ids: hostIds, group_ids: groupIds, mode } satisfies ApiRequest<'PUT /api/v1/hosts/bulk/groups'> }),
    'hosts/bulk/groups',
    { updated: 'number' },
  );
  return body.updated;
}

/** Asks the connected agent to report now (409 when it is not connected). */
export async function fetchReport(hostId: string): Promise<void> {
  await request(`/api/v1/hosts/${id(hostId)}/fetch-report`, { method: 'POST' });
}

export async function deleteHost(hostId: string): Promise<void> {
  await request(`/api/v1/hosts/${id(hostId)}`, { method: 'DELETE' });
}

export async function getWsStatus(apiId: string, signal?: AbortSignal): Promise<WsStatus> {
  return expectShape<WsStatus>(await request(`/api/v1/ws/status/${id(apiId)}`, signal ? { signal } : {}), 'ws/status', {
    connected: 'boolean',
  });
}

/** Link target for an export download (the browser sends the session cookie). */
export function exportUrl(kind: 'hosts' | 'packages', format: 'csv' | 'json', params: Params): string {
  return `/api/v1/${kind}/export${queryString({ ...params, format, page: undefined, limit: undefined })}`;
}

// Host groups

export async function listGroups(signal?: AbortSignal): Promise<HostGroup[]> {
  const body = expectShape<HostGroupList>(await request('/api/v1/host-groups', signal ? { signal } : {}), 'host-groups', {
    groups: 'array',
  });
  return body.groups;
}

export async function getGroup(groupId: string): Promise<HostGroupDetail> {
  return expectShape<HostGroupDetail>(await request(`/api/v1/host-groups/${id(groupId)}`), 'host group', { hosts: 'array' });
}

export interface GroupInput {
  name: string;
  description: string;
  color: string;
}

export async function createGroup(input: GroupInput): Promise<HostGroup> {
  return expectShape<HostGroup>(await request('/api/v1/host-groups', { method: 'POST', body: input satisfies ApiRequest<'POST /api/v1/host-groups', typeof input> }), 'create group');
}

export async function updateGroup(groupId: string, input: GroupInput): Promise<HostGroup> {
  return expectShape<HostGroup>(await request(`/api/v1/host-groups/${id(groupId)}`, { method: 'PUT', body: input satisfies ApiRequest<'PUT /api/v1/host-groups/{group_id}', typeof input> }), 'update group');
}

export async function deleteGroup(groupId: string): Promise<GroupDeleted> {
  return expectShape<GroupDeleted>(await request(`/api/v1/host-groups/${id(groupId)}`, { method: 'DELETE' }), 'delete group');
}

// Packages

export async function listPackages(params: Params, signal?: AbortSignal): Promise<PackageList> {
  return expectShape<PackageList>(await request(`/api/v1/packages${queryString(params)}`, signal ? { signal } : {}), 'packages', {
    packages: 'array',
    pagination: 'object',
  });
}

/** `GET /api/v1/packages/{id}`: the list item's counts (`hosts` is the count) plus `versions`, `installations` and `pagination`. */
export async function getPackage(packageId: string, params: Params): Promise<PackageDetailView> {
  const raw = expectShape<PackageDetail>(await request(`/api/v1/packages/${id(packageId)}${queryString(params)}`), 'package', {
    name: 'string',
    versions: 'array',
    installations: 'array',
  });
  const { hosts: hostCount, installations, ...rest } = raw;
  return { ...rest, host_count: hostCount, hosts: installations };
}

// Repositories

export async function listRepositories(params: Params, signal?: AbortSignal): Promise<RepositoryList> {
  return expectShape<RepositoryList>(await request(`/api/v1/repositories${queryString(params)}`, signal ? { signal } : {}), 'repositories', {
    repositories: 'array',
    pagination: 'object',
  });
}

/** `GET /api/v1/repositories/{id}`: the list item plus `host_list`. */
export async function getRepository(repoId: string): Promise<RepositoryDetail> {
  return expectShape<RepositoryDetail>(await request(`/api/v1/repositories/${id(repoId)}`), 'repository', {
    name: 'string',
    host_list: 'array',
  });
}

// Dashboard

export async function getDashboardStats(signal?: AbortSignal): Promise<DashboardStats> {
  return expectShape<DashboardStats>(await request('/api/v1/dashboard/stats', signal ? { signal } : {}), 'dashboard/stats', {
    total_hosts: 'number',
    os_distribution: 'array',
  });
}

/** Trend points, oldest first; `scoped` when the caller's role is limited to host groups (fleet-wide snapshots are not shown then). */
export async function getTrends(days: number, signal?: AbortSignal): Promise<{ points: TrendPoint[]; scoped: boolean }> {
  const body = expectShape<Trends>(
    await request(`/api/v1/dashboard/trends?days=${days}`, signal ? { signal } : {}),
    'dashboard/trends',
    { points: 'array' },
  );
  return { points: body.points, scoped: body.scoped };
}

export async function getDashboardLayout(): Promise<DashboardCardPref[]> {
  const body = expectShape<DashboardLayout>(await request('/api/v1/dashboard-preferences'), 'dashboard-preferences', { layout: 'array' });
  return body.layout;
}

export async function saveDashboardLayout(layout: DashboardCardPref[]): Promise<DashboardCardPref[]> {
  const body = expectShape<DashboardLayout>(
    await request('/api/v1/dashboard-preferences', { method: 'PUT', body: { layout } satisfies ApiRequest<'PUT /api/v1/dashboard-preferences'> }),
    'dashboard-preferences',
    { layout: 'array' },
  );
  return body.layout;
}

// Settings

export async function getSettings(): Promise<Settings> {
  return expectShape<Settings>(await request('/api/v1/settings'), 'settings', { server_url: 'string' });
}

/** Public: the name and whether a logo exists (the login page shows them). */
export async function getBranding(): Promise<Branding> {
  return expectShape<Branding>(await request('/api/v1/settings/branding', { allow401: true }), 'settings/branding', { has_logo: 'boolean' });
}

/** The logo's URL, versioned so a new upload is not served from the browser cache. */
export function logoUrl(updatedAt: string | null): string {
  return `/api/v1/settings/logo${updatedAt ? `?v=${encodeURIComponent(updatedAt)}` : ''}`;
}

export async function uploadLogo(file: File): Promise<void> {
  await request('/api/v1/settings/logo', { method: 'PUT', body: file });
}

export async function deleteLogo(): Promise<void> {
  await request('/api/v1/settings/logo', { method: 'DELETE' });
}

export async function updateSettings(input: SettingsBody): Promise<Settings> {
  return expectShape<Settings>(await request('/api/v1/settings', { method: 'PUT', body: input satisfies ApiRequest<'PUT /api/v1/settings', typeof input> }), 'settings');
}

// Saved host-table views

export async function listHostViews(): Promise<HostView[]> {
  const body = expectShape<HostViewList>(await request('/api/v1/hosts/views'), 'hosts/views', { views: 'array' });
  return body.views;
}

export interface HostViewInput {
  name: string;
  columns: string[];
  sort: string;
  order: 'asc' | 'desc';
  filters: Record<string, string>;
  is_default: boolean;
}

export async function createHostView(input: HostViewInput): Promise<HostView> {
  return expectShape<HostView>(await request('/api/v1/hosts/views', { method: 'POST', body: input satisfies ApiRequest<'POST /api/v1/hosts/views', typeof input> }), 'create view', { id: 'string' });
}

export async function deleteHostView(viewId: string): Promise<void> {
  await request(`/api/v1/hosts/views/${id(viewId)}`, { method: 'DELETE' });
}
