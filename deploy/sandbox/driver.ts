/**
 * A person at the sandbox's consent page, for tests, the benchmark and the docs: open an authorization
 * URL, follow the sandbox's redirects with its cookies, fill in and submit the consent form, and stop at
 * the redirect back to the client. That last redirect is returned, never followed.
 */

export interface ConsentChoice {
  /** Default `sandbox-user`. */
  username?: string;
  /** Default `<username>@<provider>.sandbox.test`. */
  email?: string;
  /** Default true. */
  emailVerified?: boolean;
  /** Default true; false presses Deny. */
  approve?: boolean;
}

/** A bound on redirects: the sandbox needs four, a loop needs more. */
const maxSteps = 10;

/**
 * Returns the URL the sandbox sends the browser to at the client's `redirect_uri`: `code` and `state`
 * on approval, `error=access_denied` and `state` on denial, or whatever error the provider redirects with.
 * Throws when the sandbox answers with an error page instead (an unregistered redirect_uri, an unknown client).
 */
export async function completeConsent(authorizationUrl: string, opts: ConsentChoice = {}): Promise<URL> {
  const start = new URL(authorizationUrl);
  const redirectUri = start.searchParams.get('redirect_uri');
  const isClientRedirect = (target: URL) =>
    redirectUri !== null
      ? `${target.origin}${target.pathname}` === `${new URL(redirectUri).origin}${new URL(redirectUri).pathname}`
      : target.origin !== start.origin;
  const jar = new CookieJar(start.origin);
  let request: { url: URL; init: RequestInit } = { url: start, init: { method: 'GET' } };
  let submitted = false;

  for (let step = 0; step < maxSteps; step++) {
    const headers = new Headers(request.init.headers);
    const cookie = jar.header(request.url);
    if (cookie) headers.set('cookie', cookie);
    const res = await fetch(request.url, { ...request.init, headers, redirect: 'manual' });
    jar.store(res.headers.getSetCookie(), request.url);
    const location = res.headers.get('location');
    if (res.status >= 300 && res.status < 400 && location) {
      await res.body?.cancel();
      const next = new URL(location, request.url);
      if (isClientRedirect(next)) return next;
      request = { url: next, init: { method: 'GET' } };
      continue;
    }
    const html = await res.text();
    const action = res.status === 200 && !submitted ? formAction(html) : undefined;
    if (!action)
      throw new Error(
        `the sandbox answered ${request.init.method} ${request.url.pathname} with ${res.status}: ${pageText(html)}`,
      );
    submitted = true;
    request = {
      url: new URL(action, request.url),
      init: {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: formBody(opts).toString(),
      },
    };
  }
  throw new Error(`the sandbox redirected more than ${maxSteps} times without reaching ${redirectUri ?? 'the client'}`);
}

function formBody(opts: ConsentChoice): URLSearchParams {
  const body = new URLSearchParams({ decision: opts.approve === false ? 'deny' : 'approve' });
  if (opts.username !== undefined) body.set('username', opts.username);
  // Left blank, the page derives the email from the username (as the form's own hint says).
  body.set('email', opts.email ?? '');
  if (opts.emailVerified !== false) body.set('email_verified', 'true');
  return body;
}

function formAction(html: string): string | undefined {
  const form = /<form\b[^>]*\bid="sandbox-consent"[^>]*>/.exec(html)?.[0];
  const action = form && /\baction="([^"]*)"/.exec(form)?.[1];
  return action?.replace(/&#(\d+);/g, (_m, code: string) => String.fromCharCode(Number(code))).replace(/&amp;/g, '&');
}

function pageText(html: string): string {
  return html
    .replace(/<style[\s\S]*?<\/style>/g, '')
    .replace(/<[^>]+>/g, ' ')
    .replace(/&#(\d+);/g, (_m, code: string) => String.fromCharCode(Number(code)))
    .replace(/\s+/g, ' ')
    .trim()
    .slice(0, 300);
}

interface Cookie {
  name: string;
  value: string;
  path: string;
  expiresAt: number | undefined;
}

/** Just enough of RFC 6265 for one origin: names, paths and expiry (oidc-provider scopes its interaction cookies by path). */
class CookieJar {
  readonly #cookies = new Map<string, Cookie>();
  readonly #origin: string;

  constructor(origin: string) {
    this.#origin = origin;
  }

  store(setCookies: string[], from: URL): void {
    if (from.origin !== this.#origin) return;
    for (const line of setCookies) {
      const [pair = '', ...attributes] = line.split(';');
      const eq = pair.indexOf('=');
      if (eq <= 0) continue;
      const cookie: Cookie = {
        name: pair.slice(0, eq).trim(),
        value: pair.slice(eq + 1).trim(),
        path: defaultPath(from),
        expiresAt: undefined,
      };
      for (const attribute of attributes) {
        const [key = '', value = ''] = attribute.split('=').map((s) => s.trim());
        if (/^path$/i.test(key) && value.startsWith('/')) cookie.path = value;
        else if (/^max-age$/i.test(key)) cookie.expiresAt = Date.now() + Number(value) * 1000;
        else if (/^expires$/i.test(key) && cookie.expiresAt === undefined) cookie.expiresAt = Date.parse(value);
      }
      const key = `${cookie.name};${cookie.path}`;
      if (cookie.expiresAt !== undefined && cookie.expiresAt <= Date.now()) this.#cookies.delete(key);
      else this.#cookies.set(key, cookie);
    }
  }

  header(to: URL): string {
    if (to.origin !== this.#origin) return '';
    return [...this.#cookies.values()]
      .filter((c) => (c.expiresAt === undefined || c.expiresAt > Date.now()) && pathMatches(to.pathname, c.path))
      .sort((a, b) => b.path.length - a.path.length)
      .map((c) => `${c.name}=${c.value}`)
      .join('; ');
  }
}

function defaultPath(url: URL): string {
  const last = url.pathname.lastIndexOf('/');
  return last <= 0 ? '/' : url.pathname.slice(0, last);
}

function pathMatches(requestPath: string, cookiePath: string): boolean {
  return (
    requestPath === cookiePath ||
    (requestPath.startsWith(cookiePath) && (cookiePath.endsWith('/') || requestPath[cookiePath.length] === '/'))
  );
}
