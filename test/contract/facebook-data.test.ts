/**
 * Facebook's reader against the Graph API's documented answers: cursor-paged edges
 * (https://developers.facebook.com/docs/graph-api/results/: `data`, `paging.cursors.{before,after}`,
 * `paging.next`), `/me/friends` (https://developers.facebook.com/docs/graph-api/reference/user/friends/) and
 * `/me/accounts` (https://developers.facebook.com/docs/graph-api/reference/user/accounts/), the error object
 * (https://developers.facebook.com/docs/graph-api/guides/error-handling/), `X-App-Usage`
 * (https://developers.facebook.com/docs/graph-api/overview/rate-limiting/), and the sandbox rendering the
 * same fields.
 */
import { describe, expect, it } from 'vitest';
import { facebookReader, nearLimitRecheckMs } from '../../activities/providers/data/facebook.js';
import type { ReaderContext } from '../../activities/providers/data/reader.js';
import { providerCatalog } from '../../domain/provider-catalog.js';
import { facebookApi } from '../../deploy/sandbox/apis/facebook.js';
import { renderContext } from '../../deploy/sandbox/apis/kit.js';
import { SandboxDatasets } from '../../deploy/sandbox/datasets.js';
import { answer } from '../support/provider-contract.js';

const apis = providerCatalog.facebook.endpoints.dataApis!;
const ctx: ReaderContext = {
  apis,
  pageSize: 100,
  providerAccountId: '10158000000000000',
  getJson: () => Promise.resolve({}),
};

// /me/friends as documented: friends who use the app, cursor paging, a summary with the total.
const friendsExample = {
  data: [
    { name: 'Jane Doe', id: '10152345678901234' },
    { name: 'Juan Pérez', id: '10152345678905678' },
  ],
  paging: {
    cursors: {
      before: 'QVFIUmx1WTBpMGpJWXprYzVYaVhabW55dVpyc2lBbXRv',
      after: 'QVFIUk9NemVVWFl4QnlMSFlvWkstUHZARMzBLRjZAY',
    },
    next: 'https://graph.facebook.com/v19.0/10158000000000000/friends?access_token=EAAB123&limit=2&after=QVFIUk9NemVVWFl4QnlMSFlvWkstUHZARMzBLRjZAY',
  },
  summary: { total_count: 312 },
};

// /me/accounts as documented (the page access token included, as when `fields` is absent), the last page.
const accountsExample = {
  data: [
    {
      access_token: 'EAACEdEose0cBA...',
      category: 'Brand',
      category_list: [{ id: '1605186416478696', name: 'Brand' }],
      name: 'Cafe Sample',
      id: '1234567890123456',
      tasks: ['ANALYZE', 'ADVERTISE', 'MODERATE', 'CREATE_CONTENT', 'MANAGE'],
    },
  ],
  paging: { cursors: { before: 'MTM1MzI2OTg2NDcyODg3OQZDZD', after: 'MTM1MzI2OTg2NDcyODg3OQZDZD' } },
};

function sandboxRendered(kind: string) {
  const datasets = new SandboxDatasets(() => providerCatalog.facebook.dataKinds);
  datasets.setCount('facebook', 'jane', kind, 1);
  const record = datasets.record('facebook', 'jane', kind, datasets.ids('facebook', 'jane', kind)[0]!)!;
  return {
    rendered: facebookApi.render(kind, record, renderContext('facebook', 'jane', record)),
    id: facebookApi.externalId(kind, record),
  };
}

const graphError = (code: number, type = 'OAuthException', subcode?: number) => ({
  error: {
    message: 'Message describing the error',
    type,
    code,
    ...(subcode !== undefined ? { error_subcode: subcode } : {}),
    error_user_title: 'A title',
    error_user_msg: 'A message',
    fbtrace_id: 'EJplcsCHuLu',
  },
});

describe('Facebook reader against the Graph API’s documented answers', () => {
  it('asks /me/friends and /me/accounts with fields and a limit of 100', async () => {
    const friends = new URL(await facebookReader.kinds.friends!.first(ctx));
    expect(`${friends.origin}${friends.pathname}`).toBe('https://graph.facebook.com/v19.0/me/friends');
    expect(friends.searchParams.get('limit')).toBe('100');
    const pages = new URL(await facebookReader.kinds.pages!.first(ctx));
    expect(`${pages.origin}${pages.pathname}`).toBe('https://graph.facebook.com/v19.0/me/accounts');
    // The fields named leave the page access token out.
    expect(pages.searchParams.get('fields')!.split(',')).not.toContain('access_token');
  });

  it('reads friends by id and follows paging.next without the access token it repeats', () => {
    const first = 'https://graph.facebook.com/v19.0/me/friends?fields=id,name&limit=2';
    const page = facebookReader.kinds.friends!.parse(answer(first, friendsExample), ctx);
    expect(page.items).toEqual([
      { externalId: '10152345678901234', data: friendsExample.data[0] },
      { externalId: '10152345678905678', data: friendsExample.data[1] },
    ]);
    const next = new URL(page.next!);
    expect(`${next.origin}${next.pathname}`).toBe('https://graph.facebook.com/v19.0/10158000000000000/friends');
    expect(Object.fromEntries(next.searchParams)).toEqual({
      limit: '2',
      after: 'QVFIUk9NemVVWFl4QnlMSFlvWkstUHZARMzBLRjZAY',
    });
  });

  it('reads Pages without their page access token, and ends where paging has no next', () => {
    const page = facebookReader.kinds.pages!.parse(
      answer('https://graph.facebook.com/v19.0/me/accounts?limit=100', accountsExample),
      ctx,
    );
    expect(page.next).toBeNull();
    expect(page.items.map((i) => i.externalId)).toEqual(['1234567890123456']);
    const { access_token: _token, ...documented } = accountsExample.data[0]!;
    expect(page.items[0]!.data).toEqual(documented);
  });

  it('classifies Graph errors by code: 190 a token, 4/17/32/613 a rate limit, 2 transient', () => {
    const url = 'https://graph.facebook.com/v19.0/me/friends';
    expect(facebookReader.classify!(answer(url, graphError(190, 'OAuthException', 460), 400))).toBe('unauthorized');
    expect(facebookReader.classify!(answer(url, graphError(190, 'OAuthException', 463), 401))).toBe('unauthorized');
    for (const code of [4, 17, 32, 613])
      for (const status of [400, 403])
        expect(facebookReader.classify!(answer(url, graphError(code), status)), `${code} ${status}`).toBe(
          'rate_limited',
        );
    expect(facebookReader.classify!(answer(url, graphError(2), 500))).toBe('unavailable');
    expect(facebookReader.classify!(answer(url, graphError(100, 'GraphMethodException'), 400))).toBe('rejected');
    expect(facebookReader.classify!(answer(url, friendsExample, 200))).toBe('ok');
  });

  it('maps X-App-Usage: nothing far from the limit, the points left near it, 0 at 100', () => {
    const url = 'https://graph.facebook.com/v19.0/me/friends';
    const usage = (u: Record<string, number>) => answer(url, friendsExample, 200, { 'x-app-usage': JSON.stringify(u) });
    expect(facebookReader.rateLimit(usage({ call_count: 28, total_time: 25, total_cputime: 25 }))).toEqual({});
    const before = Date.now();
    const near = facebookReader.rateLimit(usage({ call_count: 40, total_time: 95, total_cputime: 60 }));
    expect(near.remaining).toBe(5);
    expect(near.resetAtMs).toBeGreaterThanOrEqual(before + nearLimitRecheckMs);
    expect(facebookReader.rateLimit(usage({ call_count: 100, total_time: 20, total_cputime: 10 })).remaining).toBe(0);
    expect(facebookReader.rateLimit(answer(url, friendsExample, 200, { 'x-app-usage': 'not json' }))).toEqual({});
  });

  it('has the sandbox render every documented field of a friend and of a Page (its token aside)', () => {
    for (const [kind, example] of [
      ['friends', friendsExample.data[0]!],
      ['pages', accountsExample.data[0]!],
    ] as const) {
      const { rendered, id } = sandboxRendered(kind);
      const documented = Object.keys(example).filter((k) => k !== 'access_token');
      expect(Object.keys(rendered)).toEqual(expect.arrayContaining(documented));
      expect(rendered).not.toHaveProperty('access_token');
      expect(rendered.id).toBe(id);
    }
  });
});
