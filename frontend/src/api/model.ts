// Wire types of the server's JSON API.
//
// Written by hand for now, from backend/src/health.rs and the error shape in
// DESIGN.md §7. Once the server publishes docs/openapi.json this file is to be
// generated from it (and CI fails on a diff), as DESIGN.md §7 requires.

/** Every error response: `{"error": "<human text>", "code": "<stable_snake_case>"}` plus extras. */
export interface ApiErrorBody {
  error: string;
  code: string;
  [extra: string]: unknown;
}

/** `GET /health` when the database answers (200). */
export interface HealthOk {
  status: 'ok';
  /** `ok` today; typed wider so a new state renders instead of failing validation. */
  database: string;
  /** `sqlite` or `postgres`. */
  dialect: string;
  /** Server version (the crate version). */
  version: string;
  /** Agents holding a WebSocket to this server process right now. */
  agents_connected: number;
}

/** `GET /health` when the database does not answer (503). */
export interface HealthUnavailable extends ApiErrorBody {
  status: 'error';
  database: 'unreachable';
  dialect?: string;
}

// ---------------------------------------------------------------------------
// Users, sessions and permissions (docs/auth.md)

/** Permission flags of a role (`role_permissions`). */
export const PERMISSIONS = [
  'can_view_dashboard',
  'can_view_hosts',
  'can_manage_hosts',
  'can_view_packages',
  'can_manage_packages',
  'can_view_users',
  'can_manage_users',
  'can_manage_superusers',
  'can_view_reports',
  'can_export_data',
  'can_manage_settings',
  'can_manage_notifications',
  'can_view_notification_logs',
  'can_manage_patching',
  'can_manage_compliance',
  'can_manage_docker',
  'can_manage_alerts',
  'can_manage_automation',
  'can_use_remote_access',
  'can_manage_billing',
] as const;

export type Permission = (typeof PERMISSIONS)[number];

export type PermissionFlags = Record<Permission, boolean>;

export interface RolePermissions extends PermissionFlags {
  role: string;
  description: string | null;
  is_builtin: boolean;
  /** Host groups the role is limited to; empty = every host. */
  host_group_ids?: string[];
}

export interface User {
  id: string;
  username: string;
  email: string;
  first_name: string | null;
  last_name: string | null;
  role: string;
  is_active: boolean;
  tfa_enabled: boolean;
  last_login?: string | null;
  theme_preference?: string | null;
  color_theme?: string | null;
  created_at?: string;
  updated_at?: string;
}

/** `GET /api/v1/auth/profile` → `{user}`. */
export interface Profile extends User {
  preferences: Record<string, unknown>;
  permissions: RolePermissions;
}

/** `POST /auth/login`, `/auth/verify-tfa`, `/auth/setup-admin` with a session. */
export interface LoginSuccess {
  message: string;
  token: string;
  csrf_token: string;
  expires_in: number;
  user: User;
}

/** `POST /auth/login` when the second factor is needed. */
export interface LoginNeedsTfa {
  requiresTfa: true;
  tfa_ticket: string;
  username: string;
  expires_in: number;
}

export interface OidcConfig {
  enabled: boolean;
  buttonText: string;
  disableLocalAuth: boolean;
}

export interface Session {
  id: string;
  ip_address: string | null;
  user_agent: string | null;
  created_at: string;
  last_activity: string;
  expires_at: string;
  is_current: boolean;
}

export interface TfaSetup {
  secret: string;
  otpauth_url: string;
  issuer: string;
}

export interface TfaStatus {
  enabled: boolean;
  backupCodesRemaining: number;
}

// ---------------------------------------------------------------------------
// Fleet: hosts, groups, packages, repositories, dashboard, settings
// (docs/api.md, "Web app API")

export interface Pagination {
  page: number;
  limit: number;
  offset: number;
  total: number;
  total_pages: number;
}

export interface GroupRef {
  id: string;
  name: string;
  color: string;
}

export type EffectiveStatus = 'pending' | 'active' | 'inactive';
export type ReportingState = 'reporting' | 'overdue' | 'stale';
export type UpdateState = 'security_required' | 'updates_pending' | 'up_to_date';

export interface HostListItem {
  id: string;
  api_id: string;
  friendly_name: string;
  hostname: string | null;
  ip: string | null;
  os_type: string | null;
  os_version: string | null;
  architecture: string | null;
  agent_version: string | null;
  status: string;
  effective_status: EffectiveStatus;
  reporting_state: ReportingState | null;
  update_state: UpdateState | null;
  total_packages: number;
  updates_available: number;
  security_updates: number;
  needs_reboot: boolean | null;
  groups: GroupRef[];
  connected: boolean;
  last_update: string | null;
  created_at: string;
}

export interface HostList {
  hosts: HostListItem[];
  pagination: Pagination;
}

export interface CreatedHost {
  id: string;
  friendly_name: string;
  api_id: string;
  api_key: string;
}

export interface NetworkAddress {
  address: string;
  family: string;
  netmask?: string | null;
  gateway?: string | null;
}

export interface NetworkInterface {
  name: string;
  type?: string | null;
  macAddress?: string | null;
  status?: string | null;
  mtu?: number | null;
  linkSpeed?: number | null;
  addresses?: NetworkAddress[] | null;
}

export type DiskDetail = Record<string, unknown>;

export interface AgentState {
  version: string | null;
  connected: boolean;
  secure: boolean;
  connected_at: string | null;
  disconnected_seconds_ago: number | null;
  capabilities: string[] | null;
}

export interface HostDetail {
  id: string;
  api_id: string;
  friendly_name: string;
  hostname: string | null;
  machine_id: string | null;
  ip: string | null;
  notes: string | null;
  status: string;
  effective_status: EffectiveStatus;
  reporting_state: ReportingState | null;
  update_state: UpdateState | null;
  os_type: string | null;
  os_version: string | null;
  architecture: string | null;
  kernel_version: string | null;
  installed_kernel_version: string | null;
  selinux_status: string | null;
  package_manager: string | null;
  system_uptime: string | null;
  boot_time: string | null;
  needs_reboot: boolean | null;
  reboot_reason: string | null;
  hardware: {
    cpu_model: string | null;
    cpu_cores: number | null;
    ram_installed: number | null;
    swap_size: number | null;
    load_average: number[] | null;
    disk_details: DiskDetail[] | null;
  } | null;
  network: {
    gateway_ip: string | null;
    dns_servers: string[] | null;
    primary_interface: string | null;
    interfaces: NetworkInterface[] | null;
  } | null;
  counts: { total_packages: number; updates_available: number; security_updates: number; repositories: number };
  groups: GroupRef[];
  integrations: Record<string, boolean> | null;
  agent: AgentState | null;
  last_update: string | null;
  last_full_report_at: string | null;
  created_at: string;
  updated_at: string;
}

export interface HostPackage {
  id: string;
  name: string;
  description: string | null;
  category: string | null;
  current_version: string | null;
  available_version: string | null;
  needs_update: boolean;
  is_security_update: boolean;
  source_repository: string | null;
  updated_at: string | null;
}

export interface Repository {
  id: string;
  name: string;
  url: string;
  distribution: string | null;
  components: string | null;
  repo_type: string | null;
  is_secure: boolean;
  is_active: boolean;
  is_enabled?: boolean;
  hosts?: number;
  enabled_hosts?: number;
  created_at?: string;
  updated_at?: string;
}

export interface HistoryEntry {
  id: string;
  timestamp: string;
  report_type: string | null;
  status: string;
  packages_count: number | null;
  security_count: number | null;
  total_packages: number | null;
  payload_size_kb: number | null;
  execution_time: number | null;
  agent_execution_ms: number | null;
  sections_sent: string[] | null;
  sections_unchanged: string[] | null;
  error_message: string | null;
}

/** `GET /api/v1/ws/status/{apiId}`. */
export interface WsStatus {
  connected: boolean;
  secure: boolean;
  connected_at: string | null;
  disconnected_seconds_ago: number | null;
  agent_version: string | null;
  capabilities: string[] | null;
}

export interface HostGroup {
  id: string;
  name: string;
  description: string | null;
  color: string;
  host_count: number;
  created_at: string;
  updated_at: string;
}

export interface HostGroupDetail extends HostGroup {
  hosts: { id: string; friendly_name: string; hostname: string | null; ip: string | null; os_type: string | null; os_version: string | null; effective_status: EffectiveStatus }[];
}

export interface PackageListItem {
  id: string;
  name: string;
  description: string | null;
  category: string | null;
  latest_version: string | null;
  hosts: number;
  outdated_hosts: number;
  security_hosts: number;
  is_security_update: boolean;
}

export interface PackageHost {
  host_id: string;
  friendly_name: string;
  hostname: string | null;
  os_type: string | null;
  os_version: string | null;
  current_version: string | null;
  available_version: string | null;
  needs_update: boolean;
  is_security_update: boolean;
}

/** `GET /api/v1/packages/{id}` as `getPackage` returns it (`installations` → `hosts`, the `hosts` count → `host_count`). */
export interface PackageDetail {
  id: string;
  name: string;
  description: string | null;
  category: string | null;
  latest_version: string | null;
  host_count: number | null;
  outdated_hosts: number | null;
  security_hosts: number | null;
  is_security_update: boolean;
  versions: { version: string | null; hosts: number }[];
  hosts: PackageHost[];
  pagination: Pagination | null;
}

export interface RepositoryHost {
  host_id: string;
  friendly_name: string;
  hostname: string | null;
  os_type: string | null;
  os_version: string | null;
  is_enabled: boolean;
  effective_status: EffectiveStatus;
}

export interface DashboardStats {
  total_hosts: number;
  hosts_needing_updates: number;
  hosts_with_security_updates: number;
  up_to_date_hosts: number;
  awaiting_data_hosts: number;
  reboot_required_hosts: number;
  pending_hosts: number;
  inactive_hosts: number;
  offline_hosts: number;
  connected_agents: number;
  total_outdated_packages: number;
  security_updates: number;
  total_repos: number;
  recent_updates_24h: number;
  os_distribution: { os_type: string | null; os_version: string | null; name: string; count: number }[];
  agent_versions: { version: string | null; count: number }[];
  update_interval: number;
  last_updated: string | null;
}

export interface TrendPoint {
  timestamp: string;
  total_hosts: number;
  hosts_needing_updates: number;
  security_updates: number;
  total_outdated_packages: number;
  up_to_date_hosts: number;
  offline_hosts: number;
}

export interface Settings {
  server_protocol: 'http' | 'https';
  server_host: string;
  server_port: number;
  server_url: string;
  update_interval: number;
  auto_update: boolean;
  ignore_ssl_self_signed: boolean;
  branding_name: string;
  has_logo: boolean;
  logo_updated_at: string | null;
  updated_at: string | null;
  agents_notified?: number;
}

/** A saved host-table view (`/api/v1/hosts/views`), the caller's own. */
export interface HostView {
  id: string;
  name: string;
  columns: string[];
  sort: string | null;
  order: 'asc' | 'desc' | null;
  filters: Record<string, string>;
  is_default: boolean;
  created_at: string;
  updated_at: string;
}

/** One card of the dashboard layout (`/api/v1/dashboard-preferences`). */
export interface DashboardCardPref {
  card_id: string;
  enabled: boolean;
  order: number;
  col_span?: number;
}

// Integrations (docs/integrations.md "Token administration")

export type IntegrationType = 'proxmox-lxc' | 'direct-host' | 'api' | 'gethomepage';

/** Resource → actions, for `api` tokens only (e.g. `{"host": ["get"]}`). */
export type TokenScopes = Record<string, string[]>;

export interface IntegrationToken {
  id: string;
  token_name: string;
  token_key: string;
  /** One of IntegrationType; kept open so an unknown type still lists. */
  integration_type: string;
  is_active: boolean;
  is_expired: boolean;
  allowed_ip_ranges: string[];
  max_hosts_per_day: number;
  hosts_created_today: number;
  last_used_at: string | null;
  expires_at: string | null;
  created_at: string;
  updated_at?: string;
  default_host_group_id: string | null;
  metadata: Record<string, unknown>;
  scopes: TokenScopes | null;
  host_groups: { id: string; name: string; color: string } | null;
  users: { id: string; username: string; first_name: string | null; last_name: string | null } | null;
}

/** The create answer's token: the only time `token_secret` is sent. */
export interface CreatedIntegrationToken extends IntegrationToken {
  token_secret: string;
}

export interface TokenInput {
  token_name?: string;
  integration_type?: IntegrationType;
  is_active?: boolean;
  max_hosts_per_day?: number;
  allowed_ip_ranges?: string[];
  /** `""`/null clears it (PATCH). */
  default_host_group_id?: string | null;
  /** ISO 8601 or a bare date (end of that day, UTC); null clears it (PATCH). */
  expires_at?: string | null;
  scopes?: TokenScopes;
}
