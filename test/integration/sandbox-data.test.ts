/**
 * The sandbox provider's data API seen from a sync: access tokens from the real code flow (PKCE S256,
 * consent page filled in by the driver), pages followed by cursor to the end, records changed and removed
 * between requests, and the faults a sync must survive (429 with Retry-After, 5xx, slow answers).
 */
import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { completeConsent } from '../../deploy/sandbox/driver.js';
import {
  startSandboxProvider,
  type SandboxClient,
  type SandboxProvider,
  type SandboxRecord,
} from '../../deploy/sandbox/sandbox-provider.js';

const providers = ['github', 'google', 'spotify', 'apple'] as const;
type ProviderName = (typeof providers)[number];

const scopes: Record<ProviderName, string> = {
  github: 'read:user repo',
  google: 'openid email https://www.googleapis.com/auth/contacts.readonly',
  spotify: 'user-read-email playlist-read-private',
  apple: 'openid email',
};
const redirectUri = (provider: ProviderName) => `http://localhost:3000/v1/oauth/${provider}/callback`;
const clients = Object.fromEntries(
  providers.map((provider) => [
    provider,
    {
      clientId: `cra-${provider}`,
      clientSecret: `${provider}-${randomBytes(8).toString('hex')}`,
      redirectUris: [redirectUri(provider)],
    },
  ]),
) as Record<ProviderName, SandboxClient>;
const adminToken = randomBytes(16).toString('hex');

interface DataPage {
  kind: string;
  items: SandboxRecord[];
  nextCursor: string | null;
}

let sandbox: SandboxProvider;
/** Short-lived access tokens and no admin token: for expiry and for admin routes that must not exist. */
let plain: SandboxProvider;

beforeAll(async () => {
  const log = (line: string) => process.stderr.write(`[sandbox] ${line}\n`);
  [sandbox, plain] = await Promise.all([
    startSandboxProvider({ port: 0, providers, clients, adminToken, log }),
    startSandboxProvider({
      port: 0,
      providers: ['github'],
      clients: { github: clients.github },
      accessTokenTtlSeconds: 2,
      log,
    }),
  ]);
});
afterAll(async () => {
  await Promise.all([sandbox?.close(), plain?.close()]);
});
beforeEach(() => {
  sandbox.faults.clear();
});

/** An access token the way CRA gets one: authorization request with PKCE S256, consent, code exchange. */
async function accessToken(provider: ProviderName, username: string, server = sandbox): Promise<string> {
  const endpoints = server.endpoints(provider);
  const verifier = randomBytes(32).toString('base64url');
  const authorize = new URL(endpoints.authorize);
  for (const [key, value] of Object.entries({
    response_type: 'code',
    client_id: clients[provider].clientId,
    redirect_uri: redirectUri(provider),
    scope: scopes[provider],
    state: randomBytes(16).toString('base64url'),
    ...(scopes[provider].split(' ').includes('openid') ? { nonce: randomBytes(16).toString('base64url') } : {}),
    code_challenge: createHash('sha256').update(verifier).digest('base64url'),
    code_challenge_method: 'S256',
  }))
    authorize.searchParams.set(key, value);
  const callback = await completeConsent(authorize.href, { username });
  const code = callback.searchParams.get('code');
  expect(code, callback.search).toBeTruthy();
  const res = await fetch(endpoints.token, {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from(`${clients[provider].clientId}:${clients[provider].clientSecret}`).toString('base64')}`,
    },
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      code: code!,
      redirect_uri: redirectUri(provider),
      code_verifier: verifier,
    }),
  });
  expect(res.status).toBe(200);
  return ((await res.json()) as { access_token: string }).access_token;
}

async function request(
  provider: string,
  kind: string,
  token: string | undefined,
  query: { cursor?: string | null; limit?: number | string } = {},
  server = sandbox,
) {
  const url = new URL(`${server.url}/${provider}/data/${kind}`);
  if (query.cursor) url.searchParams.set('cursor', query.cursor);
  if (query.limit !== undefined) url.searchParams.set('limit', String(query.limit));
  const res = await fetch(url, { headers: token === undefined ? {} : { authorization: `Bearer ${token}` } });
  return { status: res.status, headers: res.headers, body: (await res.json()) as DataPage & { error?: string } };
}

async function page(
  provider: ProviderName,
  kind: string,
  token: string,
  query: { cursor?: string | null; limit?: number } = {},
): Promise<DataPage> {
  const res = await request(provider, kind, token, query);
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body;
}

/** What a sync does: follow nextCursor to the end, from the start or from a checkpoint. */
async function pageThrough(
  provider: ProviderName,
  kind: string,
  token: string,
  limit: number,
  cursor: string | null = null,
) {
  const items: SandboxRecord[] = [];
  let requests = 0;
  do {
    const body = await page(provider, kind, token, { cursor, limit });
    requests++;
    expect(body.kind).toBe(kind);
    expect(body.items.length).toBeLessThanOrEqual(limit);
    items.push(...body.items);
    cursor = body.nextCursor;
  } while (cursor !== null);
  return { items, ids: items.map((item) => item.id), requests };
}

const admin = (path: string, init: RequestInit & { token?: string | null } = {}, server = sandbox) => {
  const { token = adminToken, ...rest } = init;
  return fetch(`${server.url}/_admin${path}`, {
    ...rest,
    headers: {
      ...(token === null ? {} : { authorization: `Bearer ${token}` }),
      ...(rest.body ? { 'content-type': 'application/json' } : {}),
    },
  });
};
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const isStrictlyAscending = (ids: string[]) => ids.every((id, i) => i === 0 || ids[i - 1]! < id);

describe('sandbox provider data API', () => {
  it("pages through a dataset to the end: every record exactly once, in id order, with its kind's fields", async () => {
    const token = await accessToken('github', 'ada');
    const expected = sandbox.data.ids('github', 'ada', 'repositories');
    expect(expected.length).toBeGreaterThanOrEqual(30);
    expect(expected.length).toBeLessThanOrEqual(60);
    expect(expected[0]).toBe('repo-000001');

    const { items, ids, requests } = await pageThrough('github', 'repositories', token, 7);
    expect(ids).toEqual(expected);
    expect(isStrictlyAscending(ids)).toBe(true);
    expect(requests).toBe(Math.ceil(expected.length / 7));
    for (const item of items) {
      expect(new Date(item.updatedAt).toISOString()).toBe(item.updatedAt);
      expect(item).toMatchObject({
        name: expect.any(String),
        fullName: `ada/${item.name as string}`,
        language: expect.any(String),
        stargazersCount: expect.any(Number),
        private: expect.any(Boolean),
      });
    }
    // Without a limit, a page is 100 records: the whole default dataset, and nothing follows.
    const whole = await page('github', 'repositories', token);
    expect(whole.items).toEqual(items);
    expect(whole.nextCursor).toBeNull();

    // The same user's data is the same on every read; another user's is their own.
    const bob = await page('github', 'repositories', await accessToken('github', 'bob'));
    expect(bob.items.map((item) => item.fullName)).toEqual(bob.items.map((item) => `bob/${item.name as string}`));

    const organizations = await page('github', 'organizations', token, { limit: 1 });
    expect(organizations.items[0]).toMatchObject({
      id: 'org-000001',
      login: expect.any(String),
      role: expect.stringMatching(/^(admin|member)$/),
    });
    const contacts = await page('google', 'contacts', await accessToken('google', 'ada'), { limit: 2 });
    expect(contacts.items[0]).toMatchObject({
      id: 'contact-000001',
      displayName: expect.any(String),
      emails: [expect.objectContaining({ value: expect.stringContaining('@') })],
    });
    const playlists = await page('spotify', 'playlists', await accessToken('spotify', 'ada'), { limit: 2 });
    expect(playlists.items[0]).toMatchObject({
      id: 'playlist-000001',
      name: expect.any(String),
      tracksCount: expect.any(Number),
      owner: 'ada',
    });
  });

  it("serves the kinds in CRA's catalog only, and refuses a bad limit or cursor", async () => {
    const token = await accessToken('github', 'ada');
    expect(sandbox.data.kinds('github')).toEqual(['repositories', 'organizations', 'starred']);
    expect(sandbox.data.kinds('apple')).toEqual([]);
    const unknown = await request('github', 'contacts', token);
    expect(unknown.status).toBe(404);
    expect(unknown.body.error).toBe('unknown_kind');
    const apple = await request('apple', 'contacts', await accessToken('apple', 'ada'));
    expect(apple.status).toBe(404);
    expect((await request('nowhere', 'repositories', token)).status).toBe(404);

    for (const limit of [0, 1001, 'ten', -1, 2.5]) {
      const res = await request('github', 'repositories', token, { limit });
      expect(res.status, `limit=${limit}`).toBe(400);
      expect(res.body.error).toBe('invalid_request');
    }
    expect((await request('github', 'repositories', token, { limit: 1000 })).status).toBe(200);
    const starredCursor = (await page('github', 'starred', token, { limit: 1 })).nextCursor;
    for (const cursor of ['not a cursor', Buffer.from('repo-1').toString('base64url'), starredCursor!]) {
      const res = await request('github', 'repositories', token, { cursor });
      expect(res.status, `cursor=${cursor}`).toBe(400);
      expect(res.body.error).toBe('invalid_cursor');
    }
  });

  it("refuses a request without a token, with a forged or revoked one, and with another provider's token", async () => {
    const unauthorizedBefore = sandbox.stats().unauthorized.github ?? 0;
    const github = await accessToken('github', 'dana');
    const google = await accessToken('google', 'dana');
    const elsewhere = await accessToken('github', 'dana', plain);
    expect((await request('github', 'repositories', github)).status).toBe(200);

    for (const token of [undefined, '', 'not-a-token', `${github}x`, google, elsewhere]) {
      const res = await request('github', 'repositories', token);
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toBe('Bearer error="invalid_token"');
      expect(res.body).toEqual({ error: 'invalid_token' });
    }
    // The token sent as Basic, or in the query, is not a bearer token.
    const basic = await fetch(`${sandbox.url}/github/data/repositories`, {
      headers: { authorization: `Basic ${github}` },
    });
    expect(basic.status).toBe(401);
    expect((await fetch(`${sandbox.url}/github/data/repositories?access_token=${github}`)).status).toBe(401);

    // Revoking the user's grants at the provider ends their tokens' access to the data.
    expect(await sandbox.revokeAllFor('github', 'dana')).toBe(1);
    expect((await request('github', 'repositories', github)).status).toBe(401);
    expect((await request('google', 'contacts', google)).status).toBe(200);
    expect(sandbox.stats().unauthorized.github).toBe(unauthorizedBefore + 9);
  });

  it('a sync resuming from its checkpoint sees neither duplicates nor gaps while records change, go and arrive', async () => {
    const token = await accessToken('github', 'carol');
    sandbox.data.setCount('github', 'carol', 'repositories', 50);
    const first = await page('github', 'repositories', token, { limit: 10 });
    expect(first.items.map((item) => item.id)).toEqual(
      Array.from({ length: 10 }, (_, i) => `repo-${String(i + 1).padStart(6, '0')}`),
    );
    const before = new Map(
      sandbox.data
        .ids('github', 'carol', 'repositories')
        .map((id) => [id, sandbox.data.record('github', 'carol', 'repositories', id)!]),
    );

    // Between two pages: changes and removals on both sides of the checkpoint, and new records at the end.
    sandbox.data.change('github', 'carol', 'repositories', 'repo-000003');
    sandbox.data.remove('github', 'carol', 'repositories', 'repo-000005');
    const changedAhead = sandbox.data.change('github', 'carol', 'repositories', 'repo-000025');
    sandbox.data.remove('github', 'carol', 'repositories', 'repo-000030');
    sandbox.data.setCount('github', 'carol', 'repositories', 55);

    const rest = await pageThrough('github', 'repositories', token, 10, first.nextCursor);
    const expectedRest = [...Array.from({ length: 45 }, (_, i) => `repo-${String(i + 11).padStart(6, '0')}`)].filter(
      (id) => id !== 'repo-000030',
    );
    expect(rest.ids).toEqual(expectedRest);
    expect(new Set([...first.items.map((item) => item.id), ...rest.ids]).size).toBe(10 + expectedRest.length);

    const served = rest.items.find((item) => item.id === 'repo-000025')!;
    expect(served).toEqual(changedAhead);
    expect(served.updatedAt > before.get('repo-000025')!.updatedAt).toBe(true);
    expect(served.description).not.toBe(before.get('repo-000025')!.description);

    // The next full sync sees the change behind the checkpoint and misses the removed records.
    const full = await pageThrough('github', 'repositories', token, 20);
    expect(full.ids).toEqual(sandbox.data.ids('github', 'carol', 'repositories'));
    expect(full.ids).not.toContain('repo-000005');
    expect(full.ids).not.toContain('repo-000030');
    expect(full.ids).toHaveLength(53);
    const third = full.items.find((item) => item.id === 'repo-000003')!;
    expect(third.updatedAt > before.get('repo-000003')!.updatedAt).toBe(true);
    // Unchanged records are served exactly as before: a content hash of them does not move.
    expect(full.items.find((item) => item.id === 'repo-000004')).toEqual(before.get('repo-000004'));
  });

  it('a changed record shows a new updatedAt and its new fields; a removed one disappears (in code and over HTTP)', async () => {
    const token = await accessToken('spotify', 'erin');
    const original = sandbox.data.record('spotify', 'erin', 'playlists', 'playlist-000002')!;

    const changed = sandbox.data.change('spotify', 'erin', 'playlists', 'playlist-000002', {
      name: 'Renamed',
      tracksCount: 3,
    });
    expect(changed).toEqual({ ...original, name: 'Renamed', tracksCount: 3, updatedAt: changed.updatedAt });
    expect(Date.parse(changed.updatedAt)).toBeGreaterThan(Date.parse(original.updatedAt));
    let served = (await page('spotify', 'playlists', token, { limit: 3 })).items[1]!;
    expect(served).toEqual(changed);

    const patched = await admin('/spotify/users/erin/data/playlists/playlist-000002', {
      method: 'PATCH',
      body: JSON.stringify({ public: false }),
    });
    expect(patched.status).toBe(200);
    const patchedRecord = (await patched.json()) as SandboxRecord;
    expect(patchedRecord).toMatchObject({ id: 'playlist-000002', name: 'Renamed', public: false });
    expect(patchedRecord.updatedAt > changed.updatedAt).toBe(true);
    // With no fields, a change still edits one (here the name), so a content hash sees it.
    const edited = await admin('/spotify/users/erin/data/playlists/playlist-000002', { method: 'PATCH' });
    expect(edited.status).toBe(200);
    expect(((await edited.json()) as SandboxRecord).name).toBe('Renamed (edited 3)');
    served = (await page('spotify', 'playlists', token, { limit: 3 })).items[1]!;
    expect(served.name).toBe('Renamed (edited 3)');
    expect(
      (
        await admin('/spotify/users/erin/data/playlists/playlist-000002', {
          method: 'PATCH',
          body: JSON.stringify({ id: 'x' }),
        })
      ).status,
    ).toBe(400);

    sandbox.data.remove('spotify', 'erin', 'playlists', 'playlist-000001');
    const removed = await admin('/spotify/users/erin/data/playlists/playlist-000003', { method: 'DELETE' });
    expect(removed.status).toBe(204);
    const all = await pageThrough('spotify', 'playlists', token, 100);
    expect(all.ids[0]).toBe('playlist-000002');
    expect(all.ids).not.toContain('playlist-000001');
    expect(all.ids).not.toContain('playlist-000003');
    expect(sandbox.data.record('spotify', 'erin', 'playlists', 'playlist-000003')).toBeUndefined();
    const listed = await admin('/spotify/users/erin/data/playlists');
    expect(await listed.json()).toMatchObject({
      provider: 'spotify',
      username: 'erin',
      kind: 'playlists',
      count: all.ids.length,
      ids: all.ids,
    });

    expect((await admin('/spotify/users/erin/data/playlists/playlist-000003', { method: 'DELETE' })).status).toBe(404);
    expect(() => sandbox.data.remove('spotify', 'erin', 'playlists', 'playlist-000003')).toThrow(/no record/);
    expect(() => sandbox.data.change('spotify', 'erin', 'playlists', 'playlist-999999')).toThrow(/no record/);
    expect(() => sandbox.data.ids('spotify', 'erin', 'repositories')).toThrow(/no data of kind/);
  });

  it('answers 429 with Retry-After for the next n requests, then serves again', async () => {
    const token = await accessToken('github', 'frank');
    const before = sandbox.stats();
    sandbox.faults.inject('github', { status: 429, times: 2, retryAfterSeconds: 3 });
    for (let i = 0; i < 2; i++) {
      const res = await request('github', 'repositories', token);
      expect(res.status).toBe(429);
      expect(res.headers.get('retry-after')).toBe('3');
      expect(res.body.error).toBe('rate_limited');
    }
    expect((await request('github', 'repositories', token)).status).toBe(200);

    // Faults for one kind leave the others alone; a 429 without retryAfterSeconds says 1.
    sandbox.faults.inject('github', { status: 429, times: 1, kind: 'starred' });
    expect((await request('github', 'repositories', token)).status).toBe(200);
    const limited = await request('github', 'starred', token);
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('1');
    expect((await request('github', 'starred', token)).status).toBe(200);

    const after = sandbox.stats();
    expect(after.faultsFired.github?.['429']).toBe((before.faultsFired.github?.['429'] ?? 0) + 3);
    expect(after.requests.github?.repositories).toBe((before.requests.github?.repositories ?? 0) + 4);
    expect(after.served.github?.repositories).toBe((before.served.github?.repositories ?? 0) + 2);
  });

  it('answers 500 (or 503) for the next n requests, then serves again; faults can be injected and cleared over HTTP', async () => {
    const token = await accessToken('google', 'gina');
    sandbox.faults.inject('google', { status: 500, times: 2 });
    expect((await request('google', 'contacts', token)).status).toBe(500);
    expect((await request('google', 'drive_files', token)).status).toBe(500);
    const recovered = await request('google', 'contacts', token);
    expect(recovered.status).toBe(200);
    expect(recovered.body.items.length).toBeGreaterThan(0);

    const injected = await admin('/google/faults', {
      method: 'POST',
      body: JSON.stringify({ status: 503, times: 1, retryAfterSeconds: 2, kind: 'calendar_events' }),
    });
    expect(injected.status).toBe(204);
    const unavailable = await request('google', 'calendar_events', token);
    expect(unavailable.status).toBe(503);
    expect(unavailable.headers.get('retry-after')).toBe('2');
    expect((await request('google', 'calendar_events', token)).status).toBe(200);

    expect(
      (await admin('/google/faults', { method: 'POST', body: JSON.stringify({ status: 500, times: 5 }) })).status,
    ).toBe(204);
    expect((await admin('/faults', { method: 'DELETE' })).status).toBe(204);
    expect((await request('google', 'contacts', token)).status).toBe(200);

    for (const fault of [
      { status: 404 },
      { times: 2 },
      { status: 500, kind: 'repositories' },
      { status: 500, retryAfterSeconds: 1 },
      { status: 429, times: 0 },
      { status: 429, colour: 'red' },
    ]) {
      const res = await admin('/google/faults', { method: 'POST', body: JSON.stringify(fault) });
      expect(res.status, JSON.stringify(fault)).toBe(400);
    }
    expect((await admin('/google/faults', { method: 'POST', body: '{not json' })).status).toBe(400);
    expect((await admin('/nowhere/faults', { method: 'POST', body: JSON.stringify({ status: 500 }) })).status).toBe(
      404,
    );
    expect(() => sandbox.faults.inject('google', { status: 418 as never })).toThrow(/status/);
  });

  it('slows the next n responses by delayMs, and still serves the page', async () => {
    const token = await accessToken('github', 'hal');
    const delayMs = 400;
    const expected = (await page('github', 'repositories', token, { limit: 5 })).items;
    sandbox.faults.inject('github', { delayMs, times: 2 });
    for (let i = 0; i < 2; i++) {
      const started = performance.now();
      const res = await request('github', 'repositories', token, { limit: 5 });
      // Node's timers may fire up to a millisecond early by performance.now().
      expect(performance.now() - started).toBeGreaterThanOrEqual(delayMs - 1);
      expect(res.status).toBe(200);
      expect(res.body.items).toEqual(expected);
    }
    const started = performance.now();
    expect((await request('github', 'repositories', token, { limit: 5 })).status).toBe(200);
    expect(performance.now() - started).toBeLessThan(delayMs);
    expect(sandbox.stats().faultsFired.github?.slow).toBeGreaterThanOrEqual(2);

    // A status and a delay together: slow, then the error.
    sandbox.faults.inject('github', { status: 500, delayMs: 200, times: 1 });
    const slowStart = performance.now();
    expect((await request('github', 'repositories', token)).status).toBe(500);
    expect(performance.now() - slowStart).toBeGreaterThanOrEqual(199);
  });

  it('pages through 100 000 records with limit=1000 in 100 requests, without materialising them', async () => {
    const token = await accessToken('github', 'big');
    const rssBefore = process.memoryUsage().rss;
    sandbox.data.setCount('github', 'big', 'repositories', 100_000);
    const servedBefore = sandbox.stats().served.github?.repositories ?? 0;

    let cursor: string | null = null;
    let requests = 0;
    let count = 0;
    let previous = '';
    let first = '';
    // Ascending ids: nothing repeated; with the count and the last id: nothing missed.
    let ascending = true;
    do {
      const body: DataPage = await page('github', 'repositories', token, { cursor, limit: 1000 });
      requests++;
      for (const item of body.items) {
        ascending &&= item.id > previous;
        previous = item.id;
        count++;
      }
      first ||= body.items[0]?.id ?? '';
      cursor = body.nextCursor;
    } while (cursor !== null);
    const rssGrowthMb = (process.memoryUsage().rss - rssBefore) / 2 ** 20;

    expect(requests).toBe(100);
    expect(ascending).toBe(true);
    expect(count).toBe(100_000);
    expect(first).toBe('repo-000001');
    expect(previous).toBe('repo-100000');
    expect(sandbox.stats().served.github?.repositories).toBe(servedBefore + 100);
    expect(sandbox.data.count('github', 'big', 'repositories')).toBe(100_000);
    expect(rssGrowthMb, `RSS grew by ${rssGrowthMb.toFixed(1)} MB`).toBeLessThan(100);
  });
});

describe('sandbox data admin routes', () => {
  const routes: Array<[string, string, unknown?]> = [
    ['GET', '/github/users/ada/data/repositories'],
    ['PUT', '/github/users/ada/data/repositories', { count: 5 }],
    ['PATCH', '/github/users/ada/data/repositories/repo-000001', { description: 'x' }],
    ['DELETE', '/github/users/ada/data/repositories/repo-000001'],
    ['POST', '/github/faults', { status: 500 }],
    ['DELETE', '/faults'],
    ['GET', '/stats'],
  ];

  it('refuse a request without the admin token or with a wrong one, and change nothing', async () => {
    const ids = sandbox.data.ids('github', 'ada', 'repositories');
    for (const [method, path, body] of routes) {
      for (const token of [null, 'wrong', `${adminToken}x`]) {
        const res = await admin(path, { method, token, ...(body ? { body: JSON.stringify(body) } : {}) });
        expect(res.status, `${method} ${path} with ${token ?? 'no token'}`).toBe(401);
        expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
      }
    }
    expect(sandbox.data.ids('github', 'ada', 'repositories')).toEqual(ids);
    const token = await accessToken('github', 'ada');
    expect((await request('github', 'repositories', token)).status).toBe(200);
  });

  it('do not exist when no admin token is configured', async () => {
    for (const [method, path, body] of routes) {
      const res = await admin(path, { method, ...(body ? { body: JSON.stringify(body) } : {}) }, plain);
      expect(res.status, `${method} ${path}`).toBe(404);
    }
  });

  it("set a dataset's record count, which the data API then serves", async () => {
    const token = await accessToken('spotify', 'ivan');
    const res = await admin('/spotify/users/ivan/data/saved_tracks', {
      method: 'PUT',
      body: JSON.stringify({ count: 1234 }),
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ provider: 'spotify', username: 'ivan', kind: 'saved_tracks', count: 1234 });
    const all = await pageThrough('spotify', 'saved_tracks', token, 500);
    expect(all.requests).toBe(3);
    expect(all.ids).toHaveLength(1234);
    expect(all.ids.at(-1)).toBe('track-001234');
    expect(all.items[0]).toMatchObject({
      name: expect.any(String),
      artists: [expect.any(String)],
      durationMs: expect.any(Number),
      addedAt: expect.any(String),
    });

    expect(
      (await admin('/spotify/users/ivan/data/saved_tracks', { method: 'PUT', body: JSON.stringify({ count: 0 }) }))
        .status,
    ).toBe(200);
    expect(await page('spotify', 'saved_tracks', token)).toEqual({ kind: 'saved_tracks', items: [], nextCursor: null });
    for (const body of [{ count: -1 }, { count: 1_000_000 }, { count: 'many' }, {}]) {
      expect(
        (await admin('/spotify/users/ivan/data/saved_tracks', { method: 'PUT', body: JSON.stringify(body) })).status,
        JSON.stringify(body),
      ).toBe(400);
    }
    expect(
      (await admin('/spotify/users/ivan/data/repositories', { method: 'PUT', body: JSON.stringify({ count: 1 }) }))
        .status,
    ).toBe(404);

    const stats = await admin('/stats');
    expect(stats.status).toBe(200);
    expect(await stats.json()).toEqual(sandbox.stats());
  });
});

describe('sandbox data API with short-lived access tokens', () => {
  it('refuses an expired access token', async () => {
    const token = await accessToken('github', 'ada', plain);
    expect((await request('github', 'repositories', token, {}, plain)).status).toBe(200);
    await sleep(2_100);
    const expired = await request('github', 'repositories', token, {}, plain);
    expect(expired.status).toBe(401);
    expect(expired.headers.get('www-authenticate')).toBe('Bearer error="invalid_token"');
  });
});
