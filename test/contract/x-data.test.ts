/**
 * X's reader against X's documented answers: the user Tweet timeline and followers lookups
 * (https://docs.x.com/x-api/posts/get-posts-by-user, https://docs.x.com/x-api/users/get-followers) with their
 * example bodies, `meta.next_token` taken back as `pagination_token` (https://docs.x.com/x-api/fundamentals/pagination),
 * the `x-rate-limit-*` headers and the 429 (https://docs.x.com/fundamentals/rate-limits), the 401 problem, and
 * the sandbox rendering the same fields.
 */
import { describe, expect, it } from 'vitest';
import { defaultClass, type ReaderContext } from '../../activities/providers/data/reader.js';
import { xReader } from '../../activities/providers/data/x.js';
import { providerCatalog } from '../../domain/provider-catalog.js';
import { renderContext } from '../../deploy/sandbox/apis/kit.js';
import { xApi } from '../../deploy/sandbox/apis/x.js';
import { SandboxDatasets } from '../../deploy/sandbox/datasets.js';
import { answer } from '../support/provider-contract.js';

const apis = providerCatalog.x.endpoints.dataApis!;
const ctx: ReaderContext = {
  apis,
  pageSize: 100,
  providerAccountId: '2244994945',
  getJson: () => Promise.resolve({}),
};

// The documented example of GET /2/users/:id/tweets with tweet.fields, trimmed to two posts.
const tweetsExample = {
  data: [
    {
      author_id: '2244994945',
      created_at: '2020-12-15T19:41:03.000Z',
      edit_history_tweet_ids: ['1338971066773905408'],
      id: '1338971066773905408',
      lang: 'en',
      public_metrics: { retweet_count: 12, reply_count: 3, like_count: 58, quote_count: 2 },
      text: '💡 Using Twitter data for academic research? Join our next livestream this Friday @ 9am PT!',
    },
    {
      author_id: '2244994945',
      created_at: '2020-12-15T16:33:27.000Z',
      edit_history_tweet_ids: ['1338923691497959425'],
      id: '1338923691497959425',
      lang: 'en',
      public_metrics: { retweet_count: 4, reply_count: 1, like_count: 20, quote_count: 0 },
      text: '📈 Live now with @jessicagarson and @i_am_daniele!',
    },
  ],
  meta: {
    oldest_id: '1338923691497959425',
    newest_id: '1338971066773905408',
    result_count: 2,
    next_token: '7140dibdnow9c7btw3w29grvxfcgvpb9n9coehpk7xz5i',
  },
};

// The documented example of GET /2/users/:id/followers with user.fields, trimmed to one user, the last page.
const followersExample = {
  data: [
    {
      created_at: '2013-12-14T04:35:55.000Z',
      description: 'The voice of the X Dev team and your official source for updates, news, and events.',
      id: '2244994945',
      name: 'Developers',
      public_metrics: { followers_count: 570000, following_count: 2000, tweet_count: 4000, listed_count: 1800 },
      url: 'https://t.co/3ZX3TNiZCY',
      username: 'XDevelopers',
      verified: true,
    },
  ],
  meta: { result_count: 1 },
};

function sandboxRendered(kind: string) {
  const datasets = new SandboxDatasets(() => providerCatalog.x.dataKinds);
  datasets.setCount('x', 'xdev', kind, 1);
  const record = datasets.record('x', 'xdev', kind, datasets.ids('x', 'xdev', kind)[0]!)!;
  return { rendered: xApi.render(kind, record, renderContext('x', 'xdev', record)), id: xApi.externalId(kind, record) };
}

describe('X reader against X’s documented answers', () => {
  it('asks for the provider account’s posts and followers, 100 and 1000 at most a page', async () => {
    const posts = new URL(await xReader.kinds.posts!.first(ctx));
    expect(`${posts.origin}${posts.pathname}`).toBe('https://api.x.com/2/users/2244994945/tweets');
    expect(posts.searchParams.get('max_results')).toBe('100');
    const followers = new URL(await xReader.kinds.followers!.first({ ...ctx, pageSize: 1000 }));
    expect(`${followers.origin}${followers.pathname}`).toBe('https://api.x.com/2/users/2244994945/followers');
    expect(followers.searchParams.get('max_results')).toBe('1000');
    expect([xReader.kinds.posts!.maxPageSize, xReader.kinds.followers!.maxPageSize]).toEqual([100, 1000]);
    // Posts take at least 5.
    expect(new URL(await xReader.kinds.posts!.first({ ...ctx, pageSize: 2 })).searchParams.get('max_results')).toBe(
      '5',
    );
  });

  it('reads posts by id and the next page by pagination_token', () => {
    const first = 'https://api.x.com/2/users/2244994945/tweets?max_results=100';
    const page = xReader.kinds.posts!.parse(answer(first, tweetsExample), ctx);
    expect(page.items.map((i) => i.externalId)).toEqual(['1338971066773905408', '1338923691497959425']);
    expect(page.items[0]!.data).toEqual(tweetsExample.data[0]);
    expect(page.next).toBe(`${first}&pagination_token=7140dibdnow9c7btw3w29grvxfcgvpb9n9coehpk7xz5i`);
  });

  it('ends the followers where meta has no next_token, and an empty page has no data', () => {
    const url = 'https://api.x.com/2/users/2244994945/followers?max_results=100';
    const page = xReader.kinds.followers!.parse(answer(url, followersExample), ctx);
    expect(page).toEqual({ items: [{ externalId: '2244994945', data: followersExample.data[0] }], next: null });
    expect(xReader.kinds.followers!.parse(answer(url, { meta: { result_count: 0 } }), ctx)).toEqual({
      items: [],
      next: null,
    });
  });

  it('reads x-rate-limit-* and waits a 429 out until its reset; a 401 is an unaccepted token', () => {
    const url = 'https://api.x.com/2/users/2244994945/tweets';
    expect(
      xReader.rateLimit(
        answer(url, tweetsExample, 200, {
          'x-rate-limit-limit': '900',
          'x-rate-limit-remaining': '847',
          'x-rate-limit-reset': '1705420800',
        }),
      ),
    ).toEqual({ remaining: 847, resetAtMs: 1_705_420_800_000 });
    const reset = Math.ceil(Date.now() / 1000) + 30;
    const limited = answer(
      url,
      { title: 'Too Many Requests', detail: 'Too Many Requests', type: 'about:blank', status: 429 },
      429,
      {
        'x-rate-limit-remaining': '0',
        'x-rate-limit-reset': String(reset),
      },
    );
    const wait = xReader.rateLimit(limited).retryAfterMs!;
    expect(wait).toBeGreaterThan(29_000);
    expect(wait).toBeLessThanOrEqual(31_000);
    expect(xReader.classify?.(limited) ?? defaultClass(429)).toBe('rate_limited');
    // https://docs.x.com/x-api/fundamentals/response-codes-and-errors
    const unauthorized = answer(
      url,
      { title: 'Unauthorized', type: 'about:blank', status: 401, detail: 'Unauthorized' },
      401,
    );
    expect(xReader.classify?.(unauthorized) ?? defaultClass(unauthorized.status)).toBe('unauthorized');
  });

  it('has the sandbox render every documented field of a post and a follower', () => {
    for (const [kind, example] of [
      ['posts', tweetsExample.data[0]!],
      ['followers', followersExample.data[0]!],
    ] as const) {
      const { rendered, id } = sandboxRendered(kind);
      expect(Object.keys(rendered)).toEqual(expect.arrayContaining(Object.keys(example)));
      expect(rendered.id).toBe(id);
      expect(id).toMatch(/^\d{19}$/);
    }
  });
});
