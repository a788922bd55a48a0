import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { deleteLogo, getSettings, logoUrl, updateSettings, uploadLogo } from '../api/fleet';
import { errorMessage } from '../api/errors';
import type { Settings } from '../api/model';
import { ErrorPanel } from '../components/ErrorPanel';
import { formatDate } from '../components/format';
import { Button, Card, Field, Loading, PageHeader, inputClass } from '../components/ui';
import { useToast } from '../toast/context';

export default function SettingsPage() {
  const settings = useQuery({ queryKey: ['settings'], queryFn: getSettings });
  return (
    <div className="max-w-3xl">
      <PageHeader title="Settings" subtitle={settings.data ? `Last changed ${formatDate(settings.data.updated_at)}` : undefined} />
      {settings.isPending ? <Loading /> : null}
      {settings.isError ? <ErrorPanel title="Could not load the settings" message={errorMessage(settings.error)} onRetry={() => void settings.refetch()} /> : null}
      {settings.data ? <SettingsForm key={settings.data.updated_at ?? ''} settings={settings.data} /> : null}
    </div>
  );
}

type Editable = Pick<Settings, 'server_protocol' | 'server_host' | 'server_port' | 'update_interval' | 'auto_update' | 'ignore_ssl_self_signed' | 'branding_name'>;

function SettingsForm({ settings }: { settings: Settings }) {
  const [form, setForm] = useState<Editable>({
    server_protocol: settings.server_protocol,
    server_host: settings.server_host,
    server_port: settings.server_port,
    update_interval: settings.update_interval,
    auto_update: settings.auto_update,
    ignore_ssl_self_signed: settings.ignore_ssl_self_signed,
    branding_name: settings.branding_name,
  });
  const [error, setError] = useState<string | null>(null);
  const queryClient = useQueryClient();
  const toast = useToast();
  const save = useMutation({
    mutationFn: () => {
      // Send only what changed.
      const changed: Partial<Editable> = {};
      for (const k of Object.keys(form) as (keyof Editable)[]) {
        if (form[k] !== settings[k]) (changed as Record<string, unknown>)[k] = form[k];
      }
      return updateSettings(changed);
    },
    onSuccess: async (s) => {
      toast.show({
        kind: 'success',
        message: s.agents_notified !== undefined ? `Settings saved; ${s.agents_notified} connected agent(s) told the new interval` : 'Settings saved',
      });
      queryClient.setQueryData(['settings'], s);
      await queryClient.invalidateQueries({ queryKey: ['settings'] });
    },
    onError: (e) => setError(errorMessage(e)),
  });
  const preview = `${form.server_protocol}://${form.server_host}${(form.server_protocol === 'https' && form.server_port === 443) || (form.server_protocol === 'http' && form.server_port === 80) ? '' : `:${form.server_port}`}`;
  return (
    <form
      className="space-y-6"
      onSubmit={(e) => {
        e.preventDefault();
        setError(null);
        save.mutate();
      }}
    >
      <Card title="Server address (used in install commands)">
        <div className="grid gap-3 sm:grid-cols-[8rem_1fr_8rem]">
          <label className="space-y-1 text-sm font-medium">
            <span className="block">Protocol</span>
            <select className={inputClass} value={form.server_protocol} onChange={(e) => setForm({ ...form, server_protocol: e.target.value })}>
              <option>https</option>
              <option>http</option>
            </select>
          </label>
          <Field label="Host" value={form.server_host} onChange={(e) => setForm({ ...form, server_host: e.target.value })} required />
          <Field label="Port" type="number" min={1} max={65535} value={form.server_port} onChange={(e) => setForm({ ...form, server_port: Number(e.target.value) })} required />
        </div>
        <p className="mt-2 text-sm">
          Agents will use <code className="rounded bg-slate-100 px-1.5 dark:bg-slate-800">{preview}</code>
        </p>
      </Card>
      <Card title="Agents">
        <div className="space-y-3">
          <Field
            label="Report interval (minutes)"
            type="number"
            min={5}
            max={1440}
            value={form.update_interval}
            onChange={(e) => setForm({ ...form, update_interval: Number(e.target.value) })}
            hint="5–1440. A change is pushed to every connected agent at once."
          />
          <label className="flex items-center gap-2 text-sm">
            <input type="checkbox" checked={form.auto_update} onChange={(e) => setForm({ ...form, auto_update: e.target.checked })} /> Let agents update themselves
          </label>
          <label className="flex items-center gap-2 text-sm">
            <input type="checkbox" checked={form.ignore_ssl_self_signed} onChange={(e) => setForm({ ...form, ignore_ssl_self_signed: e.target.checked })} /> Agents accept a self-signed server certificate
          </label>
        </div>
      </Card>
      <Card title="Branding">
        <Field label="Name" value={form.branding_name} onChange={(e) => setForm({ ...form, branding_name: e.target.value })} maxLength={100} required />
        <Logo settings={settings} />
      </Card>
      {error ? <ErrorPanel title="Settings not saved" message={error} /> : null}
      <Button type="submit" variant="primary" disabled={save.isPending}>
        {save.isPending ? 'Saving…' : 'Save settings'}
      </Button>
    </form>
  );
}

function Logo({ settings }: { settings: Settings }) {
  const queryClient = useQueryClient();
  const toast = useToast();
  const done = async (message: string) => {
    toast.show({ kind: 'success', message });
    await queryClient.invalidateQueries({ queryKey: ['settings'] });
    await queryClient.invalidateQueries({ queryKey: ['branding'] });
  };
  const upload = useMutation({
    mutationFn: uploadLogo,
    onSuccess: () => done('Logo saved'),
    onError: (e) => toast.show({ kind: 'error', message: `Logo not saved: ${errorMessage(e)}` }),
  });
  const remove = useMutation({
    mutationFn: deleteLogo,
    onSuccess: () => done('Logo removed'),
    onError: (e) => toast.show({ kind: 'error', message: errorMessage(e) }),
  });
  return (
    <div className="mt-4 flex flex-wrap items-center gap-4">
      {settings.has_logo ? (
        <img src={logoUrl(settings.logo_updated_at)} alt="Current logo" className="h-12 max-w-48 rounded border border-slate-200 bg-white object-contain p-1 dark:border-slate-700" />
      ) : (
        <span className="text-sm text-slate-500">No logo is set.</span>
      )}
      <label className="cursor-pointer rounded-md border border-slate-300 px-3 py-1.5 text-sm dark:border-slate-700">
        {settings.has_logo ? 'Replace logo' : 'Upload logo'}
        <input
          type="file"
          accept="image/png,image/jpeg,image/webp,image/gif"
          className="sr-only"
          onChange={(e) => {
            const file = e.target.files?.[0];
            if (file) upload.mutate(file);
            e.target.value = '';
          }}
        />
      </label>
      {settings.has_logo ? (
        <Button variant="ghost" onClick={() => remove.mutate()} disabled={remove.isPending}>
          Remove logo
        </Button>
      ) : null}
      <span className="text-xs text-slate-500">PNG, JPEG, WebP or GIF, at most 512 KB.</span>
    </div>
  );
}
