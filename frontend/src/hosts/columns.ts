import type { HostView } from '../api/model';

/** Columns of the hosts table that can be hidden; the name column always shows. */
export const HOST_COLUMNS = [
  { id: 'ip', label: 'IP', sort: 'ip' },
  { id: 'os', label: 'OS', sort: 'os' },
  { id: 'status', label: 'Status', sort: 'status' },
  { id: 'updates', label: 'Updates', sort: 'updates' },
  { id: 'security_updates', label: 'Security', sort: 'security_updates' },
  { id: 'needs_reboot', label: 'Reboot', sort: 'needs_reboot' },
  { id: 'groups', label: 'Groups', sort: null },
  { id: 'agent_version', label: 'Agent', sort: 'agent_version' },
  { id: 'last_update', label: 'Last report', sort: 'last_update' },
] as const;

export type HostColumn = (typeof HOST_COLUMNS)[number]['id'];

export const DEFAULT_COLUMNS: HostColumn[] = HOST_COLUMNS.map((c) => c.id);

/** The visible columns from the `cols` URL parameter (all when absent; unknown names dropped). */
export function readColumns(param: string | null): HostColumn[] {
  if (param === null) return DEFAULT_COLUMNS;
  const wanted = new Set(param.split(','));
  return DEFAULT_COLUMNS.filter((c) => wanted.has(c));
}

/** The `cols` parameter for `columns` (null when it is the default set). */
export function columnsParam(columns: readonly string[]): string | null {
  const set = new Set(columns);
  const cols = DEFAULT_COLUMNS.filter((c) => set.has(c));
  return cols.length === DEFAULT_COLUMNS.length ? null : cols.join(',');
}

/** The URL of the hosts table showing `view`. */
export function viewParams(view: HostView): URLSearchParams {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(view.filters)) if (typeof v === 'string' && v) p.set(k, v);
  if (view.sort) p.set('sort', view.sort);
  if (view.order) p.set('order', view.order);
  const cols = columnsParam(view.columns);
  if (cols !== null) p.set('cols', cols);
  return p;
}

