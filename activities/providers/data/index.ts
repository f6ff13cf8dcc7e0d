/**
 * The data reader of every provider that has a data API a person can use. A provider absent here is
 * profile-only (its catalog entry has no `dataKinds` and says why in `dataNote`).
 */
import type { ProviderId } from '../../../domain/providers.js';
import { discordReader } from './discord.js';
import { githubReader } from './github.js';
import { googleReader } from './google.js';
import { microsoftReader } from './microsoft.js';
import type { ProviderDataReader } from './reader.js';
import { slackReader } from './slack.js';
import { spotifyReader } from './spotify.js';

export const dataReaders: Partial<Record<ProviderId, ProviderDataReader>> = {
  github: githubReader,
  google: googleReader,
  microsoft: microsoftReader,
  discord: discordReader,
  spotify: spotifyReader,
  slack: slackReader,
};

export function dataReaderFor(provider: ProviderId): ProviderDataReader | undefined {
  return dataReaders[provider];
}
