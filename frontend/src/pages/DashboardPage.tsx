import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { Link } from 'react-router';
import { getDashboardLayout, getDashboardStats, getTrends, saveDashboardLayout } from '../api/fleet';
import { errorMessage } from '../api/errors';
import type { DashboardCardPref, DashboardStats } from '../api/model';
import { ErrorPanel } from '../components/ErrorPanel';
import { formatDate } from '../components/format';
import { TrendChart, type Series } from '../components/TrendChart';
import { Button, Card, Loading, PageHeader, selectClass } from '../components/ui';
import { useToast } from '../toast/context';

interface CardDef {
  id: keyof DashboardStats;
  label: string;
  /** Hosts list filtered to what the number counts. */
  to?: string;
  tone?: 'red' | 'amber' | 'green';
}

const CARDS: CardDef[] = [
  { id: 'total_hosts', label: 'Total hosts', to: '/hosts' },
  { id: 'hosts_needing_updates', label: 'Hosts needing updates', to: '/hosts?needs_updates=true', tone: 'amber' },
  { id: 'hosts_with_security_updates', label: 'Hosts with security updates', to: '/hosts?security_updates=true', tone: 'red' },
  { id: 'up_to_date_hosts', label: 'Up to date', to: '/hosts?needs_updates=false', tone: 'green' },
  { id: 'reboot_required_hosts', label: 'Reboot required', to: '/hosts?needs_reboot=true', tone: 'amber' },
  { id: 'inactive_hosts', label: 'Inactive', to: '/hosts?status=inactive', tone: 'red' },
  { id: 'offline_hosts', label: 'Offline (> 3× interval)', tone: 'red' },
  { id: 'pending_hosts', label: 'Pending (no report yet)', to: '/hosts?status=pending' },
  { id: 'connected_agents', label: 'Agents connected' },
  { id: 'total_outdated_packages', label: 'Outdated packages', to: '/packages?needs_update=true', tone: 'amber' },
  { id: 'security_updates', label: 'Packages with security updates', to: '/packages?security=true', tone: 'red' },
  { id: 'recent_updates_24h', label: 'Reports in the last 24 h' },
];

const TONES = { red: 'text-red-600 dark:text-red-400', amber: 'text-amber-600 dark:text-amber-400', green: 'text-emerald-600 dark:text-emerald-400' };

const SERIES: Series[] = [
  { key: 'total_hosts', label: 'Hosts', color: '#3b82f6' },
  { key: 'hosts_needing_updates', label: 'Needing updates', color: '#f59e0b' },
  { key: 'security_updates', label: 'Security updates', color: '#ef4444' },
  { key: 'up_to_date_hosts', label: 'Up to date', color: '#10b981' },
];

/** The cards in the user's saved order and visibility; cards the layout does not mention are shown at the end. */
function arrangeCards(layout: DashboardCardPref[] | undefined): { card: CardDef; enabled: boolean }[] {
  const byId = new Map((layout ?? []).map((l) => [l.card_id, l]));
  return CARDS.map((card, i) => ({ card, enabled: byId.get(card.id)?.enabled ?? true, order: byId.get(card.id)?.order ?? 1000 + i }))
    .sort((a, b) => a.order - b.order)
    .map(({ card, enabled }) => ({ card, enabled }));
}

export default function DashboardPage() {
  const stats = useQuery({ queryKey: ['dashboard-stats'], queryFn: ({ signal }) => getDashboardStats(signal), refetchInterval: 60_000 });
  const [days, setDays] = useState(30);
  const trends = useQuery({ queryKey: ['dashboard-trends', days], queryFn: ({ signal }) => getTrends(days, signal) });
  const layout = useQuery({ queryKey: ['dashboard-layout'], queryFn: getDashboardLayout });
  const [editing, setEditing] = useState<{ card: CardDef; enabled: boolean }[] | null>(null);
  const queryClient = useQueryClient();
  const toast = useToast();
  const saveLayout = useMutation({
    mutationFn: (cards: { card: CardDef; enabled: boolean }[]) => saveDashboardLayout(cards.map((c, order) => ({ card_id: c.card.id, enabled: c.enabled, order }))),
    onSuccess: (saved) => {
      queryClient.setQueryData(['dashboard-layout'], saved);
      setEditing(null);
      toast.show({ kind: 'success', message: 'Dashboard layout saved' });
    },
    onError: (e) => toast.show({ kind: 'error', message: `Could not save the layout: ${errorMessage(e)}` }),
  });
  const arranged = editing ?? arrangeCards(layout.data);
  function move(i: number, by: number) {
    if (!editing) return;
    const next = [...editing];
    const [item] = next.splice(i, 1);
    if (item) next.splice(i + by, 0, item);
    setEditing(next);
  }

  return (
    <div className="space-y-6">
      <PageHeader
        title="Dashboard"
        subtitle={stats.data ? `Updated ${formatDate(stats.data.last_updated)} · agents report every ${stats.data.update_interval} min` : undefined}
        actions={
          editing ? (
            <>
              <Button onClick={() => setEditing(null)}>Cancel</Button>
              <Button variant="primary" onClick={() => saveLayout.mutate(editing)} disabled={saveLayout.isPending}>
                Save layout
              </Button>
            </>
          ) : (
            <Button onClick={() => setEditing(arrangeCards(layout.data))}>Customize</Button>
          )
        }
      />
      {stats.isPending ? <Loading /> : null}
      {stats.isError ? <ErrorPanel title="Could not load the statistics" message={errorMessage(stats.error)} onRetry={() => void stats.refetch()} /> : null}
      {stats.data ? (
        <>
          <ul className="grid grid-cols-2 gap-3 md:grid-cols-3 xl:grid-cols-4" aria-label="Statistics">
            {arranged.map(({ card: c, enabled }, i) => {
              if (!enabled && !editing) return null;
              const value = stats.data[c.id];
              const body = (
                <>
                  <span className="block text-xs font-medium uppercase tracking-wide text-slate-500">{c.label}</span>
                  <span className={`mt-1 block text-2xl font-semibold tabular-nums ${c.tone && typeof value === 'number' && value > 0 ? TONES[c.tone] : ''}`}>
                    {typeof value === 'number' ? value.toLocaleString() : '—'}
                  </span>
                </>
              );
              const cls = 'block rounded-lg border border-slate-200 bg-white p-4 shadow-sm dark:border-slate-800 dark:bg-slate-900';
              if (editing) {
                return (
                  <li key={c.id} data-card={c.id} className={`rounded-lg border border-dashed border-slate-300 p-3 dark:border-slate-700 ${enabled ? '' : 'opacity-50'}`}>
                    <label className="flex items-center gap-2 text-sm font-medium">
                      <input
                        type="checkbox"
                        checked={enabled}
                        onChange={(e) => setEditing(editing.map((x, j) => (j === i ? { ...x, enabled: e.target.checked } : x)))}
                      />
                      {c.label}
                    </label>
                    <div className="mt-2 flex gap-1">
                      <Button variant="ghost" aria-label={`Move ${c.label} earlier`} onClick={() => move(i, -1)} disabled={i === 0}>
                        ←
                      </Button>
                      <Button variant="ghost" aria-label={`Move ${c.label} later`} onClick={() => move(i, 1)} disabled={i === arranged.length - 1}>
                        →
                      </Button>
                    </div>
                  </li>
                );
              }
              return (
                <li key={c.id} data-card={c.id}>
                  {c.to ? (
                    <Link to={c.to} className={`${cls} hover:border-blue-400`}>
                      {body}
                    </Link>
                  ) : (
                    <div className={cls}>{body}</div>
                  )}
                </li>
              );
            })}
          </ul>
          <div className="grid gap-6 lg:grid-cols-3">
            <Card
              title="Trend"
              className="lg:col-span-2"
              actions={
                <select aria-label="Period" className={selectClass} value={days} onChange={(e) => setDays(Number(e.target.value))}>
                  <option value={7}>7 days</option>
                  <option value={30}>30 days</option>
                  <option value={90}>90 days</option>
                </select>
              }
            >
              {trends.isPending ? <Loading /> : null}
              {trends.isError ? <ErrorPanel title="Could not load the trend" message={errorMessage(trends.error)} /> : null}
              {trends.data?.scoped ? (
                <p className="text-sm text-slate-500">Trends are recorded for the whole fleet, so they are not shown to roles limited to host groups.</p>
              ) : trends.data ? (
                <TrendChart points={trends.data.points} series={SERIES} />
              ) : null}
            </Card>
            <Card title="Operating systems">
              <OsDistribution stats={stats.data} />
            </Card>
          </div>
          <Card title="Agent versions">
            <ul className="flex flex-wrap gap-3 text-sm">
              {stats.data.agent_versions.length === 0 ? <li className="text-slate-500">No agents yet.</li> : null}
              {stats.data.agent_versions.map((a) => (
                <li key={a.version ?? 'unknown'} className="rounded border border-slate-200 px-2 py-1 dark:border-slate-700">
                  {a.version ?? 'unknown'}: <span className="font-semibold tabular-nums">{a.count}</span>
                </li>
              ))}
            </ul>
          </Card>
        </>
      ) : null}
    </div>
  );
}

function OsDistribution({ stats }: { stats: DashboardStats }) {
  const rows = stats.os_distribution;
  if (rows.length === 0) return <p className="text-sm text-slate-500">No host has reported its OS yet.</p>;
  const max = Math.max(...rows.map((r) => r.count));
  return (
    <ul className="space-y-2 text-sm" aria-label="OS distribution">
      {rows.slice(0, 12).map((r) => (
        <li key={r.name}>
          <div className="flex justify-between gap-2">
            {r.os_type ? (
              <Link to={`/hosts?os=${encodeURIComponent(r.os_type)}`} className="truncate hover:underline">
                {r.name}
              </Link>
            ) : (
              <span>{r.name}</span>
            )}
            <span className="tabular-nums">{r.count.toLocaleString()}</span>
          </div>
          <div className="mt-1 h-1.5 rounded bg-slate-100 dark:bg-slate-800">
            <div className="h-1.5 rounded bg-blue-500" style={{ width: `${(r.count / max) * 100}%` }} />
          </div>
        </li>
      ))}
      {rows.length > 12 ? <li className="text-xs text-slate-500">and {rows.length - 12} more</li> : null}
    </ul>
  );
}
