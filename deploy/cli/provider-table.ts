/** `npm run providers:table`: the per-provider capability table the README carries, made from the code. */
import { capabilityTable } from '../../activities/providers/data/capabilities.js';

process.stdout.write(`${await capabilityTable()}\n`);
