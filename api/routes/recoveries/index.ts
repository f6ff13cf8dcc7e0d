/**
 * Account recovery over HTTP (docs/recovery.md), one file per concern:
 *
 * | file | holds |
 * |---|---|
 * | `settings.ts` | settings from the config, the per-process context (rate limits), the optional agent signature |
 * | `schemas.ts` | request and response schemas |
 * | `requests.ts` | a new recovery request (its workflow started by `api/processes/recovery.ts`), the wait for its account lookup |
 * | `strategies.ts` | per factor: what `POST /challenges` issues and how `POST /factors` checks it |
 * | `requester-routes.ts` | the requester's routes (recovery token; agents sign) |
 * | `cancel.ts` | the cancel link's page, its button, and the cancel API |
 * | `support-routes.ts` | support's decision, document check and full view (`recovery:approve`) |
 * | `provider-callback.ts` | a `provider_reauth` answer at the OAuth callback |
 *
 * Every start, update and query of the workflow goes through `api/processes/recovery.ts`. Factors set up in
 * advance, signed in, are `../recovery-factors/`.
 */
import { OpenAPIHono } from '@hono/zod-openapi';
import type { ApiEnv } from '../../context.js';
import { defaultHook } from '../../problem.js';
import { recoveryCancelRoutes } from './cancel.js';
import { recoveryRequesterRoutes } from './requester-routes.js';
import { recoverySupportRoutes } from './support-routes.js';

export { recoveryProviderCallback, type RecoveryCallbackAnswer } from './provider-callback.js';
export { recoveryStartedSchema, recoveryStartSchema } from './schemas.js';
export {
  optionalAgentSignature,
  recoveryApprovePermission,
  recoveryContext,
  recoverySettings,
  type RecoverySettings,
} from './settings.js';
export { startRecovery } from './requests.js';

export const recoveryRoutes = new OpenAPIHono<ApiEnv>({ defaultHook })
  .route('/', recoveryRequesterRoutes)
  .route('/', recoveryCancelRoutes)
  .route('/', recoverySupportRoutes);
