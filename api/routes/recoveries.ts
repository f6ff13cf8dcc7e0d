/**
 * The recovery routes live in `./recoveries/`. This module stays for the importers outside the recovery
 * code that still name it (`api/sign-in.ts`, `test/unit/recovery-config.test.ts`); new code imports
 * `./recoveries/index.js`.
 */
export { recoverySettings } from './recoveries/settings.js';
