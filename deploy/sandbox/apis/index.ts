/** Every provider data API the sandbox plays, one module per provider (see `./kit.ts`). */
import { githubApi } from './github.js';
import { googleApi } from './google.js';
import type { SandboxProviderApi } from './kit.js';
import { microsoftApi } from './microsoft.js';

export const sandboxProviderApis: readonly SandboxProviderApi[] = [githubApi, googleApi, microsoftApi];
