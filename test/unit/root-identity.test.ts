import { describe, expect, it } from 'vitest';
import { rootLoginProvider } from '../../domain/login-methods.js';
import { providerIds } from '../../domain/providers.js';
import { providerByAuth0Strategy, rootLoginIdentity, rootSubjectOf } from '../../domain/root-identity.js';

describe('root login identity', () => {
  it('reads the provider account from an Auth0 user id', () => {
    expect(rootLoginIdentity('google-oauth2|1098')).toEqual({ provider: 'google', providerAccountId: '1098' });
    expect(rootLoginIdentity('github|583231')).toEqual({ provider: 'github', providerAccountId: '583231' });
    expect(rootLoginIdentity('windowslive|ms-1')).toEqual({ provider: 'microsoft', providerAccountId: 'ms-1' });
    expect(rootLoginIdentity('apple|001.abc')).toEqual({ provider: 'apple', providerAccountId: '001.abc' });
    expect(rootLoginIdentity('facebook|10')).toEqual({ provider: 'facebook', providerAccountId: '10' });
    expect(rootLoginIdentity('twitter|42')).toEqual({ provider: 'x', providerAccountId: '42' });
    // A custom OAuth2 connection names itself; the rest of the id (bars included) is the provider's.
    expect(rootLoginIdentity('oauth2|coderabbit|cr-7')).toEqual({ provider: 'coderabbit', providerAccountId: 'cr-7' });
    expect(rootLoginIdentity('oauth2|discord|a|b')).toEqual({ provider: 'discord', providerAccountId: 'a|b' });
  });

  it('finds none for passwords, passwordless, embedded and unknown connections', () => {
    for (const subject of [
      'auth0|abc',
      'email|abc',
      'sms|abc',
      'cra|3f1c',
      'samlp|corp|x',
      'oauth2|someone-else|1',
      'oauth2|coderabbit|',
      'oauth2|coderabbit',
      'github|',
      '|github',
      'github',
    ])
      expect(rootLoginIdentity(subject), subject).toBeUndefined();
  });

  it('is the inverse of the subject a provider account signs up with, for every provider', () => {
    for (const provider of providerIds) {
      const subject = rootSubjectOf(provider, `id-${provider}|9`);
      expect(rootLoginIdentity(subject)).toEqual({ provider, providerAccountId: `id-${provider}|9` });
    }
    expect(rootSubjectOf('google', '1098')).toBe('google-oauth2|1098');
    expect(rootSubjectOf('spotify', 'sp')).toBe('oauth2|spotify|sp');
  });

  it('agrees with the last-login-method rule on every strategy', () => {
    for (const [strategy, provider] of Object.entries(providerByAuth0Strategy))
      expect(rootLoginProvider(`${strategy}|1`)).toBe(provider);
    for (const provider of providerIds)
      expect(rootLoginProvider(rootSubjectOf(provider, '1'))).toBe(
        rootLoginIdentity(rootSubjectOf(provider, '1'))?.provider,
      );
  });
});
