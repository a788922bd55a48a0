import { useCallback, useMemo } from 'react';
import { useSearchParams } from 'react-router';

export type Order = 'asc' | 'desc';

export interface TableSpec {
  /** Sort columns the server accepts; anything else in the URL is ignored. */
  sorts: readonly string[];
  defaultSort: string;
  defaultOrder?: Order;
  /** Filter parameter names passed through to the API as-is. */
  filters: readonly string[];
  defaultLimit?: number;
}

export interface TableState {
  page: number;
  limit: number;
  sort: string;
  order: Order;
  search: string;
  filters: Record<string, string>;
}

export const PAGE_SIZES = [25, 50, 100, 200] as const;

function positiveInt(value: string | null, fallback: number): number {
  if (value === null || !/^\d+$/.test(value)) return fallback;
  const n = Number(value);
  return n >= 1 ? n : fallback;
}

/** The table state in the URL (invalid or missing values fall back to the defaults). */
export function readTableState(params: URLSearchParams, spec: TableSpec): TableState {
  const defaultLimit = spec.defaultLimit ?? 50;
  const limit = positiveInt(params.get('limit'), defaultLimit);
  const sort = params.get('sort');
  const order = params.get('order');
  const filters: Record<string, string> = {};
  for (const f of spec.filters) {
    const v = params.get(f);
    if (v) filters[f] = v;
  }
  return {
    page: positiveInt(params.get('page'), 1),
    limit: (PAGE_SIZES as readonly number[]).includes(limit) ? limit : defaultLimit,
    sort: sort && spec.sorts.includes(sort) ? sort : spec.defaultSort,
    order: order === 'asc' || order === 'desc' ? order : (spec.defaultOrder ?? 'asc'),
    search: params.get('search') ?? '',
    filters,
  };
}

/** The URL form of `state`; defaults are left out so URLs stay short. Unrelated parameters in `base` are kept. */
export function writeTableState(state: TableState, spec: TableSpec, base = new URLSearchParams()): URLSearchParams {
  const out = new URLSearchParams(base);
  for (const k of ['page', 'limit', 'sort', 'order', 'search', ...spec.filters]) out.delete(k);
  if (state.search) out.set('search', state.search);
  for (const f of spec.filters) {
    const v = state.filters[f];
    if (v) out.set(f, v);
  }
  if (state.sort !== spec.defaultSort) out.set('sort', state.sort);
  if (state.order !== (spec.defaultOrder ?? 'asc')) out.set('order', state.order);
  if (state.limit !== (spec.defaultLimit ?? 50)) out.set('limit', String(state.limit));
  if (state.page !== 1) out.set('page', String(state.page));
  return out;
}

/** The API query parameters for `state`. */
export function apiParams(state: TableState): Record<string, string | number> {
  const p: Record<string, string | number> = { page: state.page, limit: state.limit, sort: state.sort, order: state.order };
  if (state.search) p.search = state.search;
  return { ...p, ...state.filters };
}

/**
 * Applies a change. Changing the search, a filter, the sort or the page size
 * goes back to page 1 (the old page number means nothing in the new list).
 */
export function applyChange(state: TableState, change: Partial<TableState>): TableState {
  const merged = { ...state.filters, ...(change.filters ?? {}) };
  const filters = Object.fromEntries(Object.entries(merged).filter(([, v]) => v));
  const next: TableState = { ...state, ...change, filters };
  const resets = change.search !== undefined || change.filters !== undefined || change.sort !== undefined || change.order !== undefined || change.limit !== undefined;
  if (resets && change.page === undefined) next.page = 1;
  return next;
}

/** Table state kept in the URL, so reloads, the back button and shared links keep it. */
export function useTableState(spec: TableSpec): [TableState, (change: Partial<TableState>) => void] {
  const [params, setParams] = useSearchParams();
  const state = useMemo(() => readTableState(params, spec), [params, spec]);
  const update = useCallback(
    (change: Partial<TableState>) => {
      setParams((current) => writeTableState(applyChange(readTableState(current, spec), change), spec, current), {
        // Typing in the search box should not push one history entry per key.
        replace: change.search !== undefined,
      });
    },
    [setParams, spec],
  );
  return [state, update];
}

/** Next sort state when a column header is clicked: same column flips the order. */
export function toggleSort(state: TableState, column: string): Partial<TableState> {
  if (state.sort === column) return { order: state.order === 'asc' ? 'desc' : 'asc' };
  return { sort: column, order: 'asc' };
}

/** Options of a yes/no filter (`true`/`false` on the wire). */
export const YES_NO = [
  { value: 'true', label: 'Yes' },
  { value: 'false', label: 'No' },
];
