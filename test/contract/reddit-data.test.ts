/**
 * Reddit's reader against Reddit's documented answers: Listings of subreddits (t5) and links (t3) shaped as
 * the JSON documentation gives them (https://github.com/reddit-archive/reddit/wiki/JSON: Listing
 * `{kind, data: {before, after, modhash, children}}`, subreddit and link fields), paged by `after`
 * (https://www.reddit.com/dev/api/#listings), the `X-Ratelimit-*` headers
 * (https://github.com/reddit-archive/reddit/wiki/API#rules), and the sandbox rendering the same fields.
 */
import { describe, expect, it } from 'vitest';
import { providerCatalog } from '../../domain/provider-catalog.js';
import { redditReader } from '../../activities/providers/data/reddit.js';
import { defaultClass, type ReaderContext } from '../../activities/providers/data/reader.js';
import { redditApi } from '../../deploy/sandbox/apis/reddit.js';
import { renderContext } from '../../deploy/sandbox/apis/kit.js';
import { SandboxDatasets } from '../../deploy/sandbox/datasets.js';
import { answer } from '../support/provider-contract.js';

const apis = providerCatalog.reddit.endpoints.dataApis!;
const ctx = (getJson: ReaderContext['getJson'] = () => Promise.resolve({})): ReaderContext => ({
  apis,
  pageSize: 100,
  providerAccountId: 'abc123',
  getJson,
});

// A subscribed subreddit as /subreddits/mine/subscriber lists it (fields of the wiki's "subreddit" table).
const subredditExample = {
  kind: 'Listing',
  data: {
    after: 't5_2qh1i',
    dist: 1,
    modhash: null,
    geo_filter: '',
    children: [
      {
        kind: 't5',
        data: {
          display_name: 'AskReddit',
          display_name_prefixed: 'r/AskReddit',
          title: 'Ask Reddit...',
          public_description: 'r/AskReddit is the place to ask and answer thought-provoking questions.',
          subscribers: 45000000,
          over18: false,
          url: '/r/AskReddit/',
          id: '2qh1i',
          name: 't5_2qh1i',
          subreddit_type: 'public',
          user_is_subscriber: true,
          created: 1201233135,
          created_utc: 1201233135,
        },
      },
    ],
    before: null,
  },
};

// A submitted link as /user/{username}/submitted lists it (fields of the wiki's "link" table), the last page.
const linkExample = {
  kind: 'Listing',
  data: {
    after: null,
    dist: 1,
    modhash: null,
    geo_filter: '',
    children: [
      {
        kind: 't3',
        data: {
          id: '1abcde',
          name: 't3_1abcde',
          title: 'What I learned syncing my data',
          selftext: 'A few notes.',
          author: 'spez',
          subreddit: 'programming',
          subreddit_name_prefixed: 'r/programming',
          score: 42,
          ups: 42,
          num_comments: 7,
          permalink: '/r/programming/comments/1abcde/what_i_learned/',
          url: 'https://www.reddit.com/r/programming/comments/1abcde/what_i_learned/',
          is_self: true,
          over_18: false,
          edited: false,
          created: 1704067200,
          created_utc: 1704067200,
        },
      },
    ],
    before: null,
  },
};

const topLevelKeys = (listing: typeof subredditExample | typeof linkExample) =>
  Object.keys(listing.data.children[0]!.data).sort();

function sandboxRendered(kind: string): Record<string, unknown> {
  const datasets = new SandboxDatasets(() => providerCatalog.reddit.dataKinds);
  datasets.setCount('reddit', 'spez', kind, 2);
  const record = datasets.record('reddit', 'spez', kind, datasets.ids('reddit', 'spez', kind)[0]!)!;
  return redditApi.render(kind, record, renderContext('reddit', 'spez', record));
}

describe('Reddit reader against Reddit’s documented answers', () => {
  it('asks for 100 subreddits a page with a descriptive User-Agent', async () => {
    const url = new URL(await redditReader.kinds.subscriptions!.first(ctx()));
    expect(`${url.origin}${url.pathname}`).toBe('https://oauth.reddit.com/subreddits/mine/subscriber');
    expect(url.searchParams.get('limit')).toBe('100');
    expect(redditReader.kinds.subscriptions!.maxPageSize).toBe(100);
    expect(redditReader.headers?.['user-agent']).toMatch(/^web:[^:]+:v[\d.]+ \(by \/u\/[\w-]+\)$/);
  });

  it('reads a subreddit Listing: the fullname as id, the next page by after', () => {
    const first = 'https://oauth.reddit.com/subreddits/mine/subscriber?limit=100&raw_json=1';
    const page = redditReader.kinds.subscriptions!.parse(answer(first, subredditExample), ctx());
    expect(page.items.map((i) => i.externalId)).toEqual(['t5_2qh1i']);
    expect(page.items[0]!.data).toEqual(subredditExample.data.children[0]!.data);
    const next = new URL(page.next!);
    expect(`${next.origin}${next.pathname}`).toBe('https://oauth.reddit.com/subreddits/mine/subscriber');
    expect(Object.fromEntries(next.searchParams)).toEqual({ limit: '100', raw_json: '1', after: 't5_2qh1i' });
  });

  it('learns the username from /api/v1/me for the submitted posts, and ends where after is null', async () => {
    const asked: string[] = [];
    const first = await redditReader.kinds.posts!.first(
      ctx((url) => {
        asked.push(url);
        // https://www.reddit.com/dev/api/#GET_api_v1_me
        return Promise.resolve({ name: 'spez', id: '1w72', created_utc: 1118030400, link_karma: 1, comment_karma: 0 });
      }),
    );
    expect(asked).toEqual(['https://oauth.reddit.com/api/v1/me']);
    expect(first).toBe('https://oauth.reddit.com/user/spez/submitted?limit=100&raw_json=1');
    const page = redditReader.kinds.posts!.parse(answer(first, linkExample), ctx());
    expect(page.items.map((i) => i.externalId)).toEqual(['t3_1abcde']);
    expect(page.next).toBeNull();
  });

  it('reads the X-Ratelimit-* headers: remaining a float, reset in seconds from now', () => {
    const before = Date.now();
    const signal = redditReader.rateLimit(
      answer('https://oauth.reddit.com/api/v1/me', {}, 200, {
        'x-ratelimit-used': '4',
        'x-ratelimit-remaining': '596.0',
        'x-ratelimit-reset': '341',
      }),
    );
    expect(signal.remaining).toBe(596);
    expect(signal.resetAtMs).toBeGreaterThanOrEqual(before + 341_000);
    expect(signal.resetAtMs).toBeLessThanOrEqual(Date.now() + 341_000);
    // A 429 waits for the reset.
    const limited = redditReader.rateLimit(
      answer('https://oauth.reddit.com/api/v1/me', { message: 'Too Many Requests', error: 429 }, 429, {
        'x-ratelimit-remaining': '0.0',
        'x-ratelimit-reset': '12',
      }),
    );
    expect(limited).toEqual({ retryAfterMs: 12_000 });
  });

  it('takes Reddit’s 401 as an unaccepted token and its 5xx as unavailable (no classify of its own)', () => {
    const url = 'https://oauth.reddit.com/subreddits/mine/subscriber';
    expect(redditReader.classify).toBeUndefined();
    for (const [status, body, verdict] of [
      [401, { message: 'Unauthorized', error: 401 }, 'unauthorized'],
      [429, { message: 'Too Many Requests', error: 429 }, 'rate_limited'],
      [503, { message: 'Service Unavailable', error: 503 }, 'unavailable'],
    ] as const)
      expect(defaultClass(answer(url, body, status).status)).toBe(verdict);
    // The sandbox answers its refusals in the same shape.
    expect(redditApi.unauthorized()).toEqual({ status: 401, body: { message: 'Unauthorized', error: 401 } });
  });

  it('has the sandbox render every documented field of a subreddit and a link', () => {
    for (const [kind, example] of [
      ['subscriptions', subredditExample],
      ['posts', linkExample],
    ] as const) {
      const rendered = sandboxRendered(kind);
      expect(Object.keys(rendered)).toEqual(expect.arrayContaining(topLevelKeys(example)));
      // The id the reader extracts is the one the sandbox says the record has.
      const datasets = new SandboxDatasets(() => providerCatalog.reddit.dataKinds);
      datasets.setCount('reddit', 'spez', kind, 1);
      const record = datasets.record('reddit', 'spez', kind, datasets.ids('reddit', 'spez', kind)[0]!)!;
      expect(rendered.name).toBe(redditApi.externalId(kind, record));
    }
  });
});
