/**
 * Provider webhooks: `POST /v1/webhooks/github` and `POST /v1/webhooks/slack`. Public, authenticated by the
 * provider's signature over the raw body (`auth/webhook-signatures.ts`, secrets from the SecretVault); each
 * delivery is handled once (`webhook-deliveries.ts`) and becomes a sync of the connection it is about,
 * through the sync's one starter. A refused delivery is audited (`webhook.rejected`: provider and reason).
 * CodeRabbit publishes no webhook format, so it has no route (docs/webhooks.md).
 */
import { createHash, randomUUID } from 'node:crypto';
import { OpenAPIHono, z } from '@hono/zod-openapi';
import type { Context, MiddlewareHandler } from 'hono';
import { AuditLog } from '../../activities/audit/audit-log.js';
import type { ProviderId } from '../../domain/providers.js';
import { vaultOf } from '../adapters.js';
import {
  githubDeliveryHeader,
  githubEventHeader,
  githubSignatureHeader,
  slackSignatureHeader,
  slackTimestampHeader,
  verifyGithubSignature,
  verifySlackSignature,
  type WebhookCheck,
  type WebhookRejection,
} from '../auth/webhook-signatures.js';
import { auth, secured } from '../auth/route-auth.js';
import type { ApiDeps, ApiEnv } from '../context.js';
import { syncNow } from '../processes/sync.js';
import { defaultHook, ProblemError, respondProblem } from '../problem.js';
import { claimDelivery, connectionsOf, releaseDelivery } from '../webhook-deliveries.js';
import { problemResponses } from './openapi.js';

export const webhookPaths = { github: '/v1/webhooks/github', slack: '/v1/webhooks/slack' } as const;
type WebhookProvider = keyof typeof webhookPaths;

/**
 * The SecretVault paths of a provider's configuration: the ones `credentialPaths` in
 * `activities/providers/resolve.ts` names (the API may not import the provider activities).
 */
const secretPaths = {
  real: (provider: ProviderId) => `providers/${provider}`,
  sandbox: (provider: ProviderId) => `sandbox/providers/${provider}`,
};

/** The SecretVault fields of a provider's webhook secret, beside its client credentials (`providers/<id>`). */
export const webhookSecretFields = { current: 'webhookSecret', previous: 'previousWebhookSecret' } as const;

/**
 * The secrets a delivery may be signed with: the current one and, during a rotation, the one before. Read
 * like client credentials (`activities/providers/resolve.ts`): `providers/<id>`, else the sandbox's entry
 * when a sandbox plays the provider.
 */
async function webhookSecretsOf(deps: ApiDeps, provider: ProviderId): Promise<string[]> {
  const vault = await vaultOf(deps);
  const at = async (path: string) => {
    const secret = await vault.readSecret(path);
    return [secret?.[webhookSecretFields.current], secret?.[webhookSecretFields.previous]].filter(
      (s): s is string => typeof s === 'string' && s !== '',
    );
  };
  const real = await at(secretPaths.real(provider));
  if (real.length > 0 || !deps.config.providers.sandboxUrl) return real;
  return at(secretPaths.sandbox(provider));
}

/** The audit trail of a refused delivery: which provider and why; never the body, the signature or the secret. */
async function auditRejected(
  deps: ApiDeps,
  provider: WebhookProvider,
  reason: WebhookRejection,
  deliveryId?: string,
): Promise<void> {
  await new AuditLog(deps.db, { vault: () => vaultOf(deps) }).append({
    eventId: `webhook/${provider}/rejected/${randomUUID()}`,
    action: 'webhook.rejected',
    actor: { type: 'system', id: `webhook:${provider}` },
    details: { provider, reason, ...(deliveryId ? { deliveryId } : {}) },
  });
}

const rawBodyOf = async (c: Context<ApiEnv>) => Buffer.from(await c.req.arrayBuffer());

/** Checks the provider's signature over the raw bytes before anything parses them. */
function signedBy(
  provider: WebhookProvider,
  check: (c: Context<ApiEnv>, body: Buffer, secrets: string[]) => WebhookCheck,
  challengeHeader: string,
): MiddlewareHandler<ApiEnv> {
  return async (c, next) => {
    const deps = c.get('deps');
    const secrets = await webhookSecretsOf(deps, provider);
    const result = check(c, await rawBodyOf(c), secrets);
    // A request with no well-formed signature is a 401 even before a secret is stored; a well-formed one
    // that nothing can check tells the operator what to configure.
    if (secrets.length === 0 && (result.ok || result.code === 'signature_mismatch'))
      return respondProblem(
        c,
        'not-configured',
        `The ${provider} webhook is off: store its secret as "${webhookSecretFields.current}" in the SecretVault at ${secretPaths.real(provider)}.`,
      );
    if (!result.ok) {
      await auditRejected(deps, provider, result.code);
      return respondProblem(c, 'invalid-signature', `The delivery was refused: ${result.reason}.`, {
        'www-authenticate': `${challengeHeader} realm="cra-webhooks"`,
      });
    }
    return next();
  };
}

const githubSigned = signedBy(
  'github',
  (c, body, secrets) => verifyGithubSignature(c.req.header(githubSignatureHeader), body, secrets),
  githubSignatureHeader,
);
const slackSigned = signedBy(
  'slack',
  (c, body, secrets) =>
    verifySlackSignature(c.req.header(slackSignatureHeader), c.req.header(slackTimestampHeader), body, secrets),
  slackSignatureHeader,
);

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const idOf = (v: unknown): string | undefined =>
  typeof v === 'string' && v !== '' ? v : typeof v === 'number' ? String(v) : undefined;
const at = (obj: unknown, ...path: string[]): unknown =>
  path.reduce<unknown>((o, k) => (isObject(o) ? o[k] : undefined), obj);

/** The signed body as JSON (its signature was checked on these bytes); a signed body that is not JSON is a 400. */
async function signedJson(c: Context<ApiEnv>): Promise<Json> {
  try {
    const parsed: unknown = JSON.parse((await rawBodyOf(c)).toString('utf8'));
    if (isObject(parsed)) return parsed;
  } catch {
    // answered below
  }
  throw new ProblemError('malformed-json', 'The delivery’s body is not a JSON object.');
}

/**
 * GitHub events that change what a GitHub sync imports (repositories, organizations, starred), from
 * https://docs.github.com/en/webhooks/webhook-events-and-payloads. Others (issues, pull requests, `ping`, …)
 * are answered 202 `ignored`.
 */
const githubSyncEvents: ReadonlySet<string> = new Set([
  'push',
  'repository',
  'public',
  'fork',
  'star',
  'organization',
  'member',
  'membership',
]);

/**
 * The GitHub accounts a delivery is about: who acted (`sender`), whose repository it is (`repository.owner`),
 * the account an app is installed on (`installation.account`), and the member added or removed (`member`,
 * `membership.user`). GitHub sends numeric ids; CRA's connections keep them as strings.
 */
function githubAccountIds(payload: Json): string[] {
  const ids = [
    at(payload, 'sender', 'id'),
    at(payload, 'repository', 'owner', 'id'),
    at(payload, 'installation', 'account', 'id'),
    at(payload, 'member', 'id'),
    at(payload, 'membership', 'user', 'id'),
  ].map(idOf);
  return [...new Set(ids.filter((id): id is string => id !== undefined))];
}

/**
 * Slack Events API events that change the conversations a Slack sync imports, from
 * https://api.slack.com/events (channel_* and member_* event pages).
 */
const slackSyncEvents: ReadonlySet<string> = new Set([
  'channel_created',
  'channel_deleted',
  'channel_rename',
  'channel_archive',
  'channel_unarchive',
  'member_joined_channel',
  'member_left_channel',
  'group_rename',
  'group_archive',
  'group_unarchive',
  'group_left',
]);

/**
 * The Slack users an event is about: `event.user` (a user id, or the user object of some events) and the
 * creator of a new channel (`event.channel.creator`). A connection's provider account id is the user id
 * (the `sub` of Slack's OpenID userinfo), which Slack keeps unique per user across workspaces.
 */
function slackAccountIds(event: Json): string[] {
  const ids = [
    idOf(event.user) ?? idOf(at(event, 'user', 'id')),
    idOf(at(event, 'channel', 'creator')),
    idOf(event.inviter),
  ];
  return [...new Set(ids.filter((id): id is string => id !== undefined))];
}

const acceptedSchema = z
  .object({
    deliveryId: z.string(),
    /** How many connections' syncs were started (or joined, when one was already running). */
    syncs: z.number().int(),
  })
  .openapi('WebhookAccepted');
const ignoredSchema = z
  .object({ deliveryId: z.string().optional(), ignored: z.string() })
  .openapi('WebhookIgnored', { description: 'Nothing to do: the provider must not retry.' });
const duplicateSchema = z
  .object({ deliveryId: z.string(), duplicate: z.literal(true) })
  .openapi('WebhookDuplicate', { description: 'Handled before: nothing was started this time.' });

const deliveryResponses = {
  202: {
    description: 'A sync of each linked connection runs, or nothing was to be done (`ignored`)',
    content: { 'application/json': { schema: z.union([acceptedSchema, ignoredSchema]) } },
  },
  ...problemResponses(400, 401, 413, 415, 503),
} as const;

/** Documented only: the handler reads the signed bytes itself, each event's payload has its own shape. */
const githubBody = z.looseObject({}).openapi('GithubWebhookPayload', {
  description: 'https://docs.github.com/en/webhooks/webhook-events-and-payloads',
});
const slackBody = z.looseObject({ type: z.string() }).openapi('SlackEventsPayload', {
  description: '`url_verification` or `event_callback`: https://api.slack.com/apis/events-api',
});

const githubRoute = secured(auth.hookSignature(githubSigned), {
  method: 'post',
  path: webhookPaths.github,
  request: { body: { required: true, content: { 'application/json': { schema: githubBody } } } },
  summary: 'GitHub webhook (signed with X-Hub-Signature-256)',
  description: `\`${githubSignatureHeader}: sha256=<hex HMAC-SHA256 of the raw body>\` under the webhook secret (SecretVault \`providers/github\`, field \`${webhookSecretFields.current}\`; \`${webhookSecretFields.previous}\` during a rotation). \`${githubDeliveryHeader}\` is the delivery id (a second delivery of it answers 200 \`duplicate\`), \`${githubEventHeader}\` the event.`,
  responses: {
    200: { description: 'A replay: handled before', content: { 'application/json': { schema: duplicateSchema } } },
    ...deliveryResponses,
  },
});

const slackRoute = secured(auth.hookSignature(slackSigned), {
  method: 'post',
  path: webhookPaths.slack,
  request: { body: { required: true, content: { 'application/json': { schema: slackBody } } } },
  summary: 'Slack Events API request URL (signed with X-Slack-Signature)',
  description: `\`${slackSignatureHeader}: v0=<hex HMAC-SHA256 of "v0:<${slackTimestampHeader}>:<raw body>">\` under the app's signing secret (SecretVault \`providers/slack\`, field \`${webhookSecretFields.current}\`), timestamp within 300 s. Answers the \`url_verification\` challenge; \`event_id\` is the delivery id.`,
  responses: {
    200: {
      description: 'The url_verification challenge, or a replay',
      content: {
        'application/json': {
          schema: z.union([z.object({ challenge: z.string() }).openapi('SlackChallenge'), duplicateSchema]),
        },
      },
    },
    ...deliveryResponses,
  },
});

type Outcome =
  | { kind: 'duplicate'; deliveryId: string }
  | { kind: 'ignored'; deliveryId: string; ignored: string }
  | { kind: 'accepted'; deliveryId: string; syncs: number };

/**
 * One signed delivery: remembered once, then a sync of each active connection of the accounts it names. A
 * failure while starting forgets the delivery again, so the provider's retry is not taken for a replay.
 */
async function handleDelivery(
  deps: ApiDeps,
  provider: WebhookProvider,
  delivery: {
    deliveryId: string;
    event: string;
    relevant: boolean;
    accountIds: string[];
    /** When the delivery id is not signed (GitHub's): `body:<sha256>` of the signed body, also remembered once (no delivery id holds a colon). */
    bodyKey?: string;
  },
): Promise<Outcome> {
  const { deliveryId, bodyKey } = delivery;
  const keys = bodyKey ? [deliveryId, bodyKey] : [deliveryId];
  if (
    !(await claimDelivery(deps.db, provider, deliveryId)) ||
    (bodyKey && !(await claimDelivery(deps.db, provider, bodyKey)))
  ) {
    await auditRejected(deps, provider, 'replay', deliveryId);
    return { kind: 'duplicate', deliveryId };
  }
  if (!delivery.relevant)
    return {
      kind: 'ignored',
      deliveryId,
      ignored: `the ${provider} event "${delivery.event}" changes nothing CRA syncs`,
    };
  try {
    const connections = (await connectionsOf(deps.db, provider, delivery.accountIds)).filter(
      (n) => n.status === 'active',
    );
    if (connections.length === 0)
      return { kind: 'ignored', deliveryId, ignored: `no active ${provider} connection of the accounts it names` };
    let syncs = 0;
    const refused: string[] = [];
    for (const n of connections) {
      try {
        await syncNow(deps, { accountId: n.accountId, provider, connectionId: n.connectionId });
        syncs++;
      } catch (err) {
        // The person withdrew the sync's consent, or the account is being erased: nothing to retry.
        if (!(err instanceof ProblemError)) throw err;
        refused.push(err.kind);
      }
    }
    if (syncs === 0) return { kind: 'ignored', deliveryId, ignored: `the sync is refused (${refused.join(', ')})` };
    return { kind: 'accepted', deliveryId, syncs };
  } catch (err) {
    for (const key of keys) await releaseDelivery(deps.db, provider, key);
    throw err;
  }
}

function answer(c: Context<ApiEnv>, outcome: Outcome) {
  switch (outcome.kind) {
    case 'duplicate':
      return c.json({ deliveryId: outcome.deliveryId, duplicate: true as const }, 200);
    case 'ignored':
      return c.json({ deliveryId: outcome.deliveryId, ignored: outcome.ignored }, 202);
    case 'accepted':
      return c.json({ deliveryId: outcome.deliveryId, syncs: outcome.syncs }, 202);
  }
}

const deliveryIdPattern = /^[\w.-]{1,128}$/;

export const webhookRoutes = new OpenAPIHono<ApiEnv>({ defaultHook })
  .openapi(githubRoute, async (c) => {
    const payload = await signedJson(c);
    const deliveryId = c.req.header(githubDeliveryHeader)?.trim();
    const event = c.req.header(githubEventHeader)?.trim() ?? '';
    if (!deliveryId || !deliveryIdPattern.test(deliveryId))
      throw new ProblemError('validation', `The ${githubDeliveryHeader} header is missing or not a delivery id.`);
    const outcome = await handleDelivery(c.get('deps'), 'github', {
      deliveryId,
      event,
      relevant: githubSyncEvents.has(event),
      accountIds: githubAccountIds(payload),
      // The signature covers the body only: a captured body under a fresh delivery id is the same delivery.
      bodyKey: `body:${createHash('sha256')
        .update(await rawBodyOf(c))
        .digest('hex')}`,
    });
    return answer(c, outcome);
  })
  .openapi(slackRoute, async (c) => {
    const payload = await signedJson(c);
    // Sent when the request URL is saved in the app's settings: echo the challenge.
    // https://api.slack.com/events/url_verification
    if (payload.type === 'url_verification' && typeof payload.challenge === 'string')
      return c.json({ challenge: payload.challenge }, 200);
    // Every event arrives wrapped: `event_callback` with `event_id`, `team_id` and the inner `event`.
    // https://api.slack.com/apis/events-api
    const deliveryId = typeof payload.event_id === 'string' ? payload.event_id : undefined;
    if (!deliveryId || !deliveryIdPattern.test(deliveryId)) {
      if (payload.type !== 'event_callback')
        return c.json({ ignored: `Slack request type "${String(payload.type)}" carries no event` }, 202);
      throw new ProblemError('validation', 'The event has no event_id.');
    }
    const event = isObject(payload.event) ? payload.event : {};
    const type = typeof event.type === 'string' ? event.type : '';
    const outcome = await handleDelivery(c.get('deps'), 'slack', {
      deliveryId,
      event: type,
      relevant: payload.type === 'event_callback' && slackSyncEvents.has(type),
      accountIds: slackAccountIds(event),
    });
    return answer(c, outcome);
  });
