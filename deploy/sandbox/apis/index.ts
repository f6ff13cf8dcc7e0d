/** Every provider data API the sandbox plays, one module per provider (see `./kit.ts`). */
import { discordApi } from './discord.js';
import { facebookApi } from './facebook.js';
import { githubApi } from './github.js';
import { googleApi } from './google.js';
import type { SandboxProviderApi } from './kit.js';
import { microsoftApi } from './microsoft.js';
import { redditApi } from './reddit.js';
import { slackApi } from './slack.js';
import { spotifyApi } from './spotify.js';
import { xApi } from './x.js';

export const sandboxProviderApis: readonly SandboxProviderApi[] = [
  githubApi,
  googleApi,
  microsoftApi,
  discordApi,
  spotifyApi,
  slackApi,
  redditApi,
  xApi,
  facebookApi,
];
