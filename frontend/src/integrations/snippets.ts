import type { IntegrationType } from '../api/model';

// Ready-to-copy commands and configuration for a newly created token
// (docs/integrations.md). Built from the server URL agents and tools must
// reach; credentials go in headers or Basic auth, never in a URL.

export interface Snippet {
  /** Short title, also used for the copy button's label. */
  title: string;
  /** One line on where and how to use it. */
  hint: string;
  text: string;
  /** `shell` or `yaml`, for the snippet's caption. */
  kind: 'shell' | 'yaml';
}

export interface TypeInfo {
  type: IntegrationType;
  label: string;
  /** One line: what the token is for. */
  description: string;
  /** Whether it enrolls hosts (daily quota, default group). */
  enrolls: boolean;
}

export const INTEGRATION_TYPES: TypeInfo[] = [
  {
    type: 'proxmox-lxc',
    label: 'Proxmox LXC',
    description: 'Run a script on a Proxmox VE node that enrolls its LXC containers and installs the agent in each.',
    enrolls: true,
  },
  {
    type: 'direct-host',
    label: 'Direct host',
    description: 'Run a script on any Linux machine to enroll that machine and install the agent on it.',
    enrolls: true,
  },
  {
    type: 'api',
    label: 'API',
    description: 'Read (or, with the delete scope, delete) hosts through the integration API, e.g. for Ansible inventories.',
    enrolls: false,
  },
  {
    type: 'gethomepage',
    label: 'GetHomepage',
    description: 'Show fleet statistics in a GetHomepage dashboard widget (read-only).',
    enrolls: false,
  },
];

export function typeInfo(type: string): TypeInfo | undefined {
  return INTEGRATION_TYPES.find((t) => t.type === type);
}

/** Actions an `api` token's `host` scope may name (docs/integrations.md). */
export const HOST_SCOPE_ACTIONS: { action: string; description: string }[] = [
  { action: 'get', description: 'read hosts, their packages, network, system and reports' },
  { action: 'delete', description: 'delete hosts' },
  { action: 'put', description: 'replace host data (no route uses it yet)' },
  { action: 'patch', description: 'change host data (no route uses it yet)' },
  { action: 'update', description: 'update host data (no route uses it yet)' },
];

/** The server URL without trailing slashes. */
export function baseUrl(serverUrl: string): string {
  return serverUrl.replace(/\/+$/, '');
}

export interface SnippetInput {
  type: string;
  key: string;
  secret: string;
  serverUrl: string;
  /** The server's "ignore self-signed certificates" setting: curl gets `-k`. */
  insecure?: boolean;
}

export function snippetsFor({ type, key, secret, serverUrl, insecure = false }: SnippetInput): Snippet[] {
  const url = baseUrl(serverUrl);
  const curl = insecure ? 'curl -sk' : 'curl -s';
  switch (type) {
    case 'proxmox-lxc':
    case 'direct-host': {
      const fetchScript = `${curl} -H "X-Auto-Enrollment-Key: ${key}" -H "X-Auto-Enrollment-Secret: ${secret}" "${url}/api/v1/auto-enrollment/script?type=${type}"`;
      const where = type === 'proxmox-lxc' ? 'Run as root on the Proxmox VE node.' : 'Run as root on the machine to enroll.';
      return [
        { title: 'Enroll', hint: `${where} Credentials go in headers, so they stay out of proxy logs.`, text: `${fetchScript} | sh`, kind: 'shell' },
        { title: 'Dry run', hint: 'Shows what would be enrolled; creates nothing.', text: `${fetchScript} | DRY_RUN=true sh`, kind: 'shell' },
      ];
    }
    case 'api':
      return [
        { title: 'List hosts', hint: 'HTTP Basic with key:secret.', text: `curl -u "${key}:${secret}" "${url}/api/v1/api/hosts"`, kind: 'shell' },
        {
          title: 'Ansible inventory',
          hint: 'With the dynamic inventory shipped in integrations/ansible/ (needs the host:get scope).',
          text: [
            `export PATCHMON_URL="${url}"`,
            `export PATCHMON_API_KEY="${key}"`,
            `export PATCHMON_API_SECRET="${secret}"`,
            'ansible-inventory -i integrations/ansible/patchmon_inventory.py --list',
          ].join('\n'),
          kind: 'shell',
        },
      ];
    case 'gethomepage':
      return [
        {
          title: 'GetHomepage widget',
          hint: 'Add to GetHomepage’s services.yaml.',
          text: [
            '- PatchMon:',
            `    icon: ${url}/favicon.ico`,
            '    widget:',
            '      type: customapi',
            `      url: ${url}/api/v1/gethomepage/stats`,
            `      username: ${key}`,
            `      password: ${secret}`,
            '      mappings:',
            '        - field: total_hosts',
            '          label: Hosts',
            '        - field: hosts_needing_updates',
            '          label: Need updates',
            '        - field: security_updates',
            '          label: Security',
          ].join('\n'),
          kind: 'yaml',
        },
      ];
    default:
      return [];
  }
}
