/**
 * The capability table is honest: every kind the catalog says syncs has a reader reading the provider's own
 * API, a profile-only provider says why, and the README's table is the one the code makes.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { capabilityTable, providerCapabilities } from '../../activities/providers/data/capabilities.js';
import { dataReaderFor } from '../../activities/providers/data/index.js';
import { isUnderApis } from '../../activities/providers/data/reader.js';
import { providerCatalog, providerSummaries } from '../../domain/provider-catalog.js';
import { providerIds } from '../../domain/providers.js';

describe('provider capabilities', () => {
  it('has a reader for every kind a provider syncs, reading under its own data APIs, its documentation cited', async () => {
    for (const capability of await providerCapabilities()) {
      const def = providerCatalog[capability.provider];
      if (capability.profileOnly) {
        expect(def.dataKinds, capability.provider).toEqual([]);
        expect(capability.dataNote, capability.provider).toMatch(/https:\/\//);
        continue;
      }
      const reader = dataReaderFor(capability.provider)!;
      expect(reader, capability.provider).toBeDefined();
      expect(Object.keys(reader.kinds).sort(), capability.provider).toEqual([...def.dataKinds].sort());
      for (const { kind, endpoint, docs } of capability.kinds) {
        expect(endpoint, `${capability.provider} ${kind}`).not.toBe('(no reader)');
        expect(docs, `${capability.provider} ${kind}`).toMatch(/^https:\/\//);
        const first = new URL(`https://${endpoint.replace(/[{}]/g, '')}`);
        expect(isUnderApis(first, def.endpoints.dataApis!), `${capability.provider} ${kind}`).toBe(true);
      }
    }
  });

  it('says the same in GET /v1/providers', () => {
    const summaries = providerSummaries();
    expect(summaries.map((s) => s.id)).toEqual([...providerIds]);
    for (const s of summaries) expect(s.sync).toBe(s.dataKinds.length > 0 ? 'data' : 'profile_only');
  });

  it('is the table the README shows', async () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const shown = /<!-- providers:start -->\n([\s\S]*?)\n<!-- providers:end -->/.exec(readme)?.[1];
    expect(shown, 'README.md has the table between <!-- providers:start --> and <!-- providers:end -->').toBe(
      await capabilityTable(),
    );
  });
});
