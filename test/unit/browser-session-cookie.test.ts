/** The account center's session cookie, as a browser receives it over https and on a plain-http laptop. */
import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import {
  clearBrowserSessionCookie,
  csrfTokenMatches,
  sessionCookieSpec,
  setBrowserSessionCookie,
} from '../../api/session/browser-session.js';

async function setCookieFor(publicUrl: string, clear = false): Promise<string> {
  const app = new Hono().get('/', (c) => {
    if (clear) clearBrowserSessionCookie(c, publicUrl);
    else setBrowserSessionCookie(c, publicUrl, 'x'.repeat(43));
    return c.body(null, 204);
  });
  const res = await app.request('/');
  return res.headers.get('set-cookie') ?? '';
}

describe('the session cookie', () => {
  it('is a __Host- cookie over https: Secure, Path=/, no Domain, HttpOnly, SameSite=Lax', async () => {
    expect(sessionCookieSpec('https://cra.example.com')).toEqual({ name: '__Host-cra_session', secure: true });
    const header = await setCookieFor('https://cra.example.com');
    expect(header).toMatch(/^__Host-cra_session=x{43};/);
    expect(header).toMatch(/; Secure/);
    expect(header).toMatch(/; Path=\//);
    expect(header).toMatch(/; HttpOnly/);
    expect(header).toMatch(/; SameSite=Lax/);
    expect(header).not.toMatch(/Domain=/i);
  });

  it('drops Secure and the prefix only on plain http (a laptop on localhost), and is still HttpOnly and Lax', async () => {
    expect(sessionCookieSpec('http://localhost:3000')).toEqual({ name: 'cra_session', secure: false });
    const header = await setCookieFor('http://localhost:3000');
    expect(header).toMatch(/^cra_session=/);
    expect(header).not.toMatch(/Secure/);
    expect(header).toMatch(/; HttpOnly/);
    expect(header).toMatch(/; SameSite=Lax/);
  });

  it('is cleared with the same name and path', async () => {
    expect(await setCookieFor('https://cra.example.com', true)).toMatch(/^__Host-cra_session=;.*Max-Age=0/);
  });

  it("accepts a form only with the session's own CSRF token", () => {
    const session = { csrfToken: 'the-token-of-this-session-0123456789' };
    expect(csrfTokenMatches(session, 'the-token-of-this-session-0123456789')).toBe(true);
    expect(csrfTokenMatches(session, 'the-token-of-another-session-012345')).toBe(false);
    expect(csrfTokenMatches(session, undefined)).toBe(false);
    expect(csrfTokenMatches(session, ['the-token-of-this-session-0123456789'])).toBe(false);
  });
});
