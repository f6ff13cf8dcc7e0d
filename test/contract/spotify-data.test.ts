/**
 * Spotify's Web API as the reader reads it and the sandbox plays it, against the example responses of
 * Spotify's reference (trimmed to one or two items, fields as documented): items and external ids, the
 * `next` URL, `Retry-After` on a 429, and the sandbox's records having every field of the documented ones.
 */
import { describe, expect, it } from 'vitest';
import { spotifyReader } from '../../activities/providers/data/spotify.js';
import { defaultClass, type ReaderContext } from '../../activities/providers/data/reader.js';
import { generateRecord, kindSpecFor, seedOf } from '../../deploy/sandbox/data-kinds.js';
import { renderContext } from '../../deploy/sandbox/apis/kit.js';
import { spotifyApi } from '../../deploy/sandbox/apis/spotify.js';
import { SandboxDatasets } from '../../deploy/sandbox/datasets.js';
import { providerCatalog } from '../../domain/provider-catalog.js';
import { answer } from '../support/provider-contract.js';

const ctx: ReaderContext = {
  apis: { web: 'https://api.spotify.com/v1' },
  pageSize: 50,
  providerAccountId: 'smedjan',
  getJson: () => Promise.reject(new Error('not used')),
};

/** The sandbox's rendering of record 3 of `kind`, and the external id the sandbox says it has. */
function sandboxItem(kind: string) {
  const id = `${kindSpecFor(kind).idPrefix}-000003`;
  const record = generateRecord(kindSpecFor(kind), seedOf(`spotify/${kind}`), id, 'spotify', 'smedjan', 3);
  return {
    item: spotifyApi.render(kind, record, renderContext('spotify', 'smedjan', record)),
    externalId: spotifyApi.externalId(kind, record),
  };
}

// https://developer.spotify.com/documentation/web-api/reference/get-a-list-of-current-users-playlists (response sample)
const playlistsExample = {
  href: 'https://api.spotify.com/v1/me/shows?offset=0&limit=20',
  limit: 20,
  next: 'https://api.spotify.com/v1/me/shows?offset=1&limit=1',
  offset: 0,
  previous: 'https://api.spotify.com/v1/me/shows?offset=1&limit=1',
  total: 4,
  items: [
    {
      collaborative: false,
      description: 'string',
      external_urls: { spotify: 'string' },
      href: 'string',
      id: '3cEYpjA9oz9GiPac4AsH4n',
      images: [{ url: 'https://i.scdn.co/image/ab67616d00001e02ff9ca10b55ce82ae553c8228', height: 300, width: 300 }],
      name: 'string',
      owner: {
        external_urls: { spotify: 'string' },
        followers: { href: 'string', total: 0 },
        href: 'string',
        id: 'string',
        type: 'user',
        uri: 'string',
        display_name: 'string',
      },
      public: false,
      snapshot_id: 'string',
      tracks: { href: 'string', total: 0 },
      type: 'string',
      uri: 'string',
    },
  ],
};

const trackExample = {
  album: { album_type: 'compilation', total_tracks: 9, id: '2up3OPMp9Tb4dAKM2erWXQ', name: 'string', type: 'album' },
  artists: [
    {
      external_urls: { spotify: 'string' },
      href: 'string',
      id: 'string',
      name: 'string',
      type: 'artist',
      uri: 'string',
    },
  ],
  available_markets: ['CA', 'BR', 'IT'],
  disc_number: 0,
  duration_ms: 0,
  explicit: false,
  external_ids: { isrc: 'string', ean: 'string', upc: 'string' },
  external_urls: { spotify: 'string' },
  href: 'string',
  id: '11dFghVXANMlKmJXsNCbNl',
  is_playable: false,
  name: 'string',
  popularity: 0,
  preview_url: 'string',
  track_number: 0,
  type: 'track',
  uri: 'string',
  is_local: false,
};

// https://developer.spotify.com/documentation/web-api/reference/get-users-saved-tracks (response sample)
const savedTracksExample = {
  href: 'https://api.spotify.com/v1/me/shows?offset=0&limit=20',
  limit: 20,
  next: 'https://api.spotify.com/v1/me/shows?offset=1&limit=1',
  offset: 0,
  previous: 'https://api.spotify.com/v1/me/shows?offset=1&limit=1',
  total: 4,
  items: [{ added_at: 'string', track: trackExample }],
};

// https://developer.spotify.com/documentation/web-api/reference/get-recently-played (response sample)
const recentlyPlayedExample = {
  href: 'string',
  limit: 0,
  next: 'https://api.spotify.com/v1/me/player/recently-played?before=1699999999000&limit=20',
  cursors: { after: 'string', before: '1699999999000' },
  total: 0,
  items: [
    {
      track: trackExample,
      played_at: '2023-11-14T22:13:19.000Z',
      context: { type: 'string', href: 'string', external_urls: { spotify: 'string' }, uri: 'string' },
    },
  ],
};

describe('Spotify playlists (GET /me/playlists)', () => {
  const reader = spotifyReader.kinds.playlists!;

  it('asks for 50 from offset 0 and follows the documented next URL', () => {
    expect(reader.maxPageSize).toBe(50);
    expect(reader.first(ctx)).toBe('https://api.spotify.com/v1/me/playlists?limit=50&offset=0');
    const page = reader.parse(
      answer('https://api.spotify.com/v1/me/playlists?limit=20&offset=0', playlistsExample),
      ctx,
    );
    expect(page.items.map((i) => i.externalId)).toEqual(['3cEYpjA9oz9GiPac4AsH4n']);
    expect(page.items[0]!.data).toEqual(playlistsExample.items[0]);
    expect(page.next).toBe(playlistsExample.next);
    expect(reader.parse(answer(playlistsExample.href, { ...playlistsExample, next: null }), ctx).next).toBeNull();
  });

  it('is played by the sandbox with every documented field and the id the reader reads', () => {
    const { item, externalId } = sandboxItem('playlists');
    expect(Object.keys(item)).toEqual(expect.arrayContaining(Object.keys(playlistsExample.items[0]!)));
    const page = reader.parse(answer(playlistsExample.href, { ...playlistsExample, items: [item] }), ctx);
    expect(page.items.map((i) => i.externalId)).toEqual([externalId]);
  });
});

describe('Spotify saved tracks (GET /me/tracks)', () => {
  const reader = spotifyReader.kinds.saved_tracks!;

  it('takes the saved track’s id as the record’s, and the next URL', () => {
    expect(reader.maxPageSize).toBe(50);
    expect(reader.first(ctx)).toBe('https://api.spotify.com/v1/me/tracks?limit=50&offset=0');
    const page = reader.parse(answer('https://api.spotify.com/v1/me/tracks?limit=20', savedTracksExample), ctx);
    expect(page.items.map((i) => i.externalId)).toEqual(['11dFghVXANMlKmJXsNCbNl']);
    expect(page.items[0]!.data).toEqual(savedTracksExample.items[0]);
    expect(page.next).toBe(savedTracksExample.next);
  });

  it('is played by the sandbox with every documented field and the id the reader reads', () => {
    const { item, externalId } = sandboxItem('saved_tracks');
    expect(Object.keys(item)).toEqual(expect.arrayContaining(Object.keys(savedTracksExample.items[0]!)));
    const page = reader.parse(answer(savedTracksExample.href, { ...savedTracksExample, items: [item] }), ctx);
    expect(page.items.map((i) => i.externalId)).toEqual([externalId]);
  });
});

describe('Spotify recently played (GET /me/player/recently-played)', () => {
  const reader = spotifyReader.kinds.recently_played!;

  it('names a play by its track and moment, and pages by next or by cursors.before', () => {
    expect(reader.maxPageSize).toBe(50);
    expect(reader.first(ctx)).toBe('https://api.spotify.com/v1/me/player/recently-played?limit=50');
    const url = 'https://api.spotify.com/v1/me/player/recently-played?limit=20';
    const page = reader.parse(answer(url, recentlyPlayedExample), ctx);
    expect(page.items.map((i) => i.externalId)).toEqual(['11dFghVXANMlKmJXsNCbNl@2023-11-14T22:13:19.000Z']);
    expect(page.next).toBe(recentlyPlayedExample.next);
    // An answer without a next URL pages back by the cursor; an explicit null next is the end.
    const { next: _next, ...withoutNext } = recentlyPlayedExample;
    expect(reader.parse(answer(url, withoutNext), ctx).next).toBe(
      'https://api.spotify.com/v1/me/player/recently-played?limit=20&before=1699999999000',
    );
    expect(reader.parse(answer(url, { ...recentlyPlayedExample, next: null }), ctx).next).toBeNull();
  });

  it('is played by the sandbox with every documented field and the id the reader reads', () => {
    const { item, externalId } = sandboxItem('recently_played');
    expect(Object.keys(item)).toEqual(expect.arrayContaining(Object.keys(recentlyPlayedExample.items[0]!)));
    const page = reader.parse(
      answer('https://api.spotify.com/v1/me/player/recently-played', { ...recentlyPlayedExample, items: [item] }),
      ctx,
    );
    expect(page.items.map((i) => i.externalId)).toEqual([externalId]);
  });
});

describe('Spotify rate limits and errors', () => {
  it('reads Retry-After of a 429 (https://developer.spotify.com/documentation/web-api/concepts/rate-limits)', () => {
    const limited = answer(
      'https://api.spotify.com/v1/me/playlists',
      { error: { status: 429, message: 'API rate limit exceeded' } },
      429,
      {
        'retry-after': '30',
      },
    );
    expect(spotifyReader.rateLimit(limited)).toEqual({ retryAfterMs: 30_000 });
    expect(spotifyReader.rateLimit(answer('https://api.spotify.com/v1/me/playlists', playlistsExample))).toEqual({});
  });

  it('answers a bad token like Spotify: 401 {error: {status, message}} (https://developer.spotify.com/documentation/web-api/concepts/api-calls#response-status-codes)', () => {
    const unauthorized = spotifyApi.unauthorized();
    expect(unauthorized).toEqual({ status: 401, body: { error: { status: 401, message: expect.any(String) } } });
    const seen = answer('https://api.spotify.com/v1/me/playlists', unauthorized.body, unauthorized.status);
    expect(spotifyReader.classify?.(seen) ?? defaultClass(seen.status)).toBe('unauthorized');
  });
});

describe('the sandbox pages like Spotify', () => {
  const base = 'http://sandbox.test/spotify/api/web';
  const datasets = new SandboxDatasets((p) => (p === 'spotify' ? providerCatalog.spotify.dataKinds : undefined));
  const walkCtx: ReaderContext = { ...ctx, apis: { web: base } };

  /** Serves `url` as the sandbox's route for `kind` would. */
  function serve(kind: string, url: string) {
    const route = spotifyApi.routes.find((r) => r.kind === kind)!;
    const served = route.serve({
      url: new URL(url),
      params: {},
      username: 'smedjan',
      kind,
      base,
      datasets,
      render: (record) => spotifyApi.render(kind, record, renderContext('spotify', 'smedjan', record)),
    });
    return answer(url, served.body, served.status);
  }

  it.each([
    ['playlists', 101],
    ['saved_tracks', 100],
    ['recently_played', 51],
  ])('serves every %s record once, the reader following next to the end (%i records, 50 a page)', (kind, count) => {
    datasets.setCount('spotify', 'smedjan', kind, count);
    const reader = spotifyReader.kinds[kind]!;
    const seen: string[] = [];
    let url: string | null = reader.first(walkCtx) as string;
    let pages = 0;
    while (url !== null && pages < 10) {
      const page = reader.parse(serve(kind, url), walkCtx);
      seen.push(...page.items.map((i) => i.externalId));
      url = page.next;
      pages++;
    }
    expect(pages).toBe(Math.ceil(count / 50));
    const expected = datasets
      .ids('spotify', 'smedjan', kind)
      .map((id) => spotifyApi.externalId(kind, datasets.record('spotify', 'smedjan', kind, id)!));
    expect(seen).toEqual(expected);
  });

  it('refuses a limit above 50 with Spotify’s 400', () => {
    const refused = serve('playlists', `${base}/me/playlists?limit=51`);
    expect(refused.status).toBe(400);
    expect(refused.body).toEqual({ error: { status: 400, message: 'Invalid limit' } });
  });
});
