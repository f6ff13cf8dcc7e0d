/**
 * The erasure certificate's signature: a SecretVault HMAC over its canonical JSON without `signature`, so
 * anyone with access to the installation's vault can check it later (`npm run erasure:verify`).
 */
import { canonicalJson } from '../audit/canonical-json.js';
import type { SecretVault } from '../secrets/port.js';
import type { ErasureCertificate } from '../../workflows/erasure/messages.js';
import { erasureKeys } from './store.js';

export async function signCertificate(
  vault: SecretVault,
  unsigned: Omit<ErasureCertificate, 'signature'>,
): Promise<ErasureCertificate> {
  return {
    ...unsigned,
    signature: {
      keyName: erasureKeys.certificates,
      mac: await vault.hmac(erasureKeys.certificates, canonicalJson(unsigned)),
    },
  };
}

/** Checks an erasure certificate's signature with the installation's SecretVault (`npm run erasure:verify`). */
export async function verifyCertificate(
  vault: SecretVault,
  certificate: ErasureCertificate,
): Promise<{ ok: true } | { ok: false; reason: string }> {
  if (certificate?.format !== 'cra-erasure-certificate/1')
    return { ok: false, reason: 'not an erasure certificate (format cra-erasure-certificate/1)' };
  const { signature, ...unsigned } = certificate;
  if (!signature?.mac || !signature.keyName) return { ok: false, reason: 'the certificate has no signature' };
  const ok = await vault.verifyHmac(signature.keyName, canonicalJson(unsigned), signature.mac).catch((err: unknown) => {
    throw new Error(`the vault could not check the signature: ${(err as Error).message}`);
  });
  return ok
    ? { ok: true }
    : { ok: false, reason: 'the signature does not match: the certificate was altered or signed elsewhere' };
}
