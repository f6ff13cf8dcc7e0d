/** Every provider data API the sandbox plays, one module per provider (see `./kit.ts`). */
import { facebookApi } from './facebook.js';
import { githubApi } from './github.js';
import type { SandboxProviderApi } from './kit.js';
import { redditApi } from './reddit.js';
import { xApi } from './x.js';

export const sandboxProviderApis: readonly SandboxProviderApi[] = [githubApi, redditApi, xApi, facebookApi];
