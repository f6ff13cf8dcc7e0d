/**
 * The data reader of every provider that has a data API a person can use. A provider absent here is
 * profile-only (its catalog entry has no `dataKinds` and says why in `dataNote`).
 */
import type { ProviderId } from '../../../domain/providers.js';
import { discordReader } from './discord.js';
import { facebookReader } from './facebook.js';
import { githubReader } from './github.js';
import { googleReader } from './google.js';
import { microsoftReader } from './microsoft.js';
import type { ProviderDataReader } from './reader.js';
import { redditReader } from './reddit.js';
import { slackReader } from './slack.js';
import { spotifyReader } from './spotify.js';
import { xReader } from './x.js';

export const dataReaders: Partial<Record<ProviderId, ProviderDataReader>> = {
  github: githubReader,
  google: googleReader,
  microsoft: microsoftReader,
  discord: discordReader,
  spotify: spotifyReader,
  slack: slackReader,
  reddit: redditReader,
  x: xReader,
  facebook: facebookReader,
};

export function dataReaderFor(provider: ProviderId): ProviderDataReader | undefined {
  return dataReaders[provider];
}
