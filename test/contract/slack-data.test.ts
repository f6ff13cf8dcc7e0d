/**
 * Slack's Web API as the reader reads it and the sandbox plays it, against the examples of Slack's reference:
 * `users.conversations` paged by `response_metadata.next_cursor` (empty at the end), the `{ok: false, error}`
 * answers of a bad token and a rate limit, `Retry-After` on a 429, the Tier 3 pace, and the sandbox's channels
 * having every documented field.
 */
import { describe, expect, it } from 'vitest';
import type { ReaderContext } from '../../activities/providers/data/reader.js';
import { slackReader } from '../../activities/providers/data/slack.js';
import { generateRecord, kindSpecFor, seedOf } from '../../deploy/sandbox/data-kinds.js';
import { renderContext } from '../../deploy/sandbox/apis/kit.js';
import { slackApi } from '../../deploy/sandbox/apis/slack.js';
import { SandboxDatasets } from '../../deploy/sandbox/datasets.js';
import { providerCatalog } from '../../domain/provider-catalog.js';
import { answer } from '../support/provider-contract.js';

const ctx: ReaderContext = {
  apis: { web: 'https://slack.com/api' },
  pageSize: 100,
  providerAccountId: 'U012A3CDE',
  getJson: () => Promise.reject(new Error('not used')),
};

// https://docs.slack.dev/reference/methods/users.conversations (example response, trimmed to two channels)
const conversationsExample = {
  ok: true,
  channels: [
    {
      id: 'C012AB3CD',
      name: 'general',
      is_channel: true,
      is_group: false,
      is_im: false,
      created: 1449252889,
      creator: 'U012A3CDE',
      is_archived: false,
      is_general: true,
      unlinked: 0,
      name_normalized: 'general',
      is_shared: false,
      is_ext_shared: false,
      is_org_shared: false,
      pending_shared: [],
      is_pending_ext_shared: false,
      is_private: false,
      is_mpim: false,
      topic: { value: 'Company-wide announcements and work-based matters', creator: '', last_set: 0 },
      purpose: {
        value: 'This channel is for team-wide communication and announcements. All team members are in this channel.',
        creator: '',
        last_set: 0,
      },
      previous_names: [],
    },
    {
      id: 'C061EG9T2',
      name: 'random',
      is_channel: true,
      is_group: false,
      is_im: false,
      created: 1449252889,
      creator: 'U061F7AUR',
      is_archived: false,
      is_general: false,
      unlinked: 0,
      name_normalized: 'random',
      is_shared: false,
      is_ext_shared: false,
      is_org_shared: false,
      pending_shared: [],
      is_pending_ext_shared: false,
      is_private: false,
      is_mpim: false,
      topic: { value: 'Non-work banter and water cooler conversation', creator: '', last_set: 0 },
      purpose: { value: 'A place for non-work-related flimflam.', creator: '', last_set: 0 },
      previous_names: [],
    },
  ],
  response_metadata: { next_cursor: 'dGVhbTpDMDYxRkE1UEI=' },
};

const url = 'https://slack.com/api/users.conversations?types=public_channel%2Cprivate_channel&limit=100';

describe('Slack channels (GET users.conversations)', () => {
  const reader = slackReader.kinds.channels!;

  it('asks for public and private channels, at most 200 a page as Slack recommends', () => {
    expect(reader.maxPageSize).toBe(1000);
    expect(reader.first(ctx)).toBe(url);
    expect(reader.first({ ...ctx, pageSize: 1000 })).toContain('limit=200');
  });

  it('reads the channels by id and pages by next_cursor until it is empty', () => {
    const page = reader.parse(answer(url, conversationsExample), ctx);
    expect(page.items.map((i) => i.externalId)).toEqual(['C012AB3CD', 'C061EG9T2']);
    expect(page.items[0]!.data).toEqual(conversationsExample.channels[0]);
    expect(page.next).toBe(`${url}&cursor=dGVhbTpDMDYxRkE1UEI%3D`);
    expect(new URL(page.next!).searchParams.get('cursor')).toBe('dGVhbTpDMDYxRkE1UEI=');
    const last = reader.parse(answer(url, { ...conversationsExample, response_metadata: { next_cursor: '' } }), ctx);
    expect(last.next).toBeNull();
  });

  it('is played by the sandbox with every documented field and the id the reader reads', () => {
    const record = generateRecord(
      kindSpecFor('channels'),
      seedOf('slack/channels'),
      'channel-000003',
      'slack',
      'ana',
      3,
    );
    const item = slackApi.render('channels', record, renderContext('slack', 'ana', record));
    expect(Object.keys(item)).toEqual(expect.arrayContaining(Object.keys(conversationsExample.channels[0]!)));
    const page = reader.parse(answer(url, { ...conversationsExample, channels: [item] }), ctx);
    expect(page.items.map((i) => i.externalId)).toEqual([slackApi.externalId('channels', record)]);
  });
});

describe('Slack errors and rate limits', () => {
  const classify = (body: unknown, status = 200, headers: Record<string, string> = {}) =>
    slackReader.classify!(answer(url, body, status, headers));

  it('takes ok: false with a token error as an unaccepted token (https://docs.slack.dev/reference/methods/users.conversations#errors)', () => {
    for (const error of ['invalid_auth', 'token_revoked', 'not_authed', 'account_inactive', 'token_expired'])
      expect(classify({ ok: false, error })).toBe('unauthorized');
    expect(classify(slackApi.unauthorized().body)).toBe('unauthorized');
    expect(classify({ ok: false, error: 'invalid_cursor' })).toBe('rejected');
    expect(classify({ ok: false, error: 'internal_error' })).toBe('unavailable');
    expect(classify(conversationsExample)).toBe('ok');
  });

  it('takes HTTP 429 with Retry-After as a rate limit (https://docs.slack.dev/apis/web-api/rate-limits)', () => {
    const limited = answer(url, { ok: false, error: 'ratelimited' }, 429, { 'retry-after': '30' });
    expect(slackReader.classify!(limited)).toBe('rate_limited');
    expect(slackReader.rateLimit(limited)).toEqual({ retryAfterMs: 30_000 });
    expect(slackReader.rateLimit(answer(url, conversationsExample))).toEqual({});
    const window = { limit: 1, remaining: 0, used: 1, resetAtMs: Date.now() + 1000, windowSeconds: 2, exceeded: true };
    expect(slackApi.rateLimited(window, 3, 'quota')).toMatchObject({
      status: 429,
      body: { ok: false, error: 'ratelimited' },
      headers: { 'retry-after': '3' },
    });
    expect(slackApi.rateHeaders(window)).toEqual({});
  });

  it('paces requests to Tier 3, 50 a minute', () => {
    expect(slackReader.minIntervalMs).toBe(60_000 / 50);
  });
});

describe('the sandbox pages like Slack', () => {
  const base = 'http://sandbox.test/slack/api/web';
  const datasets = new SandboxDatasets((p) => (p === 'slack' ? providerCatalog.slack.dataKinds : undefined));
  const walkCtx: ReaderContext = { ...ctx, apis: { web: base } };

  function serve(url: string) {
    const served = slackApi.routes[0]!.serve({
      url: new URL(url),
      params: {},
      username: 'ana',
      kind: 'channels',
      base,
      datasets,
      render: (record) => slackApi.render('channels', record, renderContext('slack', 'ana', record)),
    });
    return answer(url, served.body, served.status);
  }

  it('serves every channel once, the reader following next_cursor to the empty one (250 at 100 a page)', () => {
    datasets.setCount('slack', 'ana', 'channels', 250);
    const reader = slackReader.kinds.channels!;
    const seen: string[] = [];
    let url: string | null = reader.first(walkCtx) as string;
    let pages = 0;
    while (url !== null && pages < 10) {
      const page = reader.parse(serve(url), walkCtx);
      seen.push(...page.items.map((i) => i.externalId));
      url = page.next;
      pages++;
    }
    expect(pages).toBe(3);
    const expected = datasets
      .ids('slack', 'ana', 'channels')
      .map((id) => slackApi.externalId('channels', datasets.record('slack', 'ana', 'channels', id)!));
    expect(seen).toEqual(expected);
  });

  it('answers bad arguments as Slack does, HTTP 200 with ok: false', () => {
    expect(serve(`${base}/users.conversations?limit=1001`)).toMatchObject({
      status: 200,
      body: { ok: false, error: 'invalid_limit' },
    });
    const refused = serve(`${base}/users.conversations?cursor=bm90LWEtY3Vyc29y`);
    expect(refused.body).toEqual({ ok: false, error: 'invalid_cursor' });
    expect(slackReader.classify!(refused)).toBe('rejected');
  });
});
