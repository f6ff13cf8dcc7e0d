/**
 * AI agents acting for a person (A2A). The person registers the agent's Ed25519 public key while signed in;
 * the agent then signs its requests (RFC 9421, see `auth/http-signatures.ts`). A recovery an agent starts
 * is flagged `ai_agent` and, like every recovery, waits for a human support approval.
 */
import { randomUUID } from 'node:crypto';
import { OpenAPIHono, z } from '@hono/zod-openapi';
import { auth, secured } from '../auth/route-auth.js';
import { collections } from '../../domain/collections.js';
import { personName } from '../../domain/names.js';
import { networkOf, type AgentDocument } from '../../domain/recovery.js';
import { agentSignature, ed25519PublicKey, requiredComponents } from '../auth/http-signatures.js';
import type { ApiEnv } from '../context.js';
import { clientIp, proxyTrustOf } from '../middleware/rate-limit.js';
import { defaultHook, ProblemError } from '../problem.js';
import { problemResponses } from './openapi.js';
import { recoverySettings, recoveryStartedSchema, recoveryStartSchema, startRecovery } from './recoveries/index.js';

const agentRegistrationSchema = z
  .object({
    name: personName(100),
    publicKeyJwk: z
      .object({
        kty: z.literal('OKP'),
        crv: z.literal('Ed25519'),
        x: z.string().regex(/^[A-Za-z0-9_-]{43}$/, 'the 32-byte public key, base64url'),
      })
      .strip(),
  })
  .strict()
  .openapi('AgentRegistration');

const registerRoute = secured(auth.bearer, {
  method: 'post',
  path: '/v1/me/agents',
  summary: 'Register an AI agent’s Ed25519 key to act for you',
  description: 'The agent signs requests with the private key: RFC 9421 HTTP Message Signatures, keyid = agentId.',
  request: { body: { required: true, content: { 'application/json': { schema: agentRegistrationSchema } } } },
  responses: {
    201: {
      description: 'Registered',
      content: { 'application/json': { schema: z.object({ agentId: z.uuid() }).openapi('AgentRegistered') } },
      links: {
        revoke: {
          operationRef: '#/paths/~1v1~1me~1agents~1{agentId}/delete',
          parameters: { agentId: '$response.body#/agentId' },
          description: 'Revoke the agent',
        },
      },
    },
    ...problemResponses(400, 401, 404, 413, 415),
  },
});

const revokeRoute = secured(auth.bearer, {
  method: 'delete',
  path: '/v1/me/agents/{agentId}',
  summary: 'Revoke an agent’s key',
  request: { params: z.object({ agentId: z.uuid().openapi({ param: { name: 'agentId', in: 'path' } }) }) },
  responses: {
    204: { description: 'Revoked: its signatures are refused from now on' },
    ...problemResponses(400, 401, 404),
  },
});

const agentRecoveryRoute = secured(
  auth.agentSignature(
    agentSignature({
      required: true,
      windowSeconds: (c) => recoverySettings(c.get('deps').config).agentSignatureWindowSeconds,
    }),
  ),
  {
    method: 'post',
    path: '/v1/agents/recoveries',
    summary: 'Start an account recovery as a signed AI agent',
    description:
      `Signed (RFC 9421): components ${requiredComponents.map((c) => `"${c}"`).join(' ')}, Ed25519, keyid = agentId, ` +
      'created within the signature window, each signature once. Unsigned or badly signed: 401.',
    request: { body: { required: true, content: { 'application/json': { schema: recoveryStartSchema } } } },
    responses: {
      202: {
        description: 'The recovery runs, flagged ai_agent',
        content: { 'application/json': { schema: recoveryStartedSchema } },
      },
      ...problemResponses(400, 401, 413, 415, 429),
    },
  },
);

export const agentRoutes = new OpenAPIHono<ApiEnv>({ defaultHook })
  .openapi(registerRoute, async (c) => {
    const { name, publicKeyJwk } = c.req.valid('json');
    const principal = c.get('principal');
    const { db, config } = c.get('deps');
    if (
      !(await db
        .collection(collections.accounts)
        .findOne({ _id: principal.accountId as never }, { projection: { _id: 1 } }))
    ) {
      throw new ProblemError('account-not-found', 'This identity has no account yet: sign up with POST /v1/signup.');
    }
    const jwk = { kty: 'OKP' as const, crv: 'Ed25519' as const, x: publicKeyJwk.x };
    if (!ed25519PublicKey(jwk)) throw new ProblemError('validation', 'publicKeyJwk is not an Ed25519 public key.');
    const agentId = randomUUID();
    await db.collection<AgentDocument>(collections.agents).insertOne({
      _id: agentId,
      accountId: principal.accountId,
      subject: principal.subject,
      name,
      publicKeyJwk: jwk,
      createdAt: new Date().toISOString(),
      network: networkOf(clientIp(c, proxyTrustOf(config))),
    });
    return c.json({ agentId }, 201);
  })

  .openapi(revokeRoute, async (c) => {
    const { agentId } = c.req.valid('param');
    const revoked = await c
      .get('deps')
      .db.collection<AgentDocument>(collections.agents)
      .updateOne(
        { _id: agentId, accountId: c.get('principal').accountId, revokedAt: { $exists: false } },
        { $set: { revokedAt: new Date().toISOString() } },
      );
    if (revoked.matchedCount === 0) throw new ProblemError('not-found', 'You have no active agent with this id.');
    return c.body(null, 204);
  })

  .openapi(agentRecoveryRoute, async (c) => c.json(await startRecovery(c, c.req.valid('json').email), 202));
