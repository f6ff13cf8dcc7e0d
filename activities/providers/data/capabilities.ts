/**
 * The per-provider capability table — which data kinds sync and from which endpoint, whether a disconnect
 * revokes the grant at the provider, which webhook CRA receives — made from the code that does each, not
 * written by hand: the catalog, each provider's reader (its first request's path) and the webhook list. The
 * README carries it between `<!-- providers:start -->` and `<!-- providers:end -->`; a unit test keeps the
 * two the same, and `npm run providers:table` prints it.
 */
import { providerCatalog, providerSummary } from '../../../domain/provider-catalog.js';
import { providerIds, type ProviderId } from '../../../domain/providers.js';
import { dataReaderFor } from './index.js';
import type { ReaderContext } from './reader.js';

export interface ProviderCapability {
  provider: ProviderId;
  displayName: string;
  /** Each kind with the path of its first request, as the reader builds it (`{id}`/`{name}`: the person's). */
  kinds: Array<{ kind: string; endpoint: string; docs: string }>;
  profileOnly: boolean;
  dataNote?: string;
  revocation: 'at_provider' | 'not_supported';
  webhook: string | null;
}

/** A context that makes a reader's first URL without a request: the person's id and name as placeholders. */
function placeholderContext(provider: ProviderId): ReaderContext {
  return {
    apis: providerCatalog[provider].endpoints.dataApis ?? {},
    pageSize: 100,
    providerAccountId: '{id}',
    getJson: () => Promise.resolve({ name: '{name}', id: '{id}', data: { id: '{id}', username: '{name}' } }),
  };
}

export async function providerCapabilities(): Promise<ProviderCapability[]> {
  const out: ProviderCapability[] = [];
  for (const provider of providerIds) {
    const def = providerCatalog[provider];
    const summary = providerSummary(def);
    const reader = dataReaderFor(provider);
    const kinds: ProviderCapability['kinds'] = [];
    for (const kind of def.dataKinds) {
      const kindReader = reader?.kinds[kind];
      if (!kindReader) {
        kinds.push({ kind, endpoint: '(no reader)', docs: '' });
        continue;
      }
      const first = new URL(await kindReader.first(placeholderContext(provider)));
      kinds.push({ kind, endpoint: decodeURIComponent(`${first.host}${first.pathname}`), docs: kindReader.docs });
    }
    out.push({
      provider,
      displayName: def.displayName,
      kinds,
      profileOnly: summary.sync === 'profile_only',
      ...(def.dataNote ? { dataNote: def.dataNote } : {}),
      revocation: summary.revocation,
      webhook: summary.webhook ?? null,
    });
  }
  return out;
}

/** The capability table in Markdown, as the README has it. */
export async function capabilityTable(): Promise<string> {
  const rows = (await providerCapabilities()).map((c) => {
    const data = c.profileOnly
      ? `profile only: ${c.dataNote ?? 'no data API'}`
      : c.kinds.map((k) => `${k.kind} (\`${k.endpoint}\`)`).join(', ');
    const revocation = c.revocation === 'at_provider' ? 'yes' : 'no: the grant stays until removed there';
    return `| ${c.displayName} | ${data} | ${revocation} | ${c.webhook ? `\`POST /v1/webhooks/${c.webhook}\`` : '—'} |`;
  });
  return [
    '| provider | data that syncs (kind, endpoint read) | revoked at the provider on disconnect | webhook |',
    '| --- | --- | --- | --- |',
    ...rows,
  ].join('\n');
}
