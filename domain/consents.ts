/**
 * Consent purposes: what a person may agree to, the version of the text they agree to, and the features
 * that stop when they withdraw it. The list comes from `CONSENT_PURPOSES` (JSON); without it, the defaults
 * below. A person's answers are appended to the account document's `consents` (never overwritten).
 */
import { z } from 'zod';
import { consentSchema } from './account-center.js';

/** Features that depend on a consent; withdrawing the consent stops them (see docs/data-rights.md). */
export const consentFeatures = ['provider_sync'] as const;
export type ConsentFeature = (typeof consentFeatures)[number];

export const consentPurposeSchema = z.object({
  purpose: consentSchema.shape.purpose,
  version: consentSchema.shape.version,
  /** Shown to the person: what they agree to. */
  description: z.string().min(1).max(500),
  /** An account without a current grant of it is reported as missing this consent in `GET /v1/me`. */
  required: z.boolean().default(false),
  /** What stops when the person withdraws it. */
  features: z.array(z.enum(consentFeatures)).default([]),
});
export type ConsentPurpose = z.infer<typeof consentPurposeSchema>;

export const defaultConsentPurposes: ConsentPurpose[] = [
  {
    purpose: 'terms',
    version: '2026-11',
    description: 'The terms of service of this account center.',
    required: true,
    features: [],
  },
  {
    purpose: 'provider_data',
    version: '2026-11',
    description: 'Importing and keeping the data of the providers you connect, and refreshing it on a schedule.',
    required: false,
    features: ['provider_sync'],
  },
];

const expected = 'a JSON array of {purpose, version, description, required?, features?}';

/**
 * `CONSENT_PURPOSES`: a JSON array of purposes; undefined → the defaults. Every problem starts with the
 * variable's name and says which item and field is wrong, like the other settings' problems.
 */
export function parseConsentPurposes(raw: string | undefined): { value: ConsentPurpose[]; problems: string[] } {
  if (raw === undefined) return { value: defaultConsentPurposes, problems: [] };
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    return { value: [], problems: [`CONSENT_PURPOSES: not valid JSON (expected ${expected})`] };
  }
  if (!Array.isArray(json) || json.length === 0)
    return { value: [], problems: [`CONSENT_PURPOSES: expected ${expected}, with at least one purpose`] };
  const value: ConsentPurpose[] = [];
  const problems: string[] = [];
  json.forEach((item: unknown, i) => {
    // Strict: a misspelt field ("requird") is refused rather than silently ignored.
    const parsed = consentPurposeSchema.strict().safeParse(item);
    const named = (item as { purpose?: unknown } | null)?.purpose;
    const where = `item ${i + 1}${typeof named === 'string' ? ` ("${named}")` : ''}`;
    if (parsed.success) {
      if (value.some((p) => p.purpose === parsed.data.purpose))
        problems.push(`CONSENT_PURPOSES: ${where}: purpose "${parsed.data.purpose}" is listed twice`);
      value.push(parsed.data);
      return;
    }
    for (const issue of parsed.error.issues) {
      const field = issue.path
        .map((p, n) => (typeof p === 'number' ? `[${p}]` : `${n ? '.' : ''}${String(p)}`))
        .join('');
      problems.push(`CONSENT_PURPOSES: ${where}${field ? `, ${field}` : ''}: ${issue.message}`);
    }
  });
  return problems.length > 0 ? { value: [], problems } : { value, problems };
}
