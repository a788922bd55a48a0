import { describe, expect, it } from 'vitest';
import { snippetsFor } from './snippets';

const KEY = 'patchmon_ae_0123456789abcdef0123456789abcdef';
const SECRET = 'f'.repeat(64);

describe('integration snippets', () => {
  it('proxmox-lxc: headers form and a dry run, no credentials in the URL', () => {
    const s = snippetsFor({ type: 'proxmox-lxc', key: KEY, secret: SECRET, serverUrl: 'https://pm.example.com/' });
    expect(s.map((x) => x.title)).toEqual(['Enroll', 'Dry run']);
    expect(s[0]?.text).toBe(
      `curl -s -H "X-Auto-Enrollment-Key: ${KEY}" -H "X-Auto-Enrollment-Secret: ${SECRET}" "https://pm.example.com/api/v1/auto-enrollment/script?type=proxmox-lxc" | sh`,
    );
    expect(s[1]?.text).toMatch(/\| DRY_RUN=true sh$/);
    for (const x of s) expect(x.text).not.toMatch(/token_secret=|token_key=/);
  });

  it('direct-host uses its type; -k only when self-signed certificates are allowed', () => {
    const [plain] = snippetsFor({ type: 'direct-host', key: KEY, secret: SECRET, serverUrl: 'https://pm' });
    expect(plain?.text).toContain('script?type=direct-host"');
    expect(plain?.text.startsWith('curl -s ')).toBe(true);
    const [insecure] = snippetsFor({ type: 'direct-host', key: KEY, secret: SECRET, serverUrl: 'https://pm', insecure: true });
    expect(insecure?.text.startsWith('curl -sk ')).toBe(true);
  });

  it('api: Basic auth curl and the Ansible exports', () => {
    const [curl, ansible] = snippetsFor({ type: 'api', key: KEY, secret: SECRET, serverUrl: 'http://10.0.0.1:3000' });
    expect(curl?.text).toBe(`curl -u "${KEY}:${SECRET}" "http://10.0.0.1:3000/api/v1/api/hosts"`);
    expect(ansible?.text.split('\n')).toEqual([
      'export PATCHMON_URL="http://10.0.0.1:3000"',
      `export PATCHMON_API_KEY="${KEY}"`,
      `export PATCHMON_API_SECRET="${SECRET}"`,
      'ansible-inventory -i integrations/ansible/patchmon_inventory.py --list',
    ]);
  });

  it('gethomepage: the services.yaml widget with the credentials filled in', () => {
    const [w] = snippetsFor({ type: 'gethomepage', key: KEY, secret: SECRET, serverUrl: 'https://pm.example.com' });
    expect(w?.kind).toBe('yaml');
    expect(w?.text).toContain('      url: https://pm.example.com/api/v1/gethomepage/stats\n');
    expect(w?.text).toContain(`      username: ${KEY}\n      password: ${SECRET}\n`);
    expect(w?.text).toContain('type: customapi');
  });

  it('an unknown type has no snippets', () => {
    expect(snippetsFor({ type: 'other', key: KEY, secret: SECRET, serverUrl: 'x' })).toEqual([]);
  });
});
