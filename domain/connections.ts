/** Connection ids: one per (account, provider, provider account), stable across relinks. */
import { createHash } from 'node:crypto';
import type { ProviderId } from './providers.js';

export function connectionIdFor(accountId: string, provider: ProviderId, providerAccountId: string): string {
  const digest = createHash('sha256').update(`${accountId}\n${provider}\n${providerAccountId}`).digest('base64url');
  return `conn_${digest.slice(0, 22)}`;
}
