/**
 * The data reader of every provider that has a data API a person can use. A provider absent here is
 * profile-only (its catalog entry has no `dataKinds` and says why in `dataNote`).
 */
import type { ProviderId } from '../../../domain/providers.js';
import { githubReader } from './github.js';
import { googleReader } from './google.js';
import { microsoftReader } from './microsoft.js';
import type { ProviderDataReader } from './reader.js';

export const dataReaders: Partial<Record<ProviderId, ProviderDataReader>> = {
  github: githubReader,
  google: googleReader,
  microsoft: microsoftReader,
};

export function dataReaderFor(provider: ProviderId): ProviderDataReader | undefined {
  return dataReaders[provider];
}
