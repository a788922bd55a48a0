import type { TrendPoint } from '../api/model';

export interface Series {
  key: keyof Omit<TrendPoint, 'timestamp'>;
  label: string;
  color: string;
}

const W = 640;
const H = 200;
const PAD = { l: 40, r: 10, t: 10, b: 24 };

/** A small inline-SVG line chart (no chart library, to keep the bundle small). */
export function TrendChart({ points, series }: { points: TrendPoint[]; series: Series[] }) {
  if (points.length === 0) {
    return <p className="text-sm text-slate-500">No snapshots yet. The statistics job records one every 30 minutes.</p>;
  }
  const times = points.map((p) => new Date(p.timestamp).getTime());
  const t0 = Math.min(...times);
  const t1 = Math.max(...times);
  const max = Math.max(1, ...points.flatMap((p) => series.map((s) => p[s.key])));
  const x = (t: number) => PAD.l + (t1 === t0 ? (W - PAD.l - PAD.r) / 2 : ((t - t0) / (t1 - t0)) * (W - PAD.l - PAD.r));
  const y = (v: number) => PAD.t + (1 - v / max) * (H - PAD.t - PAD.b);
  const ticks = [0, Math.round(max / 2), max];
  const fmt = (t: number) => new Date(t).toLocaleDateString(undefined, { month: 'short', day: 'numeric' });
  return (
    <figure>
      <svg viewBox={`0 0 ${W} ${H}`} role="img" aria-label={`Trend of ${series.map((s) => s.label).join(', ')}`} className="h-auto w-full">
        {ticks.map((v) => (
          <g key={v}>
            <line x1={PAD.l} x2={W - PAD.r} y1={y(v)} y2={y(v)} className="stroke-slate-200 dark:stroke-slate-800" />
            <text x={PAD.l - 6} y={y(v) + 4} textAnchor="end" className="fill-slate-500 text-[10px]">
              {v}
            </text>
          </g>
        ))}
        <text x={PAD.l} y={H - 6} className="fill-slate-500 text-[10px]">
          {fmt(t0)}
        </text>
        <text x={W - PAD.r} y={H - 6} textAnchor="end" className="fill-slate-500 text-[10px]">
          {fmt(t1)}
        </text>
        {series.map((s) => (
          <polyline
            key={s.key}
            fill="none"
            stroke={s.color}
            strokeWidth="2"
            strokeLinejoin="round"
            points={points.map((p, i) => `${x(times[i] ?? 0).toFixed(1)},${y(p[s.key]).toFixed(1)}`).join(' ')}
          />
        ))}
        {points.length === 1
          ? series.map((s) => <circle key={s.key} cx={x(times[0] ?? 0)} cy={y(points[0]?.[s.key] ?? 0)} r="3" fill={s.color} />)
          : null}
      </svg>
      <figcaption className="mt-2 flex flex-wrap gap-4 text-xs">
        {series.map((s) => (
          <span key={s.key} className="inline-flex items-center gap-1">
            <span className="inline-block h-2 w-4 rounded" style={{ backgroundColor: s.color }} />
            {s.label}
          </span>
        ))}
      </figcaption>
    </figure>
  );
}
