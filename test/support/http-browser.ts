/**
 * A browser without a page: plain HTTP with a cookie jar, following redirects as a browser does (a 303, 302 or
 * 301 becomes a GET), and keeping every URL it went through. For tests that walk a sign-in over real HTTP and
 * need what passed in the redirects (codes, state) and the cookies, without the cost of Chromium. One host only:
 * the jar ignores domains and paths.
 */
export class HttpBrowser {
  /** Cookie name → value, as the server set them. */
  readonly cookies = new Map<string, string>();
  /** Every URL requested, in order, redirects included. */
  readonly visited: URL[] = [];

  /** One request, its redirect not followed; the cookies it sets are kept. */
  async request(url: string | URL, init: { method?: string; form?: Record<string, string> } = {}): Promise<Response> {
    const target = new URL(url);
    this.visited.push(target);
    const headers: Record<string, string> = {};
    if (this.cookies.size > 0) headers.cookie = [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ');
    let body: string | undefined;
    if (init.form) {
      body = new URLSearchParams(init.form).toString();
      headers['content-type'] = 'application/x-www-form-urlencoded';
    }
    const res = await fetch(target, {
      method: init.method ?? (body ? 'POST' : 'GET'),
      headers,
      redirect: 'manual',
      ...(body !== undefined ? { body } : {}),
    });
    for (const line of res.headers.getSetCookie()) {
      const [pair, ...attributes] = line.split(';');
      const at = pair!.indexOf('=');
      const name = pair!.slice(0, at).trim();
      const value = pair!.slice(at + 1).trim();
      const expired = attributes.some(
        (a) => /^\s*max-age=0\s*$/i.test(a) || (/^\s*expires=/i.test(a) && Date.parse(a.split('=')[1]!) < Date.now()),
      );
      if (expired || value === '') this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    return res;
  }

  /** A request and the redirects after it, to the page they end on (its body read). */
  async open(
    url: string | URL,
    init: { method?: string; form?: Record<string, string> } = {},
  ): Promise<{ url: URL; status: number; html: string }> {
    let current = new URL(url);
    let res = await this.request(current, init);
    for (let hops = 0; res.status >= 300 && res.status < 400; hops++) {
      if (hops > 20) throw new Error(`more than 20 redirects from ${String(url)}`);
      await res.arrayBuffer();
      current = new URL(res.headers.get('location')!, current);
      res = await this.request(current);
    }
    return { url: current, status: res.status, html: await res.text() };
  }
}

/** The value of a form field in a page (`name="…" value="…"`, either order). */
export function fieldValue(html: string, name: string): string | undefined {
  for (const input of html.match(/<input\b[^>]*>/g) ?? []) {
    if (!new RegExp(`\\bname="${name}"`).test(input)) continue;
    return /\bvalue="([^"]*)"/.exec(input)?.[1];
  }
  return undefined;
}
