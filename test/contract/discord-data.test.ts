/**
 * Discord's REST API as the reader reads it and the sandbox plays it, against the examples of Discord's
 * documentation: the partial guilds of `GET /users/@me/guilds` paged by `after`, connections named `type:id`,
 * the `X-RateLimit-*` headers and 429 body of the rate-limit page, and the sandbox's records having every
 * documented field.
 */
import { describe, expect, it } from 'vitest';
import { discordReader } from '../../activities/providers/data/discord.js';
import { defaultClass, type ReaderContext } from '../../activities/providers/data/reader.js';
import { generateRecord, kindSpecFor, seedOf } from '../../deploy/sandbox/data-kinds.js';
import { discordApi } from '../../deploy/sandbox/apis/discord.js';
import { renderContext } from '../../deploy/sandbox/apis/kit.js';
import { SandboxDatasets } from '../../deploy/sandbox/datasets.js';
import { providerCatalog } from '../../domain/provider-catalog.js';
import { answer } from '../support/provider-contract.js';

const ctx: ReaderContext = {
  apis: { rest: 'https://discord.com/api/v10' },
  pageSize: 200,
  providerAccountId: '80351110224678912',
  getJson: () => Promise.reject(new Error('not used')),
};

function sandboxItem(kind: string, index = 3) {
  const id = `${kindSpecFor(kind).idPrefix}-${String(index).padStart(6, '0')}`;
  const record = generateRecord(kindSpecFor(kind), seedOf(`discord/${kind}`), id, 'discord', 'nelly', index);
  return {
    item: discordApi.render(kind, record, renderContext('discord', 'nelly', record)),
    externalId: discordApi.externalId(kind, record),
  };
}

// https://discord.com/developers/docs/resources/user#get-current-user-guilds-example-partial-guild
const guildExample = {
  id: '80351110224678912',
  name: '1337 Krew',
  icon: '8342729096ea3675442027381ff50dfe',
  banner: 'bb42bdc37653b6e2b6b5e7e2b3ecef5e',
  owner: true,
  permissions: '36953089',
  features: ['COMMUNITY', 'NEWS', 'ANIMATED_ICON', 'INVITE_SPLASH', 'BANNER', 'ROLE_ICONS'],
  approximate_member_count: 3268,
  approximate_presence_count: 784,
};
const secondGuild = { ...guildExample, id: '80351110224678913', name: 'Second Krew' };

// https://discord.com/developers/docs/resources/user#connection-object-connection-structure (the page gives the
// fields, not an example: one connection with every field it names)
const connectionExample = {
  id: '12345678',
  name: 'nelly',
  type: 'github',
  revoked: false,
  integrations: [],
  verified: true,
  friend_sync: false,
  show_activity: true,
  two_way_link: false,
  visibility: 1,
};

describe('Discord guilds (GET /users/@me/guilds)', () => {
  const reader = discordReader.kinds.guilds!;

  it('asks for 200 and pages after the last snowflake while pages are full', () => {
    expect(reader.maxPageSize).toBe(200);
    expect(reader.first(ctx)).toBe('https://discord.com/api/v10/users/@me/guilds?limit=200');
    const full = reader.parse(
      answer('https://discord.com/api/v10/users/@me/guilds?limit=2', [guildExample, secondGuild]),
      ctx,
    );
    expect(full.items.map((i) => i.externalId)).toEqual(['80351110224678912', '80351110224678913']);
    expect(full.items[0]!.data).toEqual(guildExample);
    expect(full.next).toBe('https://discord.com/api/v10/users/@me/guilds?limit=2&after=80351110224678913');
    const short = reader.parse(
      answer('https://discord.com/api/v10/users/@me/guilds?limit=2&after=80351110224678913', [guildExample]),
      ctx,
    );
    expect(short.next).toBeNull();
    expect(reader.parse(answer('https://discord.com/api/v10/users/@me/guilds?limit=2', []), ctx)).toEqual({
      items: [],
      next: null,
    });
  });

  it('is played by the sandbox with every documented field, in snowflake order, with the id the reader reads', () => {
    const { item, externalId } = sandboxItem('guilds');
    expect(Object.keys(item)).toEqual(expect.arrayContaining(Object.keys(guildExample)));
    const page = reader.parse(answer('https://discord.com/api/v10/users/@me/guilds', [item]), ctx);
    expect(page.items.map((i) => i.externalId)).toEqual([externalId]);
    expect(BigInt(sandboxItem('guilds', 4).externalId)).toBeGreaterThan(BigInt(externalId));
  });
});

describe('Discord connections (GET /users/@me/connections)', () => {
  const reader = discordReader.kinds.connections!;

  it('reads the one unpaged list, each connection named by its type and id', () => {
    expect(reader.first(ctx)).toBe('https://discord.com/api/v10/users/@me/connections');
    const page = reader.parse(answer('https://discord.com/api/v10/users/@me/connections', [connectionExample]), ctx);
    expect(page).toEqual({ items: [{ externalId: 'github:12345678', data: connectionExample }], next: null });
  });

  it('is played by the sandbox with every documented field and the id the reader reads', () => {
    const { item, externalId } = sandboxItem('connections');
    expect(Object.keys(item)).toEqual(expect.arrayContaining(Object.keys(connectionExample)));
    const page = reader.parse(answer('https://discord.com/api/v10/users/@me/connections', [item]), ctx);
    expect(page.items.map((i) => i.externalId)).toEqual([externalId]);
  });
});

describe('Discord rate limits and errors', () => {
  // https://discord.com/developers/docs/topics/rate-limits#exceeding-a-rate-limit-example-exceeded-user-rate-limit-response
  const limitedHeaders = {
    'retry-after': '65',
    'x-ratelimit-limit': '10',
    'x-ratelimit-remaining': '0',
    'x-ratelimit-reset': '1470173023.123',
    'x-ratelimit-reset-after': '64.57',
    'x-ratelimit-bucket': 'abcd1234',
    'x-ratelimit-scope': 'user',
  };
  const limitedBody = { message: 'You are being rate limited.', retry_after: 64.57, global: false };

  it('takes the 429 body’s fractional retry_after and the headers’ remaining count and reset', () => {
    const before = Date.now();
    const signal = discordReader.rateLimit(
      answer('https://discord.com/api/v10/users/@me/guilds', limitedBody, 429, limitedHeaders),
    );
    expect(signal.remaining).toBe(0);
    expect(signal.retryAfterMs).toBe(64_570);
    expect(signal.resetAtMs).toBeGreaterThanOrEqual(before + 64_570);
    expect(signal.resetAtMs).toBeLessThanOrEqual(Date.now() + 64_570);
  });

  it('reads the headers of an ordinary answer (https://discord.com/developers/docs/topics/rate-limits#header-format-rate-limit-header-examples)', () => {
    const signal = discordReader.rateLimit(
      answer('https://discord.com/api/v10/users/@me/guilds', [guildExample], 200, {
        'x-ratelimit-limit': '5',
        'x-ratelimit-remaining': '1',
        'x-ratelimit-reset': '1470173023',
        'x-ratelimit-bucket': 'abcd1234',
      }),
    );
    expect(signal).toEqual({ remaining: 1, resetAtMs: 1_470_173_023_000 });
  });

  it('answers like Discord for a bad token and a used-up window', () => {
    const unauthorized = discordApi.unauthorized();
    expect(unauthorized).toEqual({ status: 401, body: { message: '401: Unauthorized', code: 0 } });
    expect(defaultClass(unauthorized.status)).toBe('unauthorized');
    const window = { limit: 3, remaining: 0, used: 3, resetAtMs: Date.now() + 1500, windowSeconds: 2, exceeded: true };
    const limited = discordApi.rateLimited(window, 2, 'quota');
    expect(limited.status).toBe(429);
    expect(Object.keys(limited.body as object).sort()).toEqual(Object.keys(limitedBody).sort());
    expect(Object.keys(discordApi.rateHeaders(window))).toEqual(
      expect.arrayContaining([
        'x-ratelimit-limit',
        'x-ratelimit-remaining',
        'x-ratelimit-reset',
        'x-ratelimit-reset-after',
        'x-ratelimit-bucket',
      ]),
    );
  });
});

describe('the sandbox pages like Discord', () => {
  const base = 'http://sandbox.test/discord/api/rest';
  const datasets = new SandboxDatasets((p) => (p === 'discord' ? providerCatalog.discord.dataKinds : undefined));
  const walkCtx: ReaderContext = { ...ctx, apis: { rest: base }, pageSize: 100 };

  function serve(kind: string, url: string) {
    const route = discordApi.routes.find((r) => r.kind === kind)!;
    const served = route.serve({
      url: new URL(url),
      params: {},
      username: 'nelly',
      kind,
      base,
      datasets,
      render: (record) => discordApi.render(kind, record, renderContext('discord', 'nelly', record)),
    });
    return answer(url, served.body, served.status);
  }

  function walk(kind: string) {
    const reader = discordReader.kinds[kind]!;
    const seen: string[] = [];
    let url: string | null = reader.first(walkCtx) as string;
    let pages = 0;
    while (url !== null && pages < 10) {
      const page = reader.parse(serve(kind, url), walkCtx);
      seen.push(...page.items.map((i) => i.externalId));
      url = page.next;
      pages++;
    }
    const expected = datasets
      .ids('discord', 'nelly', kind)
      .map((id) => discordApi.externalId(kind, datasets.record('discord', 'nelly', kind, id)!));
    return { seen, expected, pages };
  }

  it.each([
    [230, 3],
    [200, 3],
  ])('serves %i guilds once each after the last snowflake (%i pages of up to 100)', (count, pages) => {
    datasets.setCount('discord', 'nelly', 'guilds', count);
    const walked = walk('guilds');
    // A last page exactly full costs one more request, answered with [].
    expect(walked.pages).toBe(pages);
    expect(walked.seen).toEqual(walked.expected);
  });

  it('serves every connection in one answer', () => {
    datasets.setCount('discord', 'nelly', 'connections', 7);
    const walked = walk('connections');
    expect(walked.pages).toBe(1);
    expect(walked.seen).toEqual(walked.expected);
  });

  it('refuses a limit above 200 with Discord’s form error 50035', () => {
    const refused = serve('guilds', `${base}/users/@me/guilds?limit=201`);
    expect(refused.status).toBe(400);
    expect(refused.body).toMatchObject({ message: 'Invalid Form Body', code: 50035, errors: { limit: {} } });
  });
});
