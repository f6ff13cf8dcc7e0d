import { describe, expect, it } from 'vitest';
import { flagNameFor, providerCatalog, redirectUriFor } from '../../domain/provider-catalog.js';
import { providerIds } from '../../domain/providers.js';

describe('provider catalog', () => {
  it('describes all thirteen providers with https endpoints and minimal default scopes', () => {
    expect(providerIds).toHaveLength(13);
    for (const id of providerIds) {
      const p = providerCatalog[id];
      expect(p.id).toBe(id);
      for (const url of [
        p.endpoints.authorize,
        p.endpoints.token,
        ...(p.endpoints.revocation ? [p.endpoints.revocation] : []),
      ])
        expect(url).toMatch(/^https:\/\//);
      expect(p.defaultScopes.length).toBeGreaterThan(0);
      expect(p.defaultScopes.filter((s) => p.extendedScopes.includes(s))).toEqual([]);
      if (p.openid) expect(p.defaultScopes).toContain('openid');
    }
    expect(flagNameFor('coderabbit')).toBe('ENABLE_CODERABBIT_LOGIN');
    expect(redirectUriFor('https://cra.example/', 'github')).toBe('https://cra.example/v1/oauth/github/callback');
  });

  it('gives CodeRabbit its documented scopes', () => {
    expect([...providerCatalog.coderabbit.defaultScopes, ...providerCatalog.coderabbit.extendedScopes].sort()).toEqual([
      'analytics:read',
      'organizations:read',
      'profile:read',
      'repositories:read',
      'reviews:read',
      'reviews:write',
    ]);
  });

  // Sample bodies in the shapes the providers document for their profile endpoints.
  it.each([
    [
      'google',
      { sub: '1098', email: 'a@gmail.com', email_verified: true, name: 'Ada' },
      { providerAccountId: '1098', email: 'a@gmail.com', emailVerified: true, displayName: 'Ada' },
    ],
    [
      'github',
      { id: 583231, login: 'octocat', name: 'The Octocat', email: 'octo@github.com' },
      { providerAccountId: '583231', email: 'octo@github.com', emailVerified: false, displayName: 'The Octocat' },
    ],
    [
      'discord',
      { id: '80351110224678912', username: 'nelly', global_name: 'Nelly', email: 'nelly@discord.com', verified: true },
      { providerAccountId: '80351110224678912', email: 'nelly@discord.com', emailVerified: true, displayName: 'Nelly' },
    ],
    [
      'x',
      { data: { id: '2244994945', name: 'X Dev', username: 'XDevelopers' } },
      { providerAccountId: '2244994945', emailVerified: false, displayName: 'X Dev' },
    ],
    [
      'spotify',
      { id: 'wizzler', display_name: 'JM Wizzler', email: 'email@example.com' },
      { providerAccountId: 'wizzler', email: 'email@example.com', emailVerified: false, displayName: 'JM Wizzler' },
    ],
    [
      'amazon',
      { user_id: 'amzn1.account.K2LI23KL2LK2', email: 'mhashimoto-04@plaxo.com', name: 'Mork Hashimoto' },
      {
        providerAccountId: 'amzn1.account.K2LI23KL2LK2',
        email: 'mhashimoto-04@plaxo.com',
        emailVerified: true,
        displayName: 'Mork Hashimoto',
      },
    ],
    [
      'reddit',
      { id: 'abc12', name: 'spez' },
      { providerAccountId: 'abc12', emailVerified: false, displayName: 'spez' },
    ],
    [
      'facebook',
      { id: '10158', name: 'Mark', email: 'm@fb.com' },
      { providerAccountId: '10158', email: 'm@fb.com', emailVerified: true, displayName: 'Mark' },
    ],
  ] as const)('maps a %s profile', (id, body, expected) => {
    expect(providerCatalog[id].mapProfile(body as Record<string, unknown>)).toEqual(expected);
  });

  it('refuses a profile without an account id', () => {
    expect(() => providerCatalog.github.mapProfile({ login: 'nobody' })).toThrow(/"id"/);
  });
});
