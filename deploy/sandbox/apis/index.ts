/** Every provider data API the sandbox plays, one module per provider (see `./kit.ts`). */
import { githubApi } from './github.js';
import type { SandboxProviderApi } from './kit.js';

export const sandboxProviderApis: readonly SandboxProviderApi[] = [githubApi];
