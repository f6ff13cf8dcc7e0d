/** `LINK_CLIENT_REDIRECT_URIS`: checked at start, every problem named. */
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../domain/config.js';
import { parseLinkClientRedirectUris } from '../../domain/link-clients.js';

describe('LINK_CLIENT_REDIRECT_URIS', () => {
  it('is empty when unset, and keeps each client’s URIs as given', () => {
    expect(parseLinkClientRedirectUris(undefined, false)).toEqual({ value: {}, problems: [] });
    const raw = JSON.stringify({
      'cra-cli': ['http://127.0.0.1:8765/cb', 'https://app.example/cb'],
      'mobile-app': ['https://m.example/cb'],
    });
    expect(parseLinkClientRedirectUris(raw, false)).toEqual({ value: JSON.parse(raw), problems: [] });
    expect(loadConfig({ LINK_CLIENT_REDIRECT_URIS: raw }).link).toEqual({ clientRedirectUris: JSON.parse(raw) });
  });

  it('names the variable, the client and the URI for each problem', () => {
    expect(parseLinkClientRedirectUris('{nope', false).problems).toEqual([
      expect.stringMatching(/^LINK_CLIENT_REDIRECT_URIS: a JSON object .* \(not valid JSON\)$/),
    ]);
    expect(parseLinkClientRedirectUris('["https://a.example/cb"]', false).problems).toHaveLength(1);
    const { problems } = parseLinkClientRedirectUris(
      JSON.stringify({
        empty: [],
        notUrl: ['cb'],
        plainHttp: ['http://app.example/cb'],
        fragment: ['https://a.example/cb#x'],
        creds: ['https://u:p@a.example/cb'],
      }),
      false,
    );
    expect(problems).toEqual([
      'LINK_CLIENT_REDIRECT_URIS: client "empty" needs a non-empty array of redirect URIs',
      'LINK_CLIENT_REDIRECT_URIS: client "notUrl": "cb" is not an absolute URL',
      'LINK_CLIENT_REDIRECT_URIS: client "plainHttp": "http://app.example/cb" must use https (or http on a loopback address outside production)',
      'LINK_CLIENT_REDIRECT_URIS: client "fragment": "https://a.example/cb#x" must not have a fragment',
      'LINK_CLIENT_REDIRECT_URIS: client "creds": "https://u:p@a.example/cb" must not carry credentials',
    ]);
  });

  it('allows only https in production, loopback http included', () => {
    expect(parseLinkClientRedirectUris(JSON.stringify({ app: ['http://127.0.0.1:8765/cb'] }), true).problems).toEqual([
      'LINK_CLIENT_REDIRECT_URIS: client "app": "http://127.0.0.1:8765/cb" must use https in production',
    ]);
    expect(() => loadConfig({ LINK_CLIENT_REDIRECT_URIS: '{"app": ["ftp://x"]}' })).toThrow(ConfigError);
  });
});
