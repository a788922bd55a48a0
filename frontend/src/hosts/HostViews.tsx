import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useRef, useState } from 'react';
import { useSearchParams } from 'react-router';
import { createHostView, deleteHostView, listHostViews } from '../api/fleet';
import { errorMessage } from '../api/errors';
import type { HostView } from '../api/model';
import { ErrorPanel } from '../components/ErrorPanel';
import { Button, Field, Modal, selectClass } from '../components/ui';
import type { TableState } from '../table/urlState';
import { useToast } from '../toast/context';
import { viewParams, type HostColumn } from './columns';

/** Saved views of the hosts table: apply one, save the current table, delete; the default view opens first. */
export function HostViews({ state, columns }: { state: TableState; columns: HostColumn[] }) {
  const views = useQuery({ queryKey: ['host-views'], queryFn: listHostViews });
  const [params, setParams] = useSearchParams();
  const [saving, setSaving] = useState(false);
  const appliedDefault = useRef(false);

  // A bare /hosts opens the user's default view, once.
  useEffect(() => {
    if (appliedDefault.current || !views.data) return;
    appliedDefault.current = true;
    const def = views.data.find((v) => v.is_default);
    if (def && [...params.keys()].length === 0) setParams(viewParams(def), { replace: true });
  }, [views.data, params, setParams]);

  return (
    <div className="flex items-end gap-2">
      <select
        aria-label="Saved views"
        className={selectClass}
        value=""
        onChange={(e) => {
          const v = views.data?.find((x) => x.id === e.target.value);
          if (v) setParams(viewParams(v));
        }}
      >
        <option value="">{views.data?.length ? 'Saved views…' : 'No saved views'}</option>
        {views.data?.map((v) => (
          <option key={v.id} value={v.id}>
            {v.name}
            {v.is_default ? ' (default)' : ''}
          </option>
        ))}
      </select>
      <Button onClick={() => setSaving(true)}>Views…</Button>
      {saving ? <SaveView state={state} columns={columns} views={views.data ?? []} onClose={() => setSaving(false)} /> : null}
    </div>
  );
}

function SaveView({ state, columns, views, onClose }: { state: TableState; columns: HostColumn[]; views: HostView[]; onClose: () => void }) {
  const [name, setName] = useState('');
  const [isDefault, setIsDefault] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const queryClient = useQueryClient();
  const toast = useToast();
  const refresh = () => queryClient.invalidateQueries({ queryKey: ['host-views'] });
  const save = useMutation({
    mutationFn: () =>
      createHostView({
        name: name.trim(),
        columns,
        sort: state.sort,
        order: state.order,
        filters: state.search ? { ...state.filters, search: state.search } : state.filters,
        is_default: isDefault,
      }),
    onSuccess: async () => {
      toast.show({ kind: 'success', message: `View ${name.trim()} saved` });
      await refresh();
      onClose();
    },
    onError: (e) => setError(errorMessage(e)),
  });
  const remove = useMutation({
    mutationFn: deleteHostView,
    onSuccess: async () => {
      toast.show({ kind: 'success', message: 'View deleted' });
      await refresh();
    },
    onError: (e) => setError(errorMessage(e)),
  });
  return (
    <Modal title="Saved views" onClose={onClose}>
      <form
        className="space-y-3"
        onSubmit={(e) => {
          e.preventDefault();
          setError(null);
          save.mutate();
        }}
      >
        <p className="text-sm text-slate-600 dark:text-slate-400">Save the current filters, search, sort and columns under a name. Views are yours alone.</p>
        <Field label="View name" value={name} onChange={(e) => setName(e.target.value)} maxLength={100} required autoFocus />
        <label className="flex items-center gap-2 text-sm">
          <input type="checkbox" checked={isDefault} onChange={(e) => setIsDefault(e.target.checked)} /> Open this view by default
        </label>
        {error ? <ErrorPanel title="View not saved" message={error} /> : null}
        <div className="flex justify-end gap-2">
          <Button onClick={onClose}>Close</Button>
          <Button type="submit" variant="primary" disabled={save.isPending || name.trim() === ''}>Save view</Button>
        </div>
      </form>
      {views.length > 0 ? (
        <ul className="mt-5 divide-y divide-slate-100 border-t border-slate-200 text-sm dark:divide-slate-800 dark:border-slate-700" aria-label="Your views">
          {views.map((v) => (
            <li key={v.id} className="flex items-center justify-between py-1.5">
              <span>
                {v.name}
                {v.is_default ? <span className="text-xs text-slate-500"> (default)</span> : null}
              </span>
              <Button variant="ghost" aria-label={`Delete view ${v.name}`} onClick={() => remove.mutate(v.id)}>
                Delete
              </Button>
            </li>
          ))}
        </ul>
      ) : null}
    </Modal>
  );
}
