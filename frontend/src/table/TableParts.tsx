import { useEffect, useId, useState } from 'react';
import type { Pagination } from '../api/model';
import { Button, inputClass, selectClass, thClass } from '../components/ui';
import { PAGE_SIZES, toggleSort, type TableState } from './urlState';

export function SortHeader({
  column,
  label,
  state,
  onChange,
  className = '',
}: {
  column: string;
  label: string;
  state: TableState;
  onChange: (c: Partial<TableState>) => void;
  className?: string;
}) {
  const active = state.sort === column;
  return (
    <th className={`${thClass} ${className}`} aria-sort={active ? (state.order === 'asc' ? 'ascending' : 'descending') : 'none'}>
      <button type="button" className="inline-flex items-center gap-1 uppercase hover:text-slate-900 dark:hover:text-white" onClick={() => onChange(toggleSort(state, column))}>
        {label}
        <span aria-hidden="true">{active ? (state.order === 'asc' ? '▲' : '▼') : ''}</span>
      </button>
    </th>
  );
}

/** A search box that writes to the table state 300 ms after the last key. */
export function SearchBox({ value, onChange, placeholder }: { value: string; onChange: (v: string) => void; placeholder: string }) {
  const [text, setText] = useState(value);
  const [prev, setPrev] = useState(value);
  if (prev !== value) {
    // The URL changed under us (back button, a link): show it.
    setPrev(value);
    setText(value);
  }
  useEffect(() => {
    if (text === value) return;
    const t = setTimeout(() => onChange(text), 300);
    return () => clearTimeout(t);
  }, [text, value, onChange]);
  return (
    <input
      type="search"
      aria-label="Search"
      placeholder={placeholder}
      value={text}
      onChange={(e) => setText(e.target.value)}
      className={`${inputClass} max-w-xs`}
    />
  );
}

export function Pager({ pagination, state, onChange }: { pagination: Pagination | undefined; state: TableState; onChange: (c: Partial<TableState>) => void }) {
  const total = pagination?.total ?? 0;
  const pages = Math.max(1, pagination?.total_pages ?? 1);
  const from = total === 0 ? 0 : (state.page - 1) * state.limit + 1;
  const to = Math.min(total, state.page * state.limit);
  return (
    <div className="mt-3 flex flex-wrap items-center justify-between gap-3 text-sm">
      <span aria-live="polite">
        {total === 0 ? 'No results' : `${from.toLocaleString()}–${to.toLocaleString()} of ${total.toLocaleString()}`}
      </span>
      <div className="flex items-center gap-2">
        <label className="flex items-center gap-1 whitespace-nowrap">
          <span>Per page</span>
          <select className={selectClass} value={state.limit} onChange={(e) => onChange({ limit: Number(e.target.value) })}>
            {PAGE_SIZES.map((n) => (
              <option key={n}>{n}</option>
            ))}
          </select>
        </label>
        <Button onClick={() => onChange({ page: state.page - 1 })} disabled={state.page <= 1}>
          Previous
        </Button>
        <span>
          Page {state.page} of {pages}
        </span>
        <Button onClick={() => onChange({ page: state.page + 1 })} disabled={state.page >= pages}>
          Next
        </Button>
      </div>
    </div>
  );
}

export function FilterSelect({
  label,
  value,
  onChange,
  options,
  onOpen,
}: {
  label: string;
  value: string | undefined;
  onChange: (v: string) => void;
  options: { value: string; label: string }[];
  /** Called when the user focuses or presses the select, to load choices on demand. */
  onOpen?: () => void;
}) {
  const id = useId();
  return (
    <div className="flex flex-col text-xs font-medium text-slate-600 dark:text-slate-400">
      <label htmlFor={id}>{label}</label>
      <select id={id} className={`${selectClass} mt-0.5`} value={value ?? ''} onChange={(e) => onChange(e.target.value)} onFocus={onOpen} onPointerDown={onOpen}>
        <option value="">Any</option>
        {options.map((o) => (
          <option key={o.value} value={o.value}>
            {o.label}
          </option>
        ))}
      </select>
    </div>
  );
}
