/**
 * The API's payload codec: given in `ApiDeps` (api/main.ts builds it before its Temporal client), or built once
 * from the SecretVault. The same keys as the workers', so what one encrypts the other decrypts.
 */
import { PayloadEncryptionCodec } from '../activities/secrets/payload-codec.js';
import { vaultOf } from './adapters.js';
import type { ApiDeps } from './context.js';

const codecs = new WeakMap<ApiDeps, Promise<PayloadEncryptionCodec>>();

export function codecOf(deps: ApiDeps): Promise<PayloadEncryptionCodec> {
  if (deps.codec) return Promise.resolve(deps.codec);
  let codec = codecs.get(deps);
  if (!codec) {
    codec = vaultOf(deps).then((vault) => PayloadEncryptionCodec.create(vault));
    codec.catch(() => codecs.delete(deps));
    codecs.set(deps, codec);
  }
  return codec;
}
