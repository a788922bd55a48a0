import { expectArray, expectShape, request } from './client';
import type { ApiRequest, CreatedIntegrationToken, IntegrationToken, TokenCreated, TokenCreateInput, TokenUpdated, TokenUpdateInput } from './model';

// Integration / auto-enrollment tokens (docs/integrations.md), `can_manage_settings`.

const BASE = '/api/v1/auto-enrollment/tokens';

export async function listTokens(signal?: AbortSignal): Promise<IntegrationToken[]> {
  const list = expectArray<IntegrationToken>(await request(BASE, signal ? { signal } : {}), 'tokens');
  for (const t of list) expectShape(t, 'token', { id: 'string', token_name: 'string', token_key: 'string', is_active: 'boolean' });
  return list;
}

export async function createToken(input: TokenCreateInput): Promise<{ token: CreatedIntegrationToken; warning?: string }> {
  const body = expectShape<TokenCreated>(await request(BASE, { method: 'POST', body: input satisfies ApiRequest<'POST /api/v1/auto-enrollment/tokens', typeof input> }), 'create token', { token: 'object' });
  const token = expectShape<CreatedIntegrationToken>(body.token, 'create token', { id: 'string', token_key: 'string', token_secret: 'string' });
  return { token, warning: body.warning };
}

export async function updateToken(tokenId: string, input: TokenUpdateInput): Promise<IntegrationToken> {
  const body = expectShape<TokenUpdated>(await request(`${BASE}/${encodeURIComponent(tokenId)}`, { method: 'PATCH', body: input satisfies ApiRequest<'PATCH /api/v1/auto-enrollment/tokens/{token_id}', typeof input> }), 'update token', {
    token: 'object',
  });
  return expectShape<IntegrationToken>(body.token, 'update token', { id: 'string', is_active: 'boolean' });
}

export async function deleteToken(tokenId: string): Promise<void> {
  await request(`${BASE}/${encodeURIComponent(tokenId)}`, { method: 'DELETE' });
}
