/**
 * `LINK_CLIENT_REDIRECT_URIS`: the redirect URIs of apps and single-page clients that receive a provider's
 * answer themselves and finish the link with `POST /v1/me/providers/{p}/link/complete` under their bearer
 * token. A JSON object `{"<client_id>": ["https://app.example/cb", …]}`; a link may only name a URI
 * registered for the client its token was issued to, compared exactly (RFC 9700 §4.1.3).
 */

export type LinkClientRedirectUris = Record<string, string[]>;

function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '[::1]' || /^127(\.\d{1,3}){3}$/.test(host);
}

/** Parse and check `LINK_CLIENT_REDIRECT_URIS`; every problem names the variable, the client and the URI. */
export function parseLinkClientRedirectUris(
  raw: string | undefined,
  production: boolean,
): { value: LinkClientRedirectUris; problems: string[] } {
  return parseClientRedirectUris('LINK_CLIENT_REDIRECT_URIS', raw, production);
}

/** The same form for any variable that registers OAuth clients' redirect URIs (`EMBEDDED_OIDC_CLIENTS` too). */
export function parseClientRedirectUris(
  variable: string,
  raw: string | undefined,
  production: boolean,
): { value: LinkClientRedirectUris; problems: string[] } {
  if (raw === undefined) return { value: {}, problems: [] };
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    return {
      value: {},
      problems: [`${variable}: a JSON object {"<client_id>": ["https://app.example/callback", …]} (not valid JSON)`],
    };
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) {
    return { value: {}, problems: [`${variable}: a JSON object {"<client_id>": ["https://app.example/callback", …]}`] };
  }
  const problems: string[] = [];
  const value: LinkClientRedirectUris = {};
  for (const [clientId, uris] of Object.entries(parsed)) {
    if (!/^[\w.:@|-]{1,128}$/.test(clientId))
      problems.push(`${variable}: "${clientId}" is not a client id (letters, digits and . _ : @ | -)`);
    if (!Array.isArray(uris) || uris.length === 0 || !uris.every((u) => typeof u === 'string')) {
      problems.push(`${variable}: client "${clientId}" needs a non-empty array of redirect URIs`);
      continue;
    }
    for (const uri of uris as string[]) {
      let url: URL;
      try {
        url = new URL(uri);
      } catch {
        problems.push(`${variable}: client "${clientId}": "${uri}" is not an absolute URL`);
        continue;
      }
      // RFC 9700 §2.1 / RFC 8252 §7.3: https, or http on a loopback address for native apps during development.
      const https = url.protocol === 'https:';
      const loopbackHttp = url.protocol === 'http:' && isLoopbackHost(url.hostname);
      if (production && !https)
        problems.push(`${variable}: client "${clientId}": "${uri}" must use https in production`);
      else if (!https && !loopbackHttp)
        problems.push(
          `${variable}: client "${clientId}": "${uri}" must use https (or http on a loopback address outside production)`,
        );
      if (url.hash) problems.push(`${variable}: client "${clientId}": "${uri}" must not have a fragment`);
      if (url.username || url.password)
        problems.push(`${variable}: client "${clientId}": "${uri}" must not carry credentials`);
    }
    value[clientId] = uris as string[];
  }
  return { value, problems };
}
