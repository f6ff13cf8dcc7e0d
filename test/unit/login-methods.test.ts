import { describe, expect, it } from 'vitest';
import type { ConnectedProviderNode } from '../../domain/account-center.js';
import { isLastLoginMethod, rootLoginProvider } from '../../domain/login-methods.js';

type Node = Pick<ConnectedProviderNode, 'provider' | 'status' | 'directoryLinked'>;
const account = (subject: string, nodes: Node[]) => ({ rootIdentity: { subject }, connected_providers: { nodes } });

describe('login methods', () => {
  it('reads the root identity’s login method from its subject', () => {
    expect(rootLoginProvider('auth0|abc')).toBeUndefined();
    expect(rootLoginProvider('email|abc')).toBeUndefined();
    expect(rootLoginProvider('google-oauth2|1098')).toBe('google');
    expect(rootLoginProvider('windowslive|ms-1')).toBe('microsoft');
    expect(rootLoginProvider('twitter|42')).toBe('x');
    expect(rootLoginProvider('github|583231')).toBe('github');
    expect(rootLoginProvider('oauth2|coderabbit|cr-7')).toBe('coderabbit');
    expect(rootLoginProvider('oauth2|someone-else|1')).toBeUndefined();
  });

  it('calls a provider the last way in only when it is the root’s own and no other active, directory-linked connection remains', () => {
    const github: Node = { provider: 'github', status: 'active', directoryLinked: true };
    expect(isLastLoginMethod(account('auth0|abc', [github]), 'github')).toBe(false);
    expect(isLastLoginMethod(account('github|1', [github]), 'github')).toBe(true);
    expect(
      isLastLoginMethod(
        account('github|1', [github, { provider: 'google', status: 'active', directoryLinked: true }]),
        'github',
      ),
    ).toBe(false);
    // Connections that cannot sign the person in do not count.
    expect(
      isLastLoginMethod(
        account('github|1', [github, { provider: 'google', status: 'active', directoryLinked: false }]),
        'github',
      ),
    ).toBe(true);
    expect(
      isLastLoginMethod(
        account('github|1', [github, { provider: 'google', status: 'reauth_required', directoryLinked: true }]),
        'github',
      ),
    ).toBe(true);
    expect(
      isLastLoginMethod(
        account('github|1', [github, { provider: 'google', status: 'disconnected', directoryLinked: true }]),
        'github',
      ),
    ).toBe(true);
    expect(
      isLastLoginMethod(
        account('github|1', [github, { provider: 'google', status: 'active', directoryLinked: true }]),
        'google',
      ),
    ).toBe(false);
  });
});
