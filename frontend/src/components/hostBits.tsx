import type { EffectiveStatus, GroupRef, ReportingState } from '../api/model';
import { Badge } from './ui';

export function StatusBadge({ status, reporting }: { status: EffectiveStatus; reporting?: ReportingState | null }) {
  const color = status === 'active' ? (reporting === 'overdue' ? 'amber' : 'green') : status === 'pending' ? 'slate' : 'red';
  return <Badge color={color}>{status === 'active' && reporting === 'overdue' ? 'overdue' : status}</Badge>;
}

export function ConnectedDot({ connected }: { connected: boolean }) {
  return (
    <span
      title={connected ? 'Agent connected' : 'Agent not connected'}
      aria-label={connected ? 'Agent connected' : 'Agent not connected'}
      className={`inline-block h-2 w-2 rounded-full ${connected ? 'bg-emerald-500' : 'bg-slate-400'}`}
    />
  );
}

/** Black or white text, whichever reads better on `hex`. */
function textOn(hex: string): string {
  const m = /^#?([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(hex);
  if (!m) return '#fff';
  const [r, g, b] = [m[1], m[2], m[3]].map((x) => parseInt(x ?? '0', 16));
  return 0.299 * (r ?? 0) + 0.587 * (g ?? 0) + 0.114 * (b ?? 0) > 150 ? '#0f172a' : '#fff';
}

export function GroupChip({ group }: { group: Pick<GroupRef, 'name' | 'color'> }) {
  return (
    <span className="inline-flex items-center rounded px-1.5 py-0.5 text-xs font-medium" style={{ backgroundColor: group.color, color: textOn(group.color) }}>
      {group.name}
    </span>
  );
}

export function GroupChips({ groups }: { groups: GroupRef[] }) {
  if (groups.length === 0) return <span className="text-xs text-slate-400">—</span>;
  return (
    <span className="flex flex-wrap gap-1">
      {groups.map((g) => (
        <GroupChip key={g.id} group={g} />
      ))}
    </span>
  );
}
