/**
 * The secret scan's own check (test/support/secret-scan.ts): a value is found in clear, and inside the base64 or
 * base64url of a longer text wherever it starts; key material in hex and base64; a short code only where it
 * stands alone. A scan that missed these would pass a leaking run.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { scanForSecrets, SecretCatalog } from '../support/secret-scan.js';

const token = randomBytes(32).toString('base64url');

function catalogOf(add: (c: SecretCatalog) => void): SecretCatalog {
  const catalog = new SecretCatalog();
  add(catalog);
  return catalog;
}

describe('scanForSecrets', () => {
  it('finds a value in clear and inside base64 and base64url at every offset', () => {
    const catalog = catalogOf((c) => c.add('token', token));
    for (const prefix of ['', 'a', 'ab', 'abc', '{"accessToken":"']) {
      const wrapped = Buffer.from(`${prefix}${token}","more":"after"}`);
      for (const [form, text] of [
        ['clear', `log line ${prefix}${token} end`],
        ['base64', wrapped.toString('base64')],
        ['base64url', wrapped.toString('base64url')],
      ] as const) {
        const forms = scanForSecrets(catalog, [{ source: 'text', text }]).map((f) => f.form);
        // A slice with neither '+' nor '/' reads the same in both alphabets: it is reported once, as base64.
        const expected = form === 'clear' ? ['clear'] : ['base64', 'base64url'];
        expect(
          forms.some((f) => expected.includes(f)),
          `${form} after "${prefix}": ${forms.join()}`,
        ).toBe(true);
      }
    }
  });

  it('finds key material in hex and base64, and says which without printing it', () => {
    const key = randomBytes(32);
    const catalog = catalogOf((c) => c.addKey('data key', key));
    const found = scanForSecrets(catalog, [
      { source: 'hex', text: `k=${key.toString('hex')}` },
      { source: 'b64', text: `{"key":"${key.toString('base64')}"}` },
    ]);
    expect(found.map((f) => [f.source, f.form])).toEqual([
      ['hex', 'hex'],
      ['b64', 'base64'],
    ]);
    for (const f of found) expect(f.preview).toHaveLength(5);
  });

  it('finds a short code only where it stands alone', () => {
    const catalog = catalogOf((c) => c.add('code', '482913'));
    expect(scanForSecrets(catalog, [{ source: 'a', text: '"time":17964829130012' }])).toEqual([]);
    expect(scanForSecrets(catalog, [{ source: 'b', text: '{"code":"482913"}' }])).toHaveLength(1);
  });

  it('finds nothing in a text without the values', () => {
    const catalog = catalogOf((c) => {
      c.add('token', token);
      c.addKey('key', randomBytes(32));
    });
    const text = Buffer.from(randomBytes(4096)).toString('base64');
    expect(scanForSecrets(catalog, [{ source: 'noise', text }])).toEqual([]);
  });
});
