/** The recovery routes' request and response schemas (named in the OpenAPI document). */
import { z } from '@hono/zod-openapi';
import { providerIds } from '../../../domain/providers.js';
import { recoveryFactors, recoveryStages } from '../../../workflows/recovery/messages.js';
import { recoveryTokenHeader } from '../../auth/recovery-proofs.js';
import { trimmedText } from '../openapi.js';

export const factorEnum = z.enum(recoveryFactors);
/**
 * The email shape zod's z.email() checks, spelt out because a pipe cannot be described in OpenAPI, and held to
 * RFC 5321's limits as `format: email` validators are: a local part of at most 64 characters, a domain of at most
 * 253, labels of at most 63 that neither start nor end with a hyphen.
 */
export const emailPattern =
  /^(?=[^@]{1,64}@)(?!\.)(?!.*\.\.)([A-Za-z0-9_'+\-.]*)[A-Za-z0-9_+-]@(?=[^@]{1,253}$)([A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$/;
export const recoveryIdParam = z.object({
  recoveryId: z
    .uuid()
    .openapi({ param: { name: 'recoveryId', in: 'path' }, description: 'The recoveryId from POST /v1/recoveries' }),
});
export const recoveryStartSchema = z
  .object({
    email: z
      .string()
      .trim()
      .max(254)
      .regex(emailPattern, 'an email address')
      .openapi({ example: 'ada@example.com', format: 'email' }),
  })
  .strict()
  .openapi('RecoveryStart');
export const recoveryStartedSchema = z
  .object({
    recoveryId: z.uuid(),
    recoveryToken: z.string().openapi({
      description: `Shown once. Send it as ${recoveryTokenHeader} with every request about this recovery.`,
    }),
  })
  .openapi('RecoveryStarted');
export const publicStatusSchema = z
  .object({
    stage: z.enum(recoveryStages),
    satisfied: z.array(factorEnum),
    coolingEndsAt: z.string().nullable(),
    approvalsNeeded: z.number().int(),
  })
  .openapi('RecoveryStatus');
export const challengeRequestSchema = z
  .object({
    factor: factorEnum,
    provider: z
      .enum(providerIds)
      .optional()
      .openapi({ description: 'For `provider_reauth`: the connected provider to sign in with', example: 'github' }),
  })
  .strict()
  // The route refuses a provider for any other factor and requires it for `provider_reauth`: said here too.
  .meta({
    oneOf: [
      { properties: { factor: { const: 'provider_reauth' } }, required: ['factor', 'provider'] },
      { properties: { factor: { not: { const: 'provider_reauth' } }, provider: false } },
    ],
  })
  .openapi('RecoveryChallengeRequest');
export const challengeSchema = z
  .object({
    challengeId: z.uuid(),
    factor: factorEnum,
    expiresAt: z.string(),
    publicKey: z
      .object({
        challenge: z.string(),
        rpId: z.string(),
        timeout: z.number(),
        userVerification: z.literal('required'),
        // Always empty, so the options never tell whether a passkey (or an account) exists.
        allowCredentials: z.array(z.object({ id: z.string(), type: z.literal('public-key') })),
      })
      .optional()
      .openapi({ description: 'For `passkey`: the options for navigator.credentials.get()' }),
    authorizationUrl: z.url().optional().openapi({
      description:
        'For `provider_reauth`: send the person here (PKCE S256, single-use state, nonce for OpenID providers); the provider answers at /v1/oauth/{provider}/callback',
    }),
  })
  .openapi('RecoveryChallenge');
export const assertionSchema = z.object({
  id: z.string().min(1).max(1024),
  rawId: z.string().min(1).max(1024),
  type: z.literal('public-key'),
  response: z.object({
    clientDataJSON: z.string().max(8192),
    authenticatorData: z.string().max(8192),
    signature: z.string().max(1024),
    userHandle: z.string().max(1024).optional(),
  }),
  clientExtensionResults: z.record(z.string(), z.unknown()).default({}),
  authenticatorAttachment: z.enum(['platform', 'cross-platform']).optional(),
});
export const factorRequestSchema = z
  .object({
    factor: factorEnum,
    code: trimmedText(1, 64).optional().openapi({ description: 'email_code, sms_code, totp, backup_code' }),
    challengeId: z.uuid().optional().openapi({
      description: 'The challenge the code or assertion answers; the latest one when omitted (codes only)',
    }),
    assertion: assertionSchema
      .optional()
      .openapi({ description: 'passkey: the WebAuthn assertion (AuthenticationResponseJSON)' }),
  })
  .strict()
  .openapi('RecoveryFactor');
export const factorOutcomeSchema = z
  .object({ accepted: z.boolean(), satisfied: z.array(factorEnum), remaining: z.number().int() })
  .openapi('RecoveryFactorOutcome');
/** A reason support gives: at least 3 characters once trimmed. */
const supportReason = trimmedText(3, 500);
export const decisionSchema = z
  .object({ decision: z.enum(['approve', 'deny']), reason: supportReason })
  .strict()
  .openapi('RecoveryDecision');
export const documentCheckSchema = z
  .object({ verified: z.boolean(), reason: supportReason })
  .strict()
  .openapi('RecoveryDocumentCheck');

export const decisionOutcomeSchema = z.object({
  stage: z.enum(recoveryStages),
  approvals: z.number().int(),
  approvalsNeeded: z.number().int(),
});
export type FactorRequest = z.infer<typeof factorRequestSchema>;
