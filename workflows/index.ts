/** The only bundle entry for workflow code: the worker bundles this file. */
export { signup } from './signup/signup.js';
