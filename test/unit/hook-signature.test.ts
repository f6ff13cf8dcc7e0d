/**
 * `verifySignature` on its own: the header grammar, the 300 s tolerance in both directions, several v1
 * values, hex case, and two secrets during a rotation.
 */
import { describe, expect, it } from 'vitest';
import {
  signatureHeaderValue,
  signatureToleranceSeconds,
  signPayload,
  verifySignature,
} from '../../api/auth/hook-signature.js';

const current = 'current-secret-0123456789abcdef-0123456789';
const previous = 'previous-secret-0123456789abcdef-012345678';
const unknown = 'unknown-secret-0123456789abcdef-0123456789';
const body = JSON.stringify({ user: { user_id: 'auth0|u1', email: 'u1@example.com' }, consents: [] });
const now = 1_900_000_000;

function header(secret: string, t: number, raw = body): string {
  return `t=${t},v1=${signPayload(secret, t, raw)}`;
}

describe('verifySignature', () => {
  it('accepts a fresh signature made with the current secret', () => {
    expect(verifySignature(header(current, now), body, [current, previous], now)).toEqual({ ok: true });
    expect(verifySignature(signatureHeaderValue(current, body, now), body, [current], now)).toEqual({ ok: true });
  });

  it('uses the wall clock when no time is given', () => {
    expect(verifySignature(signatureHeaderValue(current, body), body, [current])).toEqual({ ok: true });
  });

  describe('timestamp tolerance', () => {
    it('is 300 s', () => {
      expect(signatureToleranceSeconds).toBe(300);
    });

    it('accepts a signature exactly 300 s old or 300 s ahead', () => {
      expect(verifySignature(header(current, now - 300), body, [current], now)).toEqual({ ok: true });
      expect(verifySignature(header(current, now + 300), body, [current], now)).toEqual({ ok: true });
    });

    it('refuses a signature 301 s old or 301 s ahead', () => {
      for (const t of [now - 301, now + 301, now - 86_400, 0]) {
        const check = verifySignature(header(current, t), body, [current], now);
        expect(check.ok).toBe(false);
        expect(check).toMatchObject({ reason: expect.stringContaining('tolerance') });
      }
    });

    it('binds the timestamp into the signature: a fresh t on an old signature fails', () => {
      const old = now - 3600;
      const v1 = signPayload(current, old, body);
      expect(verifySignature(`t=${now},v1=${v1}`, body, [current], now)).toMatchObject({
        ok: false,
        reason: expect.stringContaining('does not match'),
      });
    });
  });

  describe('v1 values', () => {
    it('accepts when any of several v1 values matches, in any order', () => {
      const good = signPayload(current, now, body);
      const bad = signPayload(unknown, now, body);
      expect(verifySignature(`t=${now},v1=${bad},v1=${good}`, body, [current], now)).toEqual({ ok: true });
      expect(verifySignature(`t=${now},v1=${good},v1=${bad}`, body, [current], now)).toEqual({ ok: true });
      expect(verifySignature(`v1=${bad}, v1=${good}, t=${now}`, body, [current], now)).toEqual({ ok: true });
    });

    it('refuses when none of several v1 values matches', () => {
      const bad1 = signPayload(unknown, now, body);
      const bad2 = signPayload(current, now, `${body} `);
      expect(verifySignature(`t=${now},v1=${bad1},v1=${bad2}`, body, [current, previous], now)).toMatchObject({
        ok: false,
      });
    });

    it('accepts upper-case hex', () => {
      const upper = signPayload(current, now, body).toUpperCase();
      expect(verifySignature(`t=${now},v1=${upper}`, body, [current], now)).toEqual({ ok: true });
    });

    it('refuses a v1 of the wrong length, even when it is a prefix or extension of the right one', () => {
      const good = signPayload(current, now, body);
      for (const v1 of [good.slice(0, 63), good.slice(0, 62), `${good}0`, `${good}00`, good.slice(0, 32), '']) {
        const check = verifySignature(`t=${now},v1=${v1}`, body, [current], now);
        expect(check.ok, `v1 of length ${v1.length}`).toBe(false);
      }
    });

    it('refuses a v1 that is not hex', () => {
      const good = signPayload(current, now, body);
      expect(verifySignature(`t=${now},v1=${good.slice(0, 63)}g`, body, [current], now).ok).toBe(false);
      expect(
        verifySignature(`t=${now},v1=${Buffer.from(good, 'hex').toString('base64')}`, body, [current], now).ok,
      ).toBe(false);
    });

    it('ignores other schemes (v0) carrying a valid-looking value', () => {
      const good = signPayload(current, now, body);
      expect(verifySignature(`t=${now},v0=${good}`, body, [current], now)).toMatchObject({
        ok: false,
        reason: expect.stringContaining('form'),
      });
    });
  });

  describe('secret rotation', () => {
    it('accepts the previous secret while both are configured', () => {
      expect(verifySignature(header(previous, now), body, [current, previous], now)).toEqual({ ok: true });
    });

    it('refuses the previous secret once it is dropped', () => {
      expect(verifySignature(header(previous, now), body, [current], now)).toMatchObject({
        ok: false,
        reason: expect.stringContaining('does not match'),
      });
    });

    it('refuses a secret that was never configured', () => {
      expect(verifySignature(header(unknown, now), body, [current, previous], now).ok).toBe(false);
    });

    it('refuses everything when no secret is configured', () => {
      expect(verifySignature(header(current, now), body, [], now).ok).toBe(false);
    });
  });

  describe('body binding', () => {
    it('refuses a signature over a different body, even one byte', () => {
      expect(verifySignature(header(current, now), `${body} `, [current], now).ok).toBe(false);
      expect(verifySignature(header(current, now), body.replace('u1@', 'u2@'), [current], now).ok).toBe(false);
      expect(verifySignature(header(current, now, ''), body, [current], now).ok).toBe(false);
    });

    it('signs the raw bytes: re-serialised JSON with the same meaning does not verify', () => {
      const pretty = JSON.stringify(JSON.parse(body), null, 2);
      expect(verifySignature(header(current, now), pretty, [current], now).ok).toBe(false);
    });
  });

  describe('malformed headers', () => {
    const good = signPayload(current, now, body);
    it.each([
      ['missing', undefined, 'missing'],
      ['empty', '', 'missing'],
      ['garbage', 'garbage', 'form'],
      ['no timestamp', `v1=${good}`, 'form'],
      ['no signature', `t=${now}`, 'form'],
      ['non-numeric timestamp', `t=now,v1=${good}`, 'form'],
      ['negative timestamp', `t=-${now},v1=${good}`, 'form'],
      ['fractional timestamp', `t=${now}.5,v1=${good}`, 'form'],
    ])('refuses a %s header', (_name, value, reason) => {
      const check = verifySignature(value, body, [current], now);
      expect(check).toMatchObject({ ok: false, reason: expect.stringContaining(reason) });
    });

    it('never puts the secret or the expected signature in the reason', () => {
      const check = verifySignature(`t=${now},v1=${'0'.repeat(64)}`, body, [current], now);
      expect(check.ok).toBe(false);
      const text = JSON.stringify(check);
      expect(text).not.toContain(current);
      expect(text).not.toContain(good);
    });
  });
});
