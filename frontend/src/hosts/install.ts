/** The one-line installer, with the host's credentials in headers (never in the URL). */
export function installCommand(serverUrl: string, apiId: string, apiKey: string): string {
  const base = serverUrl.replace(/\/+$/, '');
  return `curl -s -H "X-API-ID: ${apiId}" -H "X-API-KEY: ${apiKey}" "${base}/api/v1/hosts/install" | sh`;
}

