/**
 * What the sandbox's data API serves for each kind in CRA's provider catalog: a record computed from its
 * index alone (a seeded generator), so a dataset of any size costs nothing until a page of it is asked for.
 * Field names follow the providers' own APIs loosely, in camelCase; links point at `<provider>.sandbox.test`.
 */

/** A record as served: `id` and `updatedAt` first, then the kind's fields. */
export type SandboxRecord = { id: string; updatedAt: string } & Record<string, unknown>;
export type RecordFields = Record<string, unknown>;

export interface RecordContext {
  provider: string;
  username: string;
  /** 1-based position in the dataset, also in the id. */
  index: number;
  draw: Draw;
  /** `<provider>.sandbox.test`, for links and addresses. */
  host: string;
  /** When the record was created and last updated (epoch ms, created ≤ updated). */
  createdAtMs: number;
  updatedAtMs: number;
}

export interface KindSpec {
  /** Ids are `<idPrefix>-<index, zero-padded>`. */
  idPrefix: string;
  fields(ctx: RecordContext): RecordFields;
  /** The fields a change without explicit ones sets, given the record as served now (`revision` counts changes from 1). */
  edit(current: RecordFields, revision: number): RecordFields;
}

/** A small seeded random source: one per record, so any record can be computed on its own. */
export class Draw {
  #state: number;

  constructor(seed: number) {
    this.#state = seed >>> 0;
  }

  /** mulberry32: fast, good enough for fake data, and the same on every machine. */
  next(): number {
    this.#state = (this.#state + 0x6d2b79f5) >>> 0;
    let t = this.#state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  pick<T>(list: readonly T[]): T {
    return list[Math.floor(this.next() * list.length)]!;
  }

  chance(probability: number): boolean {
    return this.next() < probability;
  }
}

/** FNV-1a: a dataset's seed from its provider, username and kind. */
export function seedOf(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

/** Generated timestamps fall in these two years, so a change made today is always newer. */
const epochMs = Date.UTC(2023, 0, 1);
const spanMs = 2 * 365 * 24 * 60 * 60 * 1000;

/** Record `index` of a dataset: its generated fields, before any change made through the control API. */
export function generateRecord(
  spec: KindSpec,
  datasetSeed: number,
  id: string,
  provider: string,
  username: string,
  index: number,
): SandboxRecord {
  const draw = new Draw(datasetSeed ^ Math.imul(index, 0x9e3779b1));
  const createdAtMs = epochMs + Math.floor(draw.next() * spanMs * 0.8);
  const updatedAtMs = createdAtMs + Math.floor(draw.next() * (epochMs + spanMs - createdAtMs));
  const fields = spec.fields({
    provider,
    username,
    index,
    draw,
    host: `${provider}.sandbox.test`,
    createdAtMs,
    updatedAtMs,
  });
  return { id, updatedAt: iso(updatedAtMs), ...fields };
}

const iso = (ms: number) => new Date(ms).toISOString();
const slug = (text: string) =>
  text
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '');

const firstNames = [
  'Ada',
  'Grace',
  'Linus',
  'Margaret',
  'Alan',
  'Barbara',
  'Ken',
  'Radia',
  'Frances',
  'Dennis',
  'Hedy',
  'Tim',
  'Katherine',
  'John',
  'Edsger',
  'Joan',
  'Guido',
  'Anita',
  'Donald',
  'Sophie',
  'Yukihiro',
  'Mary',
  'Brian',
  'Karen',
  'Amara',
  'Wei',
  'Priya',
  'Mateo',
];
const lastNames = [
  'Lovelace',
  'Hopper',
  'Torvalds',
  'Hamilton',
  'Turing',
  'Liskov',
  'Thompson',
  'Perlman',
  'Allen',
  'Ritchie',
  'Lamarr',
  'Berners-Lee',
  'Johnson',
  'McCarthy',
  'Dijkstra',
  'Clarke',
  'van Rossum',
  'Borg',
  'Knuth',
  'Wilson',
  'Matsumoto',
  'Kernighan',
  'Okafor',
  'Zhang',
  'Iyer',
  'García',
];
const adjectives = [
  'tiny',
  'fast',
  'async',
  'quiet',
  'shiny',
  'lazy',
  'solid',
  'open',
  'little',
  'cosmic',
  'rusty',
  'brave',
  'paper',
  'golden',
  'midnight',
  'electric',
];
const nouns = [
  'parser',
  'router',
  'cache',
  'toolkit',
  'dashboard',
  'notes',
  'scheduler',
  'bot',
  'cli',
  'compiler',
  'sync',
  'widgets',
  'garden',
  'lantern',
  'harbor',
  'engine',
  'atlas',
  'compass',
  'signal',
  'orchard',
];
const languages = [
  'TypeScript',
  'Rust',
  'Go',
  'Python',
  'Kotlin',
  'Swift',
  'Ruby',
  'C',
  'Elixir',
  'Java',
  'Zig',
  'Haskell',
];
const companies = [
  'Acme',
  'Globex',
  'Initech',
  'Umbrella',
  'Hooli',
  'Stark Industries',
  'Wayne Enterprises',
  'Vandelay Industries',
  'Pied Piper',
  'Soylent',
  'Tyrell',
  'Cyberdyne',
];
const cities = [
  'Lisbon',
  'Berlin',
  'Osaka',
  'Toronto',
  'Nairobi',
  'Oslo',
  'Lima',
  'Melbourne',
  'Austin',
  'Prague',
  'Seoul',
  'Montréal',
];
const topics = [
  'the release',
  'onboarding',
  'the roadmap',
  'our API',
  'testing',
  'the migration',
  'hiring',
  'on-call',
  'the offsite',
  'docs',
  'performance',
  'accessibility',
];
const openers = [
  'Thoughts on',
  'Finally shipped',
  'A short note about',
  'What I learned from',
  'Hot take on',
  'Celebrating',
  'Notes from',
  'Looking back at',
];
const subreddits = [
  'programming',
  'typescript',
  'rust',
  'cooking',
  'photography',
  'running',
  'boardgames',
  'askscience',
  'gardening',
  'dataisbeautiful',
  'travel',
  'books',
];
const products = [
  'USB-C cable (2 m)',
  'Coffee beans, 1 kg',
  'Mechanical keyboard',
  'Running shoes',
  'Desk lamp',
  'Noise-cancelling headphones',
  'Ceramic plant pot',
  'Paperback: The Pragmatic Programmer',
  'Cast-iron skillet',
  'Water bottle',
  'Board game: Carcassonne',
  'Notebook, dotted A5',
];

const fullName = (d: Draw) => `${d.pick(firstNames)} ${d.pick(lastNames)}`;
const title = (d: Draw) => `${d.pick(adjectives)}-${d.pick(nouns)}`;
const sentence = (d: Draw) =>
  `${d.pick(openers)} ${d.pick(topics)} with the ${d.pick(adjectives)} ${d.pick(nouns)} team in ${d.pick(cities)}.`;
const appendEdit =
  (field: string) =>
  (current: RecordFields, revision: number): RecordFields => ({
    [field]: `${String(current[field] ?? '')} (edited ${revision})`,
  });

const repositories: KindSpec = {
  idPrefix: 'repo',
  fields: ({ draw, username, host, index, createdAtMs, updatedAtMs }) => {
    const name = `${title(draw)}-${index}`;
    const language = draw.pick(languages);
    return {
      name,
      fullName: `${username}/${name}`,
      description: `A ${draw.pick(adjectives)} ${draw.pick(nouns)} written in ${language}.`,
      private: draw.chance(0.3),
      fork: draw.chance(0.15),
      language,
      defaultBranch: draw.chance(0.8) ? 'main' : 'master',
      stargazersCount: draw.int(0, 2500),
      forksCount: draw.int(0, 300),
      openIssuesCount: draw.int(0, 40),
      htmlUrl: `https://${host}/${username}/${name}`,
      createdAt: iso(createdAtMs),
      pushedAt: iso(updatedAtMs),
    };
  },
  edit: appendEdit('description'),
};

const organizations: KindSpec = {
  idPrefix: 'org',
  fields: ({ draw, host, index, createdAtMs }) => {
    const company = draw.pick(companies);
    const login = `${slug(company)}-${index}`;
    return {
      login,
      name: company,
      description: `${company}: ${draw.pick(adjectives)} ${draw.pick(nouns)}s for everyone.`,
      role: draw.chance(0.2) ? 'admin' : 'member',
      membersCount: draw.int(2, 900),
      publicReposCount: draw.int(0, 120),
      htmlUrl: `https://${host}/${login}`,
      createdAt: iso(createdAtMs),
    };
  },
  edit: appendEdit('description'),
};

const starred: KindSpec = {
  idPrefix: 'star',
  fields: ({ draw, host, updatedAtMs }) => {
    const owner = slug(draw.pick(lastNames));
    const name = title(draw);
    return {
      fullName: `${owner}/${name}`,
      description: `The ${draw.pick(adjectives)} ${draw.pick(nouns)} you always wanted.`,
      language: draw.pick(languages),
      stargazersCount: draw.int(10, 90_000),
      htmlUrl: `https://${host}/${owner}/${name}`,
      starredAt: iso(updatedAtMs),
    };
  },
  edit: appendEdit('description'),
};

const contacts: KindSpec = {
  idPrefix: 'contact',
  fields: ({ draw, createdAtMs }) => {
    const given = draw.pick(firstNames);
    const family = draw.pick(lastNames);
    return {
      displayName: `${given} ${family}`,
      givenName: given,
      familyName: family,
      emails: [
        {
          type: draw.pick(['home', 'work']),
          value: `${slug(given)}.${slug(family)}@${slug(draw.pick(companies))}.example`,
        },
      ],
      phoneNumbers: draw.chance(0.7)
        ? [
            {
              type: draw.pick(['mobile', 'home', 'work']),
              value: `+1 555 ${draw.int(100, 999)} ${draw.int(1000, 9999)}`,
            },
          ]
        : [],
      organization: draw.chance(0.6)
        ? { name: draw.pick(companies), title: draw.pick(['Engineer', 'Designer', 'Manager', 'Founder', 'Analyst']) }
        : null,
      starred: draw.chance(0.1),
      createdAt: iso(createdAtMs),
    };
  },
  edit: appendEdit('displayName'),
};

const calendarEvents: KindSpec = {
  idPrefix: 'event',
  fields: ({ draw, username, host, createdAtMs }) => {
    const startMs = createdAtMs + draw.int(1, 60) * 24 * 3600_000 + draw.int(7, 19) * 3600_000;
    const allDay = draw.chance(0.1);
    return {
      summary: draw.pick([
        'Team standup',
        `1:1 with ${draw.pick(firstNames)}`,
        'Sprint planning',
        'Dentist',
        `Lunch with ${draw.pick(firstNames)}`,
        'Design review',
        'Gym',
        'Quarterly review',
        `Flight to ${draw.pick(cities)}`,
        'Book club',
      ]),
      description: draw.chance(0.5) ? `About ${draw.pick(topics)}.` : '',
      location: draw.chance(0.6) ? `${draw.pick(cities)}, room ${draw.int(1, 12)}` : null,
      start: allDay ? { date: iso(startMs).slice(0, 10) } : { dateTime: iso(startMs) },
      end: allDay
        ? { date: iso(startMs + 24 * 3600_000).slice(0, 10) }
        : { dateTime: iso(startMs + draw.pick([15, 30, 45, 60, 90]) * 60_000) },
      status: draw.chance(0.92) ? 'confirmed' : 'cancelled',
      organizer: `${username}@${host}`,
      attendeesCount: draw.int(0, 12),
    };
  },
  edit: appendEdit('summary'),
};

const fileTypes = [
  {
    ext: 'docx',
    mimeType: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
    name: (d: Draw) => `${d.pick(openers)} ${d.pick(topics)}`,
  },
  {
    ext: 'xlsx',
    mimeType: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
    name: (d: Draw) => `Budget ${d.int(2019, 2024)}`,
  },
  { ext: 'pdf', mimeType: 'application/pdf', name: (d: Draw) => `Trip to ${d.pick(cities)}` },
  { ext: 'jpg', mimeType: 'image/jpeg', name: (d: Draw) => `IMG_${d.int(1000, 9999)}` },
  {
    ext: 'pptx',
    mimeType: 'application/vnd.openxmlformats-officedocument.presentationml.presentation',
    name: (d: Draw) => `Slides - ${d.pick(topics)}`,
  },
];

const driveFiles: KindSpec = {
  idPrefix: 'file',
  fields: ({ draw, host, index, createdAtMs }) => {
    const type = draw.pick(fileTypes);
    return {
      name: `${type.name(draw)}.${type.ext}`,
      mimeType: type.mimeType,
      sizeBytes: draw.int(2_000, 25_000_000),
      folder: draw.pick(['My Drive', 'Work', 'Photos', 'Travel', 'Shared with me']),
      shared: draw.chance(0.25),
      trashed: false,
      webViewLink: `https://${host}/files/${index}`,
      createdAt: iso(createdAtMs),
    };
  },
  edit: appendEdit('name'),
};

const friends: KindSpec = {
  idPrefix: 'friend',
  fields: ({ draw, host, index, createdAtMs }) => {
    const name = fullName(draw);
    return {
      name,
      profileUrl: `https://${host}/${slug(name)}.${index}`,
      mutualFriendsCount: draw.int(0, 80),
      friendsSince: iso(createdAtMs),
    };
  },
  edit: appendEdit('name'),
};

const pages: KindSpec = {
  idPrefix: 'page',
  fields: ({ draw, host, index }) => {
    const name = `${draw.pick(companies)} ${draw.pick(['Fans', 'Official', 'Community', 'Cafe', 'Studio'])}`;
    return {
      name,
      category: draw.pick(['Local business', 'Brand', 'Community', 'Musician', 'Restaurant', 'Nonprofit']),
      about: `${name}: ${draw.pick(topics)} and more.`,
      followersCount: draw.int(20, 250_000),
      role: draw.pick(['admin', 'editor', 'follower']),
      link: `https://${host}/pages/${slug(name)}-${index}`,
    };
  },
  edit: appendEdit('about'),
};

const posts: KindSpec = {
  idPrefix: 'post',
  fields: ({ provider, draw, username, host, index, createdAtMs }) => {
    if (provider === 'reddit') {
      const subreddit = draw.pick(subreddits);
      return {
        title: `${draw.pick(openers)} ${draw.pick(topics)}`,
        text: sentence(draw),
        subreddit,
        score: draw.int(-5, 12_000),
        commentsCount: draw.int(0, 600),
        url: `https://${host}/r/${subreddit}/comments/${index}`,
        createdAt: iso(createdAtMs),
      };
    }
    return {
      text: sentence(draw),
      likeCount: draw.int(0, 4_000),
      replyCount: draw.int(0, 200),
      repostCount: draw.int(0, 800),
      visibility: draw.chance(0.85) ? 'public' : 'connections',
      url: `https://${host}/${username}/posts/${index}`,
      createdAt: iso(createdAtMs),
    };
  },
  edit: appendEdit('text'),
};

const followers: KindSpec = {
  idPrefix: 'follower',
  fields: ({ draw, host, index, createdAtMs }) => {
    const name = fullName(draw);
    const handle = `${slug(name).replace(/-/g, '_')}${index}`;
    return {
      username: handle,
      name,
      description: `${draw.pick(['Engineer', 'Photographer', 'Cyclist', 'Writer', 'Designer'])} in ${draw.pick(cities)}.`,
      followersCount: draw.int(0, 50_000),
      verified: draw.chance(0.05),
      profileUrl: `https://${host}/${handle}`,
      followingSince: iso(createdAtMs),
    };
  },
  edit: appendEdit('description'),
};

const guilds: KindSpec = {
  idPrefix: 'guild',
  fields: ({ draw }) => ({
    name: `${draw.pick(adjectives)} ${draw.pick(nouns)} ${draw.pick(['Club', 'Guild', 'Lounge', 'HQ', 'Crew'])}`,
    owner: draw.chance(0.1),
    memberCount: draw.int(3, 120_000),
    permissions: String(draw.int(0, 2 ** 31)),
    features: draw.chance(0.3) ? ['COMMUNITY', 'NEWS'] : [],
  }),
  edit: appendEdit('name'),
};

const connections: KindSpec = {
  idPrefix: 'conn',
  fields: ({ draw, username, index }) => ({
    type: draw.pick(['twitch', 'youtube', 'steam', 'spotify', 'github', 'xbox', 'reddit']),
    name: `${username}-${index}`,
    verified: draw.chance(0.85),
    visibility: draw.chance(0.6) ? 'everyone' : 'none',
    showActivity: draw.chance(0.5),
  }),
  edit: appendEdit('name'),
};

const orderStatuses = ['ordered', 'shipped', 'out_for_delivery', 'delivered', 'returned'];
const orders: KindSpec = {
  idPrefix: 'order',
  fields: ({ draw, createdAtMs }) => {
    const items = Array.from({ length: draw.int(1, 4) }, () => ({
      title: draw.pick(products),
      quantity: draw.int(1, 3),
      unitPrice: draw.int(299, 24_999) / 100,
    }));
    const total = items.reduce((sum, item) => sum + item.quantity * Math.round(item.unitPrice * 100), 0) / 100;
    return {
      orderNumber: `${draw.int(100, 999)}-${draw.int(1_000_000, 9_999_999)}-${draw.int(1_000_000, 9_999_999)}`,
      placedAt: iso(createdAtMs),
      status: draw.chance(0.85) ? 'delivered' : draw.pick(orderStatuses),
      items,
      total: { currency: 'USD', amount: total },
    };
  },
  edit: (_base, revision) => ({ status: orderStatuses[revision % orderStatuses.length]! }),
};

const playlists: KindSpec = {
  idPrefix: 'playlist',
  fields: ({ draw, username, host, index }) => ({
    name: `${draw.pick(['Morning', 'Focus', 'Road trip', 'Rainy day', 'Workout', 'Late night', 'Sunday'])} ${draw.pick(['mix', 'vibes', 'jams', 'classics', 'favourites'])}`,
    description: draw.chance(0.5) ? `Songs for ${draw.pick(topics)}.` : '',
    public: draw.chance(0.6),
    collaborative: draw.chance(0.1),
    tracksCount: draw.int(5, 400),
    owner: username,
    externalUrl: `https://${host}/playlist/${index}`,
  }),
  edit: appendEdit('name'),
};

const artist = (d: Draw) =>
  d.chance(0.5) ? `The ${d.pick(adjectives).replace(/^./, (c) => c.toUpperCase())} ${d.pick(nouns)}s` : fullName(d);
const song = (d: Draw) => `${d.pick(adjectives)} ${d.pick(nouns)}`.replace(/^./, (c) => c.toUpperCase());

const savedTracks: KindSpec = {
  idPrefix: 'track',
  fields: ({ draw, host, index, updatedAtMs }) => ({
    name: song(draw),
    artists: [artist(draw)],
    album: `${song(draw)} (${draw.int(1968, 2024)})`,
    durationMs: draw.int(95_000, 420_000),
    explicit: draw.chance(0.15),
    popularity: draw.int(0, 100),
    addedAt: iso(updatedAtMs),
    externalUrl: `https://${host}/track/${index}`,
  }),
  edit: appendEdit('name'),
};

const recentlyPlayed: KindSpec = {
  idPrefix: 'play',
  fields: ({ draw, updatedAtMs }) => ({
    trackName: song(draw),
    artists: [artist(draw)],
    durationMs: draw.int(95_000, 420_000),
    context: draw.pick(['playlist', 'album', 'artist', 'radio']),
    playedAt: iso(updatedAtMs),
  }),
  edit: appendEdit('trackName'),
};

const channels: KindSpec = {
  idPrefix: 'channel',
  fields: ({ draw, index, createdAtMs }) => ({
    name: draw.chance(0.2)
      ? draw.pick(['general', 'random', 'announcements', 'incidents'])
      : `${draw.pick(['eng', 'team', 'help', 'proj'])}-${draw.pick(nouns)}-${index}`,
    topic: `All about ${draw.pick(topics)}.`,
    isPrivate: draw.chance(0.25),
    isArchived: draw.chance(0.05),
    memberCount: draw.int(1, 2_000),
    createdAt: iso(createdAtMs),
  }),
  edit: appendEdit('topic'),
};

const subscriptions: KindSpec = {
  idPrefix: 'sub',
  fields: ({ draw, host, index, createdAtMs }) => {
    const name = `${draw.pick(subreddits)}${index}`;
    return {
      name,
      title: `r/${name}: ${draw.pick(topics)}`,
      subscribers: draw.int(50, 5_000_000),
      over18: false,
      url: `https://${host}/r/${name}`,
      subscribedAt: iso(createdAtMs),
    };
  },
  edit: appendEdit('title'),
};

const reviews: KindSpec = {
  idPrefix: 'review',
  fields: ({ draw, username, host, index, createdAtMs }) => {
    const repository = `${username}/${title(draw)}`;
    const pullRequest = draw.int(1, 4_000);
    return {
      repository,
      pullRequest,
      title: `${draw.pick(['Fix', 'Add', 'Refactor', 'Speed up', 'Document'])} ${draw.pick(nouns)} ${draw.pick(['handling', 'tests', 'errors', 'config'])}`,
      status: draw.pick(['completed', 'completed', 'completed', 'in_progress', 'skipped']),
      commentsCount: draw.int(0, 35),
      htmlUrl: `https://${host}/${repository}/pull/${pullRequest}#review-${index}`,
      createdAt: iso(createdAtMs),
    };
  },
  edit: appendEdit('title'),
};

const kindSpecs: Record<string, KindSpec> = {
  repositories,
  organizations,
  starred,
  contacts,
  calendar_events: calendarEvents,
  drive_files: driveFiles,
  friends,
  pages,
  posts,
  followers,
  guilds,
  connections,
  orders,
  playlists,
  saved_tracks: savedTracks,
  recently_played: recentlyPlayed,
  channels,
  subscriptions,
  reviews,
};

/** A kind the catalog gains before this file learns it still serves something: named records. */
function genericSpec(kind: string): KindSpec {
  return {
    idPrefix: slug(kind) || 'item',
    fields: ({ draw, createdAtMs }) => ({
      name: `${draw.pick(adjectives)} ${draw.pick(nouns)}`,
      description: sentence(draw),
      createdAt: iso(createdAtMs),
    }),
    edit: appendEdit('name'),
  };
}

export function kindSpecFor(kind: string): KindSpec {
  return kindSpecs[kind] ?? genericSpec(kind);
}
