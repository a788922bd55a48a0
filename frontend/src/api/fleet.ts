import { expectShape, queryString, request } from './client';
import type {
  CreatedHost,
  DashboardStats,
  HistoryEntry,
  HostDetail,
  HostGroup,
  HostGroupDetail,
  HostList,
  HostPackage,
  PackageDetail,
  PackageHost,
  PackageListItem,
  Pagination,
  Repository,
  RepositoryHost,
  Settings,
  TrendPoint,
  WsStatus,
} from './types';

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
    await request('/api/v1/hosts', { method: 'POST', body: { friendly_name: friendlyName, group_ids: groupIds } }),
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

export async function listHostPackages(hostId: string, params: Params): Promise<{ packages: HostPackage[]; pagination: Pagination }> {
  return expectShape(await request(`/api/v1/hosts/${id(hostId)}/packages${queryString(params)}`), 'host packages', {
    packages: 'array',
    pagination: 'object',
  });
}

export async function listHostRepositories(hostId: string): Promise<Repository[]> {
  const body = expectShape<{ repositories: Repository[] }>(await request(`/api/v1/hosts/${id(hostId)}/repositories`), 'host repositories', {
    repositories: 'array',
  });
  return body.repositories;
}

export async function listHostHistory(hostId: string, params: Params): Promise<{ history: HistoryEntry[]; pagination: Pagination }> {
  return expectShape(await request(`/api/v1/hosts/${id(hostId)}/history${queryString(params)}`), 'host history', {
    history: 'array',
    pagination: 'object',
  });
}

export async function setFriendlyName(hostId: string, friendlyName: string): Promise<HostDetail> {
  return (await request(`/api/v1/hosts/${id(hostId)}/friendly-name`, { method: 'PATCH', body: { friendly_name: friendlyName } })) as HostDetail;
}

export async function setNotes(hostId: string, notes: string): Promise<HostDetail> {
  return (await request(`/api/v1/hosts/${id(hostId)}/notes`, { method: 'PATCH', body: { notes } })) as HostDetail;
}

export async function setHostGroups(hostId: string, groupIds: string[]): Promise<HostDetail> {
  return (await request(`/api/v1/hosts/${id(hostId)}/groups`, { method: 'PUT', body: { group_ids: groupIds } })) as HostDetail;
}

export async function regenerateCredentials(hostId: string): Promise<CreatedHost> {
  return expectShape<CreatedHost>(await request(`/api/v1/hosts/${id(hostId)}/regenerate-credentials`, { method: 'POST' }), 'regenerate', {
    api_id: 'string',
    api_key: 'string',
  });
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
  const body = expectShape<{ groups: HostGroup[] }>(await request('/api/v1/host-groups', signal ? { signal } : {}), 'host-groups', {
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
  return (await request('/api/v1/host-groups', { method: 'POST', body: input })) as HostGroup;
}

export async function updateGroup(groupId: string, input: GroupInput): Promise<HostGroup> {
  return (await request(`/api/v1/host-groups/${id(groupId)}`, { method: 'PUT', body: input })) as HostGroup;
}

export async function deleteGroup(groupId: string): Promise<{ hosts_detached: number }> {
  return expectShape(await request(`/api/v1/host-groups/${id(groupId)}`, { method: 'DELETE' }), 'delete group');
}

// Packages

export async function listPackages(params: Params, signal?: AbortSignal): Promise<{ packages: PackageListItem[]; pagination: Pagination }> {
  return expectShape(await request(`/api/v1/packages${queryString(params)}`, signal ? { signal } : {}), 'packages', {
    packages: 'array',
    pagination: 'object',
  });
}

function num(v: unknown): number | null {
  return typeof v === 'number' ? v : null;
}

/** `GET /api/v1/packages/{id}`: the list item's counts (`hosts` is the count) plus `versions`, `installations` and `pagination`. */
export async function getPackage(packageId: string, params: Params): Promise<PackageDetail> {
  const raw = expectShape<Record<string, unknown>>(await request(`/api/v1/packages/${id(packageId)}${queryString(params)}`), 'package', {
    name: 'string',
    versions: 'array',
    installations: 'array',
  });
  return {
    id: String(raw.id),
    name: String(raw.name),
    description: (raw.description as string | null | undefined) ?? null,
    category: (raw.category as string | null | undefined) ?? null,
    latest_version: (raw.latest_version as string | null | undefined) ?? null,
    host_count: num(raw.hosts),
    outdated_hosts: num(raw.outdated_hosts),
    security_hosts: num(raw.security_hosts),
    is_security_update: raw.is_security_update === true,
    versions: raw.versions as PackageDetail['versions'],
    hosts: raw.installations as PackageHost[],
    pagination: typeof raw.pagination === 'object' && raw.pagination !== null ? (raw.pagination as Pagination) : null,
  };
}

// Repositories

export async function listRepositories(params: Params, signal?: AbortSignal): Promise<{ repositories: Repository[]; pagination: Pagination }> {
  return expectShape(await request(`/api/v1/repositories${queryString(params)}`, signal ? { signal } : {}), 'repositories', {
    repositories: 'array',
    pagination: 'object',
  });
}

/** `GET /api/v1/repositories/{id}`: the list item plus `host_list`. */
export async function getRepository(repoId: string): Promise<Repository & { host_list: RepositoryHost[] }> {
  return expectShape<Repository & { host_list: RepositoryHost[] }>(await request(`/api/v1/repositories/${id(repoId)}`), 'repository', {
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

export async function getTrends(days: number, signal?: AbortSignal): Promise<TrendPoint[]> {
  const body = expectShape<{ points: TrendPoint[] }>(await request(`/api/v1/dashboard/trends?days=${days}`, signal ? { signal } : {}), 'dashboard/trends', {
    points: 'array',
  });
  return body.points;
}

// Settings

export async function getSettings(): Promise<Settings> {
  return expectShape<Settings>(await request('/api/v1/settings'), 'settings', { server_url: 'string' });
}

export async function updateSettings(input: Partial<Settings>): Promise<Settings> {
  return expectShape<Settings>(await request('/api/v1/settings', { method: 'PUT', body: input }), 'settings');
}
