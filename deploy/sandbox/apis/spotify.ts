/**
 * Spotify's Web API as the sandbox plays it, under `/spotify/api/web`: `GET /me/playlists` and `/me/tracks`
 * paged by `limit` (1 to 50, default 20) and `offset` with an absolute `next` URL, and
 * `/me/player/recently-played` paged back in time by `before` (a Unix time in ms) with `cursors` and `next`
 * (https://developer.spotify.com/documentation/web-api/concepts/api-calls#pagination). Spotify sends no
 * rate-limit headers; beyond its window it answers 429 with `Retry-After`
 * (https://developer.spotify.com/documentation/web-api/concepts/rate-limits), and its errors are
 * `{error: {status, message}}` (https://developer.spotify.com/documentation/web-api/concepts/api-calls#response-status-codes).
 */
import type { SandboxRecord } from '../datasets.js';
import { indexOfId, type ApiAnswer, type ApiRequest, type ApiRoute, type SandboxProviderApi } from './kit.js';

const base62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** A Spotify id: 22 base-62 characters, one letter per kind so a playlist and a track never share one. */
function spotifyId(tag: string, index: number): string {
  let n = index;
  let out = '';
  do {
    out = base62[n % 62]! + out;
    n = Math.floor(n / 62);
  } while (n > 0);
  return `${tag}${out.padStart(21, '0')}`;
}

/** Recently played: one play a minute going back from this moment, so `played_at` orders the dataset. */
const latestPlayMs = Date.UTC(2025, 0, 1);
const playedAtMs = (index: number) => latestPlayMs - index * 60_000;
const indexOfPlayedAt = (ms: number) => (latestPlayMs - ms) / 60_000;

function error(status: number, message: string): ApiAnswer {
  return { status, body: { error: { status, message } } };
}

const externalUrls = (host: string, type: string, id: string) => ({ spotify: `https://open.${host}/${type}/${id}` });

function track(id: string, f: Record<string, unknown>, host: string) {
  const artists = Array.isArray(f.artists) ? (f.artists as unknown[]).map(String) : [];
  const albumId = `B${id.slice(1)}`;
  return {
    album: {
      album_type: 'album',
      total_tracks: 12,
      external_urls: externalUrls(host, 'album', albumId),
      href: `https://api.${host}/v1/albums/${albumId}`,
      id: albumId,
      name: String(f.album ?? ''),
      type: 'album',
      uri: `spotify:album:${albumId}`,
    },
    artists: artists.map((name, i) => {
      const artistId = `R${id.slice(1, -1)}${i}`;
      return {
        external_urls: externalUrls(host, 'artist', artistId),
        href: `https://api.${host}/v1/artists/${artistId}`,
        id: artistId,
        name,
        type: 'artist',
        uri: `spotify:artist:${artistId}`,
      };
    }),
    disc_number: 1,
    duration_ms: f.durationMs ?? 0,
    explicit: f.explicit ?? false,
    external_urls: externalUrls(host, 'track', id),
    href: `https://api.${host}/v1/tracks/${id}`,
    id,
    is_local: false,
    name: String(f.name ?? f.trackName ?? ''),
    popularity: f.popularity ?? 0,
    track_number: 1,
    type: 'track',
    uri: `spotify:track:${id}`,
  };
}

function render(kind: string, r: SandboxRecord, ctx: { username: string; host: string }): Record<string, unknown> {
  const f = r as Record<string, unknown>;
  const index = indexOfId(r.id);
  switch (kind) {
    case 'playlists': {
      const id = spotifyId('P', index);
      return {
        collaborative: f.collaborative ?? false,
        description: f.description ?? '',
        external_urls: externalUrls(ctx.host, 'playlist', id),
        href: `https://api.${ctx.host}/v1/playlists/${id}`,
        id,
        images: [],
        name: f.name,
        owner: {
          external_urls: externalUrls(ctx.host, 'user', ctx.username),
          href: `https://api.${ctx.host}/v1/users/${ctx.username}`,
          id: ctx.username,
          type: 'user',
          uri: `spotify:user:${ctx.username}`,
          display_name: ctx.username,
        },
        public: f.public ?? false,
        snapshot_id: Buffer.from(`${id}:${r.updatedAt}`).toString('base64'),
        tracks: { href: `https://api.${ctx.host}/v1/playlists/${id}/tracks`, total: f.tracksCount ?? 0 },
        type: 'playlist',
        uri: `spotify:playlist:${id}`,
      };
    }
    case 'saved_tracks':
      return { added_at: f.addedAt ?? r.updatedAt, track: track(spotifyId('T', index), f, ctx.host) };
    default: {
      const type = String(f.context ?? 'playlist');
      const contextId = spotifyId('C', index % 7);
      return {
        track: track(spotifyId('H', index), f, ctx.host),
        played_at: new Date(playedAtMs(index)).toISOString(),
        context: {
          type,
          href: `https://api.${ctx.host}/v1/${type}s/${contextId}`,
          external_urls: externalUrls(ctx.host, type, contextId),
          uri: `spotify:${type}:${contextId}`,
        },
      };
    }
  }
}

function externalId(kind: string, record: SandboxRecord): string {
  const index = indexOfId(record.id);
  if (kind === 'playlists') return spotifyId('P', index);
  if (kind === 'saved_tracks') return spotifyId('T', index);
  return `${spotifyId('H', index)}@${new Date(playedAtMs(index)).toISOString()}`;
}

/** A whole-number query parameter in [min, max], or Spotify's 400. */
function intQuery(url: URL, name: string, fallback: number, min: number, max: number): number | ApiAnswer {
  const raw = url.searchParams.get(name);
  if (raw === null || raw === '') return fallback;
  const value = /^\d{1,15}$/.test(raw) ? Number(raw) : NaN;
  return value >= min && value <= max ? value : error(400, `Invalid ${name}`);
}

/** `limit`/`offset` paging with `href`, `next` and `previous` URLs and a `total`, as Spotify's paging object. */
function offsetListed(path: string, kind: string, docs: string): ApiRoute {
  return {
    api: 'web',
    path,
    kind,
    docs,
    serve(request: ApiRequest) {
      const limit = intQuery(request.url, 'limit', 20, 1, 50);
      if (typeof limit !== 'number') return limit;
      const offset = intQuery(request.url, 'offset', 0, 0, 100_000);
      if (typeof offset !== 'number') return offset;
      const { items, total } = request.datasets.pageAt('spotify', request.username, kind, offset, limit);
      const at = (o: number) => {
        const url = new URL(`${request.base}${path}`);
        url.searchParams.set('offset', String(o));
        url.searchParams.set('limit', String(limit));
        return url.toString();
      };
      return {
        status: 200,
        body: {
          href: at(offset),
          limit,
          next: offset + limit < total ? at(offset + limit) : null,
          offset,
          previous: offset > 0 ? at(Math.max(0, offset - limit)) : null,
          total,
          items: items.map(request.render),
        },
        records: items.length,
      };
    },
  };
}

const recentlyPlayed: ApiRoute = {
  api: 'web',
  path: '/me/player/recently-played',
  kind: 'recently_played',
  docs: 'https://developer.spotify.com/documentation/web-api/reference/get-recently-played',
  serve(request) {
    const limit = intQuery(request.url, 'limit', 20, 1, 50);
    if (typeof limit !== 'number') return limit;
    const before = intQuery(request.url, 'before', 0, 0, Number.MAX_SAFE_INTEGER);
    if (typeof before !== 'number') return before;
    if (request.url.searchParams.has('after') && request.url.searchParams.has('before'))
      return error(400, 'Only one of after and before may be given');
    // The plays older than `before`: the first index whose minute is before it.
    const afterIndex = before === 0 ? 0 : Math.max(0, Math.floor(indexOfPlayedAt(before)));
    const afterId = afterIndex === 0 ? undefined : `play-${String(afterIndex).padStart(6, '0')}`;
    const { items, more } = request.datasets.pageAfter('spotify', request.username, 'recently_played', afterId, limit);
    const rendered = items.map(request.render);
    const first = items[0];
    const last = items.at(-1);
    const href = `${request.base}/me/player/recently-played${request.url.search}`;
    const next = new URL(`${request.base}/me/player/recently-played`);
    if (last) {
      next.searchParams.set('before', String(playedAtMs(indexOfId(last.id))));
      next.searchParams.set('limit', String(limit));
    }
    return {
      status: 200,
      body: {
        href,
        limit,
        next: more && last ? next.toString() : null,
        cursors:
          first && last
            ? { after: String(playedAtMs(indexOfId(first.id))), before: String(playedAtMs(indexOfId(last.id))) }
            : null,
        total: request.datasets.count('spotify', request.username, 'recently_played'),
        items: rendered,
      },
      records: items.length,
    };
  },
};

export const spotifyApi: SandboxProviderApi = {
  provider: 'spotify',
  routes: [
    offsetListed(
      '/me/playlists',
      'playlists',
      'https://developer.spotify.com/documentation/web-api/reference/get-a-list-of-current-users-playlists',
    ),
    offsetListed(
      '/me/tracks',
      'saved_tracks',
      'https://developer.spotify.com/documentation/web-api/reference/get-users-saved-tracks',
    ),
    recentlyPlayed,
  ],
  externalId,
  render,
  unauthorized: () => error(401, 'Invalid access token'),
  // One answer for both causes: Spotify says only how long to wait.
  rateLimited: (_window, retryAfterSeconds) => ({
    ...error(429, 'API rate limit exceeded'),
    headers: { 'retry-after': String(retryAfterSeconds) },
  }),
  rateHeaders: () => ({}),
  serverError: (status, retryAfterSeconds) => ({
    ...error(status, status === 503 ? 'Service unavailable' : 'Server error'),
    ...(retryAfterSeconds !== undefined ? { headers: { 'retry-after': String(retryAfterSeconds) } } : {}),
  }),
};
