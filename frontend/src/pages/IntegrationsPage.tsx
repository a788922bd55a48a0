import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useId, useState, type SyntheticEvent } from 'react';
import { errorMessage } from '../api/errors';
import { getSettings, listGroups } from '../api/fleet';
import { createToken, deleteToken, listTokens, updateToken } from '../api/integrations';
import type { CreatedIntegrationToken, IntegrationToken, IntegrationType, TokenCreateInput, TokenScopes, TokenUpdateInput } from '../api/model';
import { DeleteDialog } from '../components/DeleteDialog';
import { ErrorPanel } from '../components/ErrorPanel';
import { formatDate, formatRelative } from '../components/format';
import { Badge, Button, Card, CopyButton, Field, Loading, Modal, PageHeader, inputClass, selectClass, tableClass, tdClass, thClass } from '../components/ui';
import { HOST_SCOPE_ACTIONS, INTEGRATION_TYPES, snippetsFor, typeInfo, type Snippet } from '../integrations/snippets';
import { useToast } from '../toast/context';

const TOKENS_KEY = ['integration-tokens'] as const;

export default function IntegrationsPage() {
  const tokens = useQuery({ queryKey: TOKENS_KEY, queryFn: ({ signal }) => listTokens(signal) });
  const [creating, setCreating] = useState(false);
  const [created, setCreated] = useState<CreatedIntegrationToken | null>(null);
  const [editing, setEditing] = useState<IntegrationToken | null>(null);
  const [deleting, setDeleting] = useState<IntegrationToken | null>(null);
  const [showing, setShowing] = useState<IntegrationToken | null>(null);
  return (
    <div className="space-y-4">
      <PageHeader
        title="Integrations"
        subtitle="Tokens for auto-enrollment scripts (Proxmox LXC, direct host), the integration API (Ansible) and GetHomepage."
        actions={
          <Button variant="primary" onClick={() => setCreating(true)}>
            New token
          </Button>
        }
      />
      {tokens.isPending ? <Loading /> : null}
      {tokens.isError ? <ErrorPanel title="Could not load the tokens" message={errorMessage(tokens.error)} onRetry={() => void tokens.refetch()} /> : null}
      {tokens.data ? <TokenTable tokens={tokens.data} onEdit={setEditing} onDelete={setDeleting} onSnippets={setShowing} /> : null}
      {creating ? (
        <TokenFormModal
          onClose={() => setCreating(false)}
          onCreated={(t) => {
            setCreating(false);
            setCreated(t);
          }}
        />
      ) : null}
      {created ? <SecretModal token={created} onClose={() => setCreated(null)} /> : null}
      {editing ? <TokenFormModal token={editing} onClose={() => setEditing(null)} /> : null}
      {deleting ? <DeleteTokenDialog token={deleting} onClose={() => setDeleting(null)} /> : null}
      {showing ? <SnippetsModal token={showing} onClose={() => setShowing(null)} /> : null}
    </div>
  );
}

function typeLabel(type: string): string {
  return typeInfo(type)?.label ?? type;
}

function TokenTable({
  tokens,
  onEdit,
  onDelete,
  onSnippets,
}: {
  tokens: IntegrationToken[];
  onEdit: (t: IntegrationToken) => void;
  onDelete: (t: IntegrationToken) => void;
  onSnippets: (t: IntegrationToken) => void;
}) {
  if (tokens.length === 0) {
    return (
      <Card>
        <p className="text-sm text-slate-600 dark:text-slate-400">No tokens yet. Create one with “New token”.</p>
      </Card>
    );
  }
  return (
    <div className="overflow-x-auto rounded-lg border border-slate-200 bg-white dark:border-slate-800 dark:bg-slate-900">
      <table className={tableClass} aria-label="Tokens">
        <thead>
          <tr>
            <th className={thClass}>Name</th>
            <th className={thClass}>Type</th>
            <th className={thClass}>Key</th>
            <th className={thClass}>Active</th>
            <th className={thClass}>Hosts today</th>
            <th className={thClass}>Last used</th>
            <th className={thClass}>Expires</th>
            <th className={thClass}>Created by</th>
            <th className={thClass}>
              <span className="sr-only">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody className="divide-y divide-slate-100 dark:divide-slate-800">
          {tokens.map((t) => (
            <TokenRow key={t.id} token={t} onEdit={() => onEdit(t)} onDelete={() => onDelete(t)} onSnippets={() => onSnippets(t)} />
          ))}
        </tbody>
      </table>
    </div>
  );
}

function TokenRow({ token: t, onEdit, onDelete, onSnippets }: { token: IntegrationToken; onEdit: () => void; onDelete: () => void; onSnippets: () => void }) {
  const queryClient = useQueryClient();
  const toast = useToast();
  const toggle = useMutation({
    mutationFn: (active: boolean) => updateToken(t.id, { is_active: active }),
    onSuccess: async (updated) => {
      toast.show({ kind: 'success', message: `${updated.token_name} ${updated.is_active ? 'enabled' : 'disabled'}` });
      await queryClient.invalidateQueries({ queryKey: TOKENS_KEY });
    },
    onError: (e) => toast.show({ kind: 'error', message: `Could not change ${t.token_name}: ${errorMessage(e)}` }),
  });
  const enrolls = typeInfo(t.integration_type)?.enrolls ?? false;
  const scopes = t.scopes ? Object.entries(t.scopes).map(([r, a]) => `${r}: ${a.join(', ')}`) : [];
  return (
    <tr data-token={t.token_name}>
      <td className={`${tdClass} font-medium`}>
        {t.token_name}
        {t.host_groups ? <div className="text-xs font-normal text-slate-500">joins {t.host_groups.name}</div> : null}
        {t.allowed_ip_ranges.length > 0 ? <div className="text-xs font-normal text-slate-500">from {t.allowed_ip_ranges.join(', ')}</div> : null}
      </td>
      <td className={tdClass}>
        <span className="whitespace-nowrap"><Badge color={enrolls ? 'blue' : 'slate'}>{typeLabel(t.integration_type)}</Badge></span>
        {scopes.length > 0 ? <div className="mt-1 text-xs text-slate-500">{scopes.join('; ')}</div> : null}
      </td>
      <td className={`${tdClass} font-mono text-xs break-all`}>{t.token_key}</td>
      <td className={tdClass}>
        <label className="inline-flex items-center gap-1.5">
          <input
            type="checkbox"
            role="switch"
            aria-label={`Active: ${t.token_name}`}
            checked={t.is_active}
            disabled={toggle.isPending}
            onChange={(e) => toggle.mutate(e.target.checked)}
          />
          <span className="text-xs">{t.is_active ? 'Active' : 'Inactive'}</span>
        </label>
      </td>
      <td className={tdClass}>{enrolls ? `${t.hosts_created_today} / ${t.max_hosts_per_day}` : '—'}</td>
      <td className={tdClass} title={formatDate(t.last_used_at)}>
        {formatRelative(t.last_used_at)}
      </td>
      <td className={tdClass}>
        {t.expires_at ? formatDate(t.expires_at) : 'never'}
        {t.is_expired ? (
          <div>
            <Badge color="red">expired</Badge>
          </div>
        ) : null}
      </td>
      <td className={tdClass}>{t.users?.username ?? '—'}</td>
      <td className={`${tdClass} whitespace-nowrap text-right`}>
        {typeInfo(t.integration_type) ? (
          <Button variant="ghost" onClick={onSnippets} aria-label={`Commands for ${t.token_name}`}>
            Commands
          </Button>
        ) : null}
        <Button variant="ghost" onClick={onEdit} aria-label={`Edit ${t.token_name}`}>
          Edit
        </Button>
        <Button variant="ghost" onClick={onDelete} aria-label={`Delete ${t.token_name}`}>
          Delete
        </Button>
      </td>
    </tr>
  );
}

interface FormState {
  token_name: string;
  integration_type: IntegrationType;
  max_hosts_per_day: string;
  allowed_ip_ranges: string;
  default_host_group_id: string;
  /** YYYY-MM-DD or empty. */
  expires_at: string;
  actions: string[];
}

function initialForm(token?: IntegrationToken): FormState {
  if (!token) {
    return { token_name: '', integration_type: 'proxmox-lxc', max_hosts_per_day: '100', allowed_ip_ranges: '', default_host_group_id: '', expires_at: '', actions: ['get'] };
  }
  return {
    token_name: token.token_name,
    integration_type: token.integration_type as IntegrationType,
    max_hosts_per_day: String(token.max_hosts_per_day),
    allowed_ip_ranges: token.allowed_ip_ranges.join(', '),
    default_host_group_id: token.default_host_group_id ?? '',
    // The date part in UTC: the server reads a bare date as the end of that day, UTC.
    expires_at: token.expires_at ? new Date(token.expires_at).toISOString().slice(0, 10) : '',
    actions: token.scopes?.host ?? [],
  };
}

function parseIps(text: string): string[] {
  return text
    .split(/[\s,]+/)
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

/** The request body: everything for a new token, only what changed for an edit. */
function toInput(form: FormState, token?: IntegrationToken): TokenCreateInput & TokenUpdateInput {
  const enrolls = typeInfo(form.integration_type)?.enrolls ?? false;
  const before = initialForm(token);
  const changed = (k: keyof FormState) => !token || JSON.stringify(form[k]) !== JSON.stringify(before[k]);
  const input: TokenCreateInput & TokenUpdateInput = {};
  if (!token) input.integration_type = form.integration_type;
  if (changed('token_name')) input.token_name = form.token_name.trim();
  if (enrolls && changed('max_hosts_per_day')) input.max_hosts_per_day = Number(form.max_hosts_per_day);
  if (enrolls && changed('default_host_group_id')) input.default_host_group_id = form.default_host_group_id === '' ? null : form.default_host_group_id;
  if (changed('allowed_ip_ranges')) input.allowed_ip_ranges = parseIps(form.allowed_ip_ranges);
  if (changed('expires_at') && (form.expires_at !== '' || token)) input.expires_at = form.expires_at === '' ? null : form.expires_at;
  if (form.integration_type === 'api' && changed('actions')) input.scopes = { host: form.actions } satisfies TokenScopes;
  return input;
}

function TokenFormModal({ token, onClose, onCreated }: { token?: IntegrationToken; onClose: () => void; onCreated?: (t: CreatedIntegrationToken) => void }) {
  const [form, setForm] = useState<FormState>(() => initialForm(token));
  const [error, setError] = useState<string | null>(null);
  const queryClient = useQueryClient();
  const toast = useToast();
  const groups = useQuery({ queryKey: ['host-groups'], queryFn: ({ signal }) => listGroups(signal) });
  const info = typeInfo(form.integration_type);
  const enrolls = info?.enrolls ?? false;
  const typeGroup = useId();
  const save = useMutation({
    mutationFn: async () => {
      const input = toInput(form, token);
      if (token) return { updated: await updateToken(token.id, input) };
      return { created: (await createToken(input)).token };
    },
    onSuccess: async (r) => {
      await queryClient.invalidateQueries({ queryKey: TOKENS_KEY });
      if (r.created) onCreated?.(r.created);
      else {
        toast.show({ kind: 'success', message: 'Token saved' });
        onClose();
      }
    },
    // The server's own words: "Invalid IP address or CIDR range: …", "Host group not found", …
    onError: (e) => setError(errorMessage(e)),
  });

  function submit(e: SyntheticEvent) {
    e.preventDefault();
    setError(null);
    if (form.token_name.trim() === '') {
      setError('Give the token a name.');
      return;
    }
    if (form.integration_type === 'api' && form.actions.length === 0) {
      setError('Choose at least one scope: an API token without scopes can do nothing.');
      return;
    }
    if (token && Object.keys(toInput(form, token)).length === 0) {
      onClose();
      return;
    }
    save.mutate();
  }

  return (
    <Modal title={token ? `Edit token ${token.token_name}` : 'New token'} onClose={onClose} wide>
      <form onSubmit={submit} className="space-y-4" noValidate>
        {token ? (
          <p className="text-sm">
            Type: <Badge>{typeLabel(token.integration_type)}</Badge> <span className="font-mono text-xs">{token.token_key}</span>
          </p>
        ) : (
          <fieldset>
            <legend className="text-sm font-medium">Usage type</legend>
            <div className="mt-2 grid gap-2 sm:grid-cols-2">
              {INTEGRATION_TYPES.map((t) => (
                <label
                  key={t.type}
                  className={`flex cursor-pointer gap-2 rounded-md border p-2 text-sm ${form.integration_type === t.type ? 'border-blue-500 bg-blue-50 dark:bg-blue-950/40' : 'border-slate-200 dark:border-slate-700'}`}
                >
                  <input
                    type="radio"
                    name={typeGroup}
                    value={t.type}
                    checked={form.integration_type === t.type}
                    onChange={() => setForm({ ...form, integration_type: t.type })}
                    className="mt-1"
                  />
                  <span>
                    <span className="block font-medium">{t.label}</span>
                    <span className="block text-xs text-slate-600 dark:text-slate-400">{t.description}</span>
                  </span>
                </label>
              ))}
            </div>
          </fieldset>
        )}
        <Field label="Name" value={form.token_name} onChange={(e) => setForm({ ...form, token_name: e.target.value })} maxLength={255} required autoFocus />
        {enrolls ? (
          <div className="grid gap-3 sm:grid-cols-2">
            <Field
              label="Hosts per day"
              type="number"
              min={1}
              max={1000}
              value={form.max_hosts_per_day}
              onChange={(e) => setForm({ ...form, max_hosts_per_day: e.target.value })}
              hint="1–1000; the count resets at 00:00 UTC."
            />
            <div className="space-y-1">
              <label className="block text-sm font-medium" htmlFor={`${typeGroup}-group`}>
                Default host group
              </label>
              <select
                id={`${typeGroup}-group`}
                className={selectClass}
                value={form.default_host_group_id}
                onChange={(e) => setForm({ ...form, default_host_group_id: e.target.value })}
                disabled={!groups.data}
              >
                <option value="">(none)</option>
                {groups.data?.map((g) => (
                  <option key={g.id} value={g.id}>
                    {g.name}
                  </option>
                ))}
              </select>
              <p className="text-xs text-slate-500">
                {groups.isError ? `Could not load the groups: ${errorMessage(groups.error)}` : 'Enrolled hosts join this group.'}
              </p>
            </div>
          </div>
        ) : null}
        {form.integration_type === 'api' ? (
          <fieldset>
            <legend className="text-sm font-medium">Scopes (host)</legend>
            <p className="text-xs text-slate-500">At least one. Read-only access is “get”.</p>
            <div className="mt-1 space-y-1">
              {HOST_SCOPE_ACTIONS.map(({ action, description }) => (
                <label key={action} className="flex items-center gap-2 text-sm">
                  <input
                    type="checkbox"
                    aria-label={`host:${action}`}
                    checked={form.actions.includes(action)}
                    onChange={(e) => setForm({ ...form, actions: e.target.checked ? [...form.actions, action] : form.actions.filter((a) => a !== action) })}
                  />
                  <code>host:{action}</code> <span className="text-slate-500">— {description}</span>
                </label>
              ))}
            </div>
          </fieldset>
        ) : null}
        <div className="space-y-1">
          <label className="block text-sm font-medium" htmlFor={`${typeGroup}-ips`}>
            Allowed IP addresses
          </label>
          <textarea
            id={`${typeGroup}-ips`}
            className={`${inputClass} font-mono`}
            rows={2}
            value={form.allowed_ip_ranges}
            onChange={(e) => setForm({ ...form, allowed_ip_ranges: e.target.value })}
            placeholder="10.0.0.0/24, 2001:db8::/32"
          />
          <p className="text-xs text-slate-500">Addresses or CIDR ranges, separated by commas or new lines. Empty: any address.</p>
        </div>
        <Field
          label="Expires"
          type="date"
          value={form.expires_at}
          onChange={(e) => setForm({ ...form, expires_at: e.target.value })}
          hint="Optional; the token stops working after that day (UTC)."
        />
        {error ? <ErrorPanel title={token ? 'Token not saved' : 'Token not created'} message={error} /> : null}
        <div className="flex justify-end gap-2">
          <Button onClick={onClose}>Cancel</Button>
          <Button type="submit" variant="primary" disabled={save.isPending}>
            {save.isPending ? 'Saving…' : token ? 'Save' : 'Create token'}
          </Button>
        </div>
      </form>
    </Modal>
  );
}

function SnippetList({ snippets }: { snippets: Snippet[] }) {
  return (
    <>
      {snippets.map((s) => (
        <section key={s.title} aria-label={s.title} className="space-y-1">
          <div className="flex items-center justify-between gap-2">
            <h3 className="text-sm font-semibold">{s.title}</h3>
            <CopyButton text={s.text} label={`Copy ${s.title.toLowerCase()}`} />
          </div>
          <p className="text-xs text-slate-600 dark:text-slate-400">{s.hint}</p>
          <pre className="overflow-x-auto whitespace-pre-wrap break-all rounded bg-slate-900 p-3 text-xs text-slate-100 dark:bg-slate-950 dark:ring-1 dark:ring-slate-700" data-testid="snippet">
            {s.text}
          </pre>
        </section>
      ))}
    </>
  );
}

/** The server URL for snippets and whether curl needs -k, from the settings (this page's origin without them). */
function useSnippetTarget() {
  const settings = useQuery({ queryKey: ['settings'], queryFn: getSettings });
  return {
    serverUrl: settings.data?.server_url || window.location.origin,
    insecure: settings.data?.ignore_ssl_self_signed ?? false,
    configured: Boolean(settings.data?.server_url),
  };
}

/** The commands of an existing token, with a placeholder where the secret goes (the server no longer has it). */
function SnippetsModal({ token, onClose }: { token: IntegrationToken; onClose: () => void }) {
  const target = useSnippetTarget();
  const snippets = snippetsFor({ type: token.integration_type, key: token.token_key, secret: SECRET_PLACEHOLDER, ...target });
  return (
    <Modal title={`Commands for ${token.token_name}`} onClose={onClose} wide>
      <div className="space-y-4">
        <p className="text-sm">
          The secret was shown only when the token was created; put it where <code>{SECRET_PLACEHOLDER}</code> stands. Lost it? Create a new token and delete this one.
        </p>
        <SnippetList snippets={snippets} />
        {!target.configured ? <p className="text-xs text-slate-500">Uses this page&apos;s address ({target.serverUrl}); set the server URL under Settings.</p> : null}
        <div className="flex justify-end">
          <Button onClick={onClose}>Close</Button>
        </div>
      </div>
    </Modal>
  );
}

const SECRET_PLACEHOLDER = '<secret>';

/** Shown once, right after creation: the secret is never sent again. */
function SecretModal({ token, onClose }: { token: CreatedIntegrationToken; onClose: () => void }) {
  // The configured server URL is what scripts and tools must reach; this page's origin otherwise.
  const target = useSnippetTarget();
  const snippets = snippetsFor({ type: token.integration_type, key: token.token_key, secret: token.token_secret, ...target });
  // Escape and the backdrop do not close it: losing the secret by a stray click would mean a new token.
  return (
    <Modal title={`Token ${token.token_name} created`} onClose={() => undefined} wide>
      <div className="space-y-4">
        <div role="alert" className="rounded-lg border border-amber-300 bg-amber-50 p-3 text-sm text-amber-900 dark:border-amber-800 dark:bg-amber-950/50 dark:text-amber-100">
          <strong>This secret will not be shown again.</strong> Copy it (or the snippets below) now; the server stores only a hash of it.
        </div>
        <dl className="grid grid-cols-[6rem_1fr_auto] items-center gap-2 text-sm">
          <dt className="font-medium">Key</dt>
          <dd className="break-all font-mono" data-testid="token-key">
            {token.token_key}
          </dd>
          <dd>
            <CopyButton text={token.token_key} label="Copy key" />
          </dd>
          <dt className="font-medium">Secret</dt>
          <dd className="break-all font-mono" data-testid="token-secret">
            {token.token_secret}
          </dd>
          <dd>
            <CopyButton text={token.token_secret} label="Copy secret" />
          </dd>
        </dl>
        <SnippetList snippets={snippets} />
        {!target.configured ? <p className="text-xs text-slate-500">Uses this page&apos;s address ({target.serverUrl}); set the server URL under Settings.</p> : null}
        <div className="flex justify-end">
          <Button variant="primary" onClick={onClose}>
            I have saved the secret
          </Button>
        </div>
      </div>
    </Modal>
  );
}

function DeleteTokenDialog({ token, onClose }: { token: IntegrationToken; onClose: () => void }) {
  return (
    <DeleteDialog
      title={`Delete token ${token.token_name}?`}
      confirmLabel="Delete token"
      run={() => deleteToken(token.id)}
      done={`Token ${token.token_name} deleted`}
      refresh={TOKENS_KEY}
      errorTitle="Token not deleted"
      onClose={onClose}
    >
      <p>
        Scripts, inventories and widgets that use <span className="font-mono">{token.token_key}</span> stop working at once. Hosts it enrolled stay.
      </p>
    </DeleteDialog>
  );
}
