import { expectShape, queryString, request } from './client';
import type {
  ApiRequest,
  Alert,
  AlertAnswer,
  AlertConfig,
  AlertConfigAnswer,
  AlertConfigList,
  AlertDetail,
  AlertList,
  AlertStatus,
  AlertSummary,
  ChannelAnswer,
  ChannelKind,
  ChannelList,
  ChannelView,
  DeliveryList,
  Job,
  JobAnswer,
  JobList,
  JobStatus,
  QueueOverview,
  Severity,
  TestResult,
} from './model';

export type {
  Alert,
  AlertConfig,
  AlertDetail,
  AlertHistoryEntry,
  AlertList,
  AlertStatus,
  AlertSummary,
  ChannelKind,
  Delivery,
  DeliveryList,
  Job,
  JobList,
  JobStatus,
  QueueInfo,
  Severity,
  TaskStat,
  TestResult,
} from './model';
/** Names the pages use for generated types. */
export type QueuesOverview = QueueOverview;
export type Channel = ChannelView;

type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type Expect<T extends true> = T;

// Operations APIs: alerts (backend/src/alerts), the job queue monitor
// (backend/src/queue/api.rs) and notification channels (backend/src/notify).
// Wire types are generated from the server's OpenAPI document (types.ts);
// the value lists below are checked against them at compile time.

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
export type SeveritiesMatchServer = Expect<Same<(typeof SEVERITIES)[number], Severity>>;

export const ALERT_STATUSES = ['open', 'acknowledged', 'silenced', 'resolved'] as const;
export type AlertStatusesMatchServer = Expect<Same<(typeof ALERT_STATUSES)[number], AlertStatus>>;





/** `POST /api/v1/alerts/{id}/actions`; `note` at most 2000 characters. */
export type AlertAction =
  | { action: 'acknowledge' | 'resolve' | 'reopen' | 'unassign'; note?: string }
  | { action: 'silence'; until: string; note?: string }
  | { action: 'assign'; user_id: string; note?: string };



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
  const body = expectShape<AlertAnswer>(await request(`/api/v1/alerts/${id(alertId)}/actions`, { method: 'POST', body: action satisfies ApiRequest<'POST /api/v1/alerts/{id}/actions', typeof action> }), 'alert action', {
    alert: 'object',
  });
  return body.alert;
}

export async function listAlertConfig(signal?: AbortSignal): Promise<AlertConfig[]> {
  return expectShape<AlertConfigList>(await request(`/api/v1/alerts/config`, opts(signal)), 'alert config', { config: 'array' }).config;
}

export async function updateAlertConfig(alertType: string, input: AlertConfigInput): Promise<AlertConfig> {
  return expectShape<AlertConfigAnswer>(await request(`/api/v1/alerts/config/${id(alertType)}`, { method: 'PUT', body: input satisfies ApiRequest<'PUT /api/v1/alerts/config/{alert_type}', typeof input> }), 'alert config', {
    config: 'object',
  }).config;
}

// ---------------------------------------------------------------- Queues

export const AGENT_COMMANDS = 'agent-commands';
/** Jobs of the agent-commands queue (`queue::Command`). */
export const COMMAND_NAMES = ['report_now', 'update_agent', 'refresh_integration_status', 'docker_inventory_refresh'] as const;
export const JOB_STATUSES = ['queued', 'delayed', 'waiting', 'active', 'completed', 'failed'] as const;
export type JobStatusesMatchServer = Expect<Same<(typeof JOB_STATUSES)[number], JobStatus>>;






export async function listQueues(signal?: AbortSignal): Promise<QueuesOverview> {
  return expectShape<QueueOverview>(await request(`/api/v1/queues`, opts(signal)), 'queues', { queues: 'array', storage: 'string' });
}

export async function listJobs(params: Params, signal?: AbortSignal): Promise<JobList> {
  return expectShape<JobList>(await request(`/api/v1/queues/jobs${queryString(params)}`, opts(signal)), 'jobs', { jobs: 'array', total: 'number' });
}

export async function getJob(jobId: string, signal?: AbortSignal): Promise<Job> {
  return expectShape<JobAnswer>(await request(`/api/v1/queues/jobs/${id(jobId)}`, opts(signal)), 'job', { job: 'object' }).job;
}

/** Failed agent commands only (409 otherwise). */
export async function retryJob(jobId: string): Promise<Job> {
  return expectShape<JobAnswer>(await request(`/api/v1/queues/jobs/${id(jobId)}/retry`, { method: 'POST' }), 'retry job', { job: 'object' }).job;
}

/** Any job that is not active (409 for an active one). */
export async function removeJob(jobId: string): Promise<void> {
  await request(`/api/v1/queues/jobs/${id(jobId)}`, { method: 'DELETE' });
}

/** Runs a scheduled task now and answers with the finished job (409 "Already running"). */
export async function runQueue(name: string): Promise<Job> {
  return expectShape<JobAnswer>(await request(`/api/v1/queues/${id(name)}/run`, { method: 'POST' }), 'run queue', { job: 'object' }).job;
}

// ---------------------------------------------------------------- Notifications

export const CHANNEL_KINDS = ['webhook', 'email', 'ntfy', 'gotify'] as const;
export type ChannelKindsMatchServer = Expect<Same<(typeof CHANNEL_KINDS)[number], ChannelKind>>;
/** Events a channel can subscribe to besides the alert types; an empty list means everything. */
export const CHANNEL_EVENTS = ['alert_raised', 'alert_resolved'] as const;
/** What the server answers in place of a stored secret, and what keeps it when sent back. */
export const REDACTED = '********';
/** Config keys the server redacts. */
export const SECRET_KEYS = ['secret', 'token', 'password'] as const;


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



export async function listChannels(signal?: AbortSignal): Promise<Channel[]> {
  return expectShape<ChannelList>(await request(`/api/v1/notifications/channels`, opts(signal)), 'channels', { channels: 'array' }).channels;
}

export async function createChannel(input: ChannelInput): Promise<Channel> {
  return expectShape<ChannelAnswer>(await request(`/api/v1/notifications/channels`, { method: 'POST', body: input satisfies ApiRequest<'POST /api/v1/notifications/channels', typeof input> }), 'create channel', {
    channel: 'object',
  }).channel;
}

export async function updateChannel(channelId: string, input: ChannelInput): Promise<Channel> {
  return expectShape<ChannelAnswer>(await request(`/api/v1/notifications/channels/${id(channelId)}`, { method: 'PUT', body: input satisfies ApiRequest<'PUT /api/v1/notifications/channels/{id}', typeof input> }), 'update channel', {
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

/** One page, newest first; filters channel_id, status; limit 1–1000 (default 100), offset. */
export async function listDeliveries(params: Params, signal?: AbortSignal): Promise<DeliveryList> {
  return expectShape<DeliveryList>(await request(`/api/v1/notifications/deliveries${queryString(params)}`, opts(signal)), 'deliveries', {
    deliveries: 'array',
    total: 'number',
  });
}
