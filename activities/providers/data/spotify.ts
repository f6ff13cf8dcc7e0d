/**
 * Spotify's Web API: the signed-in person's playlists, saved tracks and recently played tracks, 50 per page
 * (the most each endpoint serves). Playlists and saved tracks page by `limit`/`offset` and the answer's
 * absolute `next` URL; recently played pages back in time by `before`, its `next` URL (or `cursors.before`)
 * (https://developer.spotify.com/documentation/web-api/concepts/api-calls#pagination). Spotify sends no
 * remaining-count headers: a rolling 30-second window is refused with 429 and `Retry-After`
 * (https://developer.spotify.com/documentation/web-api/concepts/rate-limits); a bad token is 401 with
 * `{error: {status, message}}` (https://developer.spotify.com/documentation/web-api/concepts/api-calls#response-status-codes).
 */
import {
  apiUrl,
  arrayIn,
  itemsOf,
  objectBody,
  retryAfterMs,
  type KindReader,
  type ProviderAnswer,
  type ProviderDataReader,
} from './reader.js';

/** The answer's `next`: an absolute URL, or null at the end. */
function nextOf(answer: ProviderAnswer): string | null {
  const next = objectBody(answer, 'a paging object').next;
  return typeof next === 'string' && next !== '' ? next : null;
}

const trackIdOf = (item: Record<string, unknown>) => {
  const track = item.track;
  return typeof track === 'object' && track !== null ? (track as Record<string, unknown>).id : undefined;
};

/**
 * A play history object has no id of its own, and the same track is played many times: one play is the track
 * at the moment it was played (`played_at`, a person plays one thing at a time), so the pair is unique and stable.
 */
export function playExternalId(item: Record<string, unknown>): string | undefined {
  const trackId = trackIdOf(item);
  return typeof trackId === 'string' && typeof item.played_at === 'string' ? `${trackId}@${item.played_at}` : undefined;
}

/** A `limit`/`offset` list of the current user, its `next` URL built by Spotify. */
function offsetList(path: string, docs: string, idOf: (item: Record<string, unknown>) => unknown): KindReader {
  return {
    docs,
    maxPageSize: 50,
    first: (ctx) => apiUrl(ctx, 'web', path, { limit: String(ctx.pageSize), offset: '0' }),
    parse: (answer) => ({ items: itemsOf(arrayIn(answer, 'items'), idOf), next: nextOf(answer) }),
  };
}

export const spotifyReader: ProviderDataReader = {
  provider: 'spotify',
  kinds: {
    playlists: offsetList(
      '/me/playlists',
      'https://developer.spotify.com/documentation/web-api/reference/get-a-list-of-current-users-playlists',
      (item) => item.id,
    ),
    // Items are saved-track objects `{added_at, track}`: the record is the track the person saved.
    saved_tracks: offsetList(
      '/me/tracks',
      'https://developer.spotify.com/documentation/web-api/reference/get-users-saved-tracks',
      trackIdOf,
    ),
    recently_played: {
      docs: 'https://developer.spotify.com/documentation/web-api/reference/get-recently-played',
      maxPageSize: 50,
      first: (ctx) => apiUrl(ctx, 'web', '/me/player/recently-played', { limit: String(ctx.pageSize) }),
      parse: (answer) => {
        const items = itemsOf(arrayIn(answer, 'items'), playExternalId);
        const body = objectBody(answer, 'a cursor paging object');
        let next = nextOf(answer);
        // A cursor-based page names its `next` URL (null at the end); a page without one pages back by `cursors.before`.
        const cursors = body.cursors as Record<string, unknown> | null | undefined;
        if (!('next' in body) && items.length > 0 && typeof cursors?.before === 'string' && cursors.before !== '') {
          const url = new URL(answer.url);
          url.searchParams.delete('after');
          url.searchParams.set('before', cursors.before);
          next = url.toString();
        }
        return { items, next };
      },
    },
  },
  rateLimit: (answer) => {
    const retry = retryAfterMs(answer.headers);
    return answer.status === 429 && retry !== undefined ? { retryAfterMs: retry } : {};
  },
};
