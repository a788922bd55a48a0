import { expectShape, queryString, request } from './client';

// Operations APIs: alerts (backend/src/alerts), the job queue monitor
// (backend/src/queue/api.rs) and notification channels (backend/src/notify).
// Wire types are written to match the server's JSON exactly (docs/queue.md).

type Params = Record<string, string | number | boolean | undefined | null>;
const id = encodeURIComponent;
const opts = (signal?: AbortSignal) => (signal ? { signal } : {});

// ---------------------------------------------------------------- Alerts

/** Alert types the server knows (`alerts::TYPES`). */
export const ALERT_TYPES = [
  'host_down',
  'security_updates_available',
  'updates_available',
  'reboot_required',
  'agent_outdated',
  'server_update',
  'compliance_failed',
] as const;

/** In increasing order (`alerts::SEVERITIES`). */
export const SEVERITIES = ['info', 'warning', 'error', 'critical'] as const;
export type Severity = (typeof SEVERITIES)[number];

export const ALERT_STATUSES = ['open', 'acknowledged', 'silenced', 'resolved'] as const;
export type AlertStatus = (typeof ALERT_STATUSES)[number];

export interface Alert {
  id: string;
  alert_type: string;
  severity: Severity;
  status: AlertStatus;
  title: string;
  message: string;
  host_id: string | null;
  metadata: Record<string, unknown>;
  assigned_to_user_id: string | null;
  silenced_until: string | null;
  acknowledged_at: string | null;
  acknowledged_by: string | null;
  resolved_at: string | null;
  resolved_by: string | null;
  created_at: string;
  updated_at: string;
}

/** `GET /api/v1/alerts` (filters: severity, type, status, assigned_to, host_id; limit 1–500, default 50; offset). */
export interface AlertList {
  alerts: Alert[];
  total: number;
  limit: number;
  offset: number;
}

export interface AlertHistoryEntry {
  /** created, assigned, acknowledged, resolved, reopened, unassigned, silenced, auto_resolved, silence_expired */
  action: string;
  /** Null for the server's own actions. */
  user_id: string | null;
  note: string | null;
  created_at: string;
}

export interface AlertDetail {
  alert: Alert;
  history: AlertHistoryEntry[];
}

/** `POST /api/v1/alerts/{id}/actions`; `note` at most 2000 characters. */
export type AlertAction =
  | { action: 'acknowledge' | 'resolve' | 'reopen' | 'unassign'; note?: string }
  | { action: 'silence'; until: string; note?: string }
  | { action: 'assign'; user_id: string; note?: string };

export interface AlertSummary {
  days: number;
  /** Alerts created in the window. */
  total: number;
  by_type: Record<string, number>;
  by_severity: Record<string, number>;
  /** Current status totals (all alerts, not only the window). */
  by_status: Record<string, number>;
  per_day: { date: string; by_severity: Record<string, number> }[];
}

export interface AlertConfig {
  alert_type: string;
  enabled: boolean;
  default_severity: Severity;
  auto_assign_user_id: string | null;
  auto_resolve: boolean;
  retention_days: number;
  /** `threshold_seconds` (0–86400) for host_down. */
  metadata: Record<string, unknown>;
}

export type AlertConfigInput = Partial<Omit<AlertConfig, 'alert_type'>>;

export async function listAlerts(params: Params, signal?: AbortSignal): Promise<AlertList> {
  return expectShape<AlertList>(await request(`/api/v1/alerts${queryString(params)}`, opts(signal)), 'alerts', { alerts: 'array', total: 'number' });
}

export async function getAlertSummary(days: number, signal?: AbortSignal): Promise<AlertSummary> {
  return expectShape<AlertSummary>(await request(`/api/v1/alerts/summary${queryString({ days })}`, opts(signal)), 'alert summary', {
    by_status: 'object',
    by_severity: 'object',
    total: 'number',
  });
}

export async function getAlert(alertId: string, signal?: AbortSignal): Promise<AlertDetail> {
  return expectShape<AlertDetail>(await request(`/api/v1/alerts/${id(alertId)}`, opts(signal)), 'alert', { alert: 'object', history: 'array' });
}

export async function alertAction(alertId: string, action: AlertAction): Promise<Alert> {
  const body = expectShape<{ alert: Alert }>(await request(`/api/v1/alerts/${id(alertId)}/actions`, { method: 'POST', body: action }), 'alert action', {
    alert: 'object',
  });
  return body.alert;
}

export async function listAlertConfig(signal?: AbortSignal): Promise<AlertConfig[]> {
  return expectShape<{ config: AlertConfig[] }>(await request(`/api/v1/alerts/config`, opts(signal)), 'alert config', { config: 'array' }).config;
}

export async function updateAlertConfig(alertType: string, input: AlertConfigInput): Promise<AlertConfig> {
  return expectShape<{ config: AlertConfig }>(await request(`/api/v1/alerts/config/${id(alertType)}`, { method: 'PUT', body: input }), 'alert config', {
    config: 'object',
  }).config;
}

// ---------------------------------------------------------------- Queues

export const AGENT_COMMANDS = 'agent-commands';
/** Jobs of the agent-commands queue (`queue::Command`). */
export const COMMAND_NAMES = ['report_now', 'update_agent', 'refresh_integration_status', 'docker_inventory_refresh'] as const;
export const JOB_STATUSES = ['queued', 'delayed', 'waiting', 'active', 'completed', 'failed'] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];

/** What the scheduler last did for a task (`scheduler::TaskStat`); absent until the scheduler has seen the task. */
export interface TaskStat {
  next_due: string | null;
  last_due: string | null;
  last_started: string | null;
  last_drift_ms: number | null;
  max_drift_ms: number;
  runs: number;
}

export interface QueueInfo {
  name: string;
  kind: 'on_demand' | 'scheduled';
  /** queued + waiting */
  waiting: number;
  waiting_for_agent: number;
  active: number;
  delayed: number;
  failed: number;
  completed: number;
  /** Redis storage only: ids in the ready set (−1 when Redis did not answer). */
  redis_ready?: number;
  /** Scheduled queues: the cron expression in effect. */
  schedule?: string;
  scheduler?: TaskStat;
}

export interface QueuesOverview {
  storage: 'database' | 'redis';
  replica_id: string;
  queues: QueueInfo[];
}

export interface Job {
  id: string;
  /** The job's own id (agent commands) or the occurrence (`<due time>` or `manual:<uuid>`) of a scheduled task. */
  job_id: string;
  queue_name: string;
  job_name: string;
  host_id: string | null;
  api_id: string | null;
  status: JobStatus;
  attempt: number;
  max_attempts: number;
  error_message: string | null;
  output: unknown;
  run_at: string | null;
  expires_at: string | null;
  started_at: string | null;
  created_at: string;
  updated_at: string;
  completed_at: string | null;
}

/** `GET /api/v1/queues/jobs` (filters: queue, status, host_id, job_name; limit 1–500, default 50; offset). */
export interface JobList {
  jobs: Job[];
  total: number;
  limit: number;
  offset: number;
}

export async function listQueues(signal?: AbortSignal): Promise<QueuesOverview> {
  return expectShape<QueuesOverview>(await request(`/api/v1/queues`, opts(signal)), 'queues', { queues: 'array', storage: 'string' });
}

export async function listJobs(params: Params, signal?: AbortSignal): Promise<JobList> {
  return expectShape<JobList>(await request(`/api/v1/queues/jobs${queryString(params)}`, opts(signal)), 'jobs', { jobs: 'array', total: 'number' });
}

export async function getJob(jobId: string, signal?: AbortSignal): Promise<Job> {
  return expectShape<{ job: Job }>(await request(`/api/v1/queues/jobs/${id(jobId)}`, opts(signal)), 'job', { job: 'object' }).job;
}

/** Failed agent commands only (409 otherwise). */
export async function retryJob(jobId: string): Promise<Job> {
  return expectShape<{ job: Job }>(await request(`/api/v1/queues/jobs/${id(jobId)}/retry`, { method: 'POST' }), 'retry job', { job: 'object' }).job;
}

/** Any job that is not active (409 for an active one). */
export async function removeJob(jobId: string): Promise<void> {
  await request(`/api/v1/queues/jobs/${id(jobId)}`, { method: 'DELETE' });
}

/** Runs a scheduled task now and answers with the finished job (409 "Already running"). */
export async function runQueue(name: string): Promise<Job> {
  return expectShape<{ job: Job }>(await request(`/api/v1/queues/${id(name)}/run`, { method: 'POST' }), 'run queue', { job: 'object' }).job;
}

// ---------------------------------------------------------------- Notifications

export const CHANNEL_KINDS = ['webhook', 'email', 'ntfy', 'gotify'] as const;
export type ChannelKind = (typeof CHANNEL_KINDS)[number];
/** Events a channel can subscribe to besides the alert types; an empty list means everything. */
export const CHANNEL_EVENTS = ['alert_raised', 'alert_resolved'] as const;
/** What the server answers in place of a stored secret, and what keeps it when sent back. */
export const REDACTED = '********';
/** Config keys the server redacts. */
export const SECRET_KEYS = ['secret', 'token', 'password'] as const;

export interface Channel {
  id: string;
  name: string;
  kind: ChannelKind;
  enabled: boolean;
  /**
   * webhook: url, secret?; ntfy: topic, url?, token?; gotify: url, token;
   * email: host, port?, security? (starttls | tls | none), username?, password?, from, to[].
   * Secrets come back as "********".
   */
  config: Record<string, unknown>;
  events: string[];
  min_severity: Severity;
  host_group_id: string | null;
  cooldown_seconds: number;
  created_at: string;
  updated_at: string;
}

/** Body of create and update (update replaces every field; a secret sent as "********" keeps the stored one). */
export interface ChannelInput {
  name: string;
  kind: ChannelKind;
  enabled: boolean;
  config: Record<string, unknown>;
  events: string[];
  min_severity: Severity;
  host_group_id: string | null;
  cooldown_seconds: number;
}

export interface TestResult {
  status: 'sent' | 'failed';
  attempts: number;
  error: string | null;
}

export interface Delivery {
  id: string;
  channel_id: string;
  alert_id: string | null;
  host_id: string | null;
  /** "test" for test sends. */
  alert_type: string;
  /** alert_raised, alert_resolved or test */
  event: string;
  status: 'sent' | 'skipped_cooldown' | 'failed';
  attempts: number;
  error: string | null;
  created_at: string;
}

export async function listChannels(signal?: AbortSignal): Promise<Channel[]> {
  return expectShape<{ channels: Channel[] }>(await request(`/api/v1/notifications/channels`, opts(signal)), 'channels', { channels: 'array' }).channels;
}

export async function createChannel(input: ChannelInput): Promise<Channel> {
  return expectShape<{ channel: Channel }>(await request(`/api/v1/notifications/channels`, { method: 'POST', body: input }), 'create channel', {
    channel: 'object',
  }).channel;
}

export async function updateChannel(channelId: string, input: ChannelInput): Promise<Channel> {
  return expectShape<{ channel: Channel }>(await request(`/api/v1/notifications/channels/${id(channelId)}`, { method: 'PUT', body: input }), 'update channel', {
    channel: 'object',
  }).channel;
}

export async function deleteChannel(channelId: string): Promise<void> {
  await request(`/api/v1/notifications/channels/${id(channelId)}`, { method: 'DELETE' });
}

export async function testChannel(channelId: string): Promise<TestResult> {
  return expectShape<TestResult>(await request(`/api/v1/notifications/channels/${id(channelId)}/test`, { method: 'POST' }), 'test channel', {
    status: 'string',
    attempts: 'number',
  });
}

/** Newest first; filters channel_id, status; limit 1–1000, default 100. */
export async function listDeliveries(params: Params, signal?: AbortSignal): Promise<Delivery[]> {
  return expectShape<{ deliveries: Delivery[] }>(await request(`/api/v1/notifications/deliveries${queryString(params)}`, opts(signal)), 'deliveries', {
    deliveries: 'array',
  }).deliveries;
}
