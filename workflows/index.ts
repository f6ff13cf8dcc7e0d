/** The only bundle entry for workflow code: the worker bundles this file. */
export { signup } from './signup/signup.js';
export { recovery } from './recovery/recovery.js';
export { linkProvider } from './link/link-provider.js';
export { tokenCustody } from './tokens/token-custody.js';
export { disconnectProvider } from './disconnect/disconnect-provider.js';
export { syncProvider } from './sync/sync-provider.js';
export { exportData } from './export/export.js';
export { erasure, erasurePurge } from './erasure/erasure.js';
