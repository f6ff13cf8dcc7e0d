/**
 * Consents from their history: the answer in force per purpose, what `GET /v1/me` reports as missing or
 * out of date, and the features a withdrawn consent stops.
 */
import { describe, expect, it } from 'vitest';
import {
  consentsInForce,
  consentsRequired,
  consentsView,
  stoppedFeatures,
} from '../../activities/accounts/consents.js';
import type { RecordedConsent } from '../../domain/account-center.js';
import { defaultConsentPurposes, type ConsentPurpose } from '../../domain/consents.js';

const purposes: ConsentPurpose[] = [
  { purpose: 'terms', version: '2', description: 'Terms', required: true, features: [] },
  {
    purpose: 'provider_data',
    version: '3',
    description: 'Provider data',
    required: false,
    features: ['provider_sync'],
  },
  { purpose: 'newsletter', version: '1', description: 'News', required: false, features: [] },
];

let clock = 0;
const answer = (purpose: string, version: string, granted: boolean): RecordedConsent => ({
  purpose,
  version,
  granted,
  recordedAt: new Date(Date.UTC(2026, 10, 1, 0, 0, clock++)).toISOString(),
  source: 'api',
});

describe('the answer in force', () => {
  it('is the last one recorded per purpose', () => {
    const history = [answer('terms', '1', true), answer('provider_data', '3', true), answer('terms', '2', true)];
    expect(consentsInForce(history).map((c) => [c.purpose, c.version])).toEqual([
      ['terms', '2'],
      ['provider_data', '3'],
    ]);
  });

  it('is shown with whether it answers the configured version, next to the whole history', () => {
    const history = [
      answer('terms', '1', true),
      answer('provider_data', '3', true),
      answer('provider_data', '3', false),
    ];
    const view = consentsView(history, purposes);
    expect(view.history).toEqual(history);
    expect(view.current).toEqual([
      { ...history[0], upToDate: false },
      { ...history[2], upToDate: true },
    ]);
    expect(view.stopped).toEqual([{ feature: 'provider_sync', purpose: 'provider_data' }]);
    expect(view.purposes).toEqual(purposes);
  });
});

describe('features a withdrawn consent stops', () => {
  it('stops the provider sync while provider_data is withdrawn, and not once it is granted again', () => {
    const withdrawn = [answer('provider_data', '3', true), answer('provider_data', '3', false)];
    expect(stoppedFeatures(withdrawn, purposes)).toEqual(new Map([['provider_sync', 'provider_data']]));
    expect(stoppedFeatures([...withdrawn, answer('provider_data', '3', true)], purposes).size).toBe(0);
  });

  it('stops nothing for a purpose never answered (accounts from before it) or no longer configured', () => {
    expect(stoppedFeatures([answer('terms', '2', true)], purposes).size).toBe(0);
    expect(stoppedFeatures([answer('retired', '1', false)], purposes).size).toBe(0);
  });
});

describe('consents still to be answered', () => {
  it('reports a required purpose never answered, and optional ones never answered', () => {
    expect(consentsRequired([], purposes)).toEqual({
      missing: [
        { purpose: 'terms', version: '2', required: true },
        { purpose: 'provider_data', version: '3', required: false },
        { purpose: 'newsletter', version: '1', required: false },
      ],
      outdated: [],
    });
  });

  it('reports a withdrawn required purpose as missing, but not a refused optional one', () => {
    const history = [
      answer('terms', '2', true),
      answer('terms', '2', false),
      answer('provider_data', '3', false),
      answer('newsletter', '1', true),
    ];
    expect(consentsRequired(history, purposes)).toEqual({
      missing: [{ purpose: 'terms', version: '2', required: true }],
      outdated: [],
    });
  });

  it('reports a grant of an older version as outdated, with both versions', () => {
    const history = [answer('terms', '1', true), answer('provider_data', '2', true), answer('newsletter', '1', true)];
    expect(consentsRequired(history, purposes)).toEqual({
      missing: [],
      outdated: [
        { purpose: 'terms', given: '1', current: '2', required: true },
        { purpose: 'provider_data', given: '2', current: '3', required: false },
      ],
    });
  });

  it('is empty for a person who answered every default purpose at its version', () => {
    const history = defaultConsentPurposes.map((p) => answer(p.purpose, p.version, true));
    expect(consentsRequired(history, defaultConsentPurposes)).toEqual({ missing: [], outdated: [] });
  });
});
