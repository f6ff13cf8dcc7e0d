/**
 * Names people give (their own, an agent's, a device's label): shown to support, in notices and in the
 * console, so they must not carry what could hide or disguise text there — control characters (NUL, ESC
 * of ANSI escape sequences), bidirectional overrides and isolates (Trojan-Source style reordering), or
 * nothing visible but zero-width characters.
 */
import { z } from 'zod';

/** C0 controls (NUL, ESC, tab, line breaks …), DEL and C1 controls. */
// eslint-disable-next-line no-control-regex -- finding control characters is the point
const controlCharacter = /[\u0000-\u001f\u007f-\u009f]/u;
/** Embeddings and overrides (U+202A–U+202E) and isolates (U+2066–U+2069). */
const bidiControl = /[\u202a-\u202e\u2066-\u2069]/u;
/** Zero-width space, non-joiner, joiner, word joiner, BOM. */
const zeroWidth = /[\u200b-\u200d\u2060\ufeff]/u;
const zeroWidths = /[\u200b-\u200d\u2060\ufeff]/gu;

const hex = (ch: string) => `U+${ch.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;

/** What is wrong with a name, in words for the caller, or undefined when it may be stored. */
export function nameProblem(value: string, opts: { blankAllowed?: boolean } = {}): string | undefined {
  const control = controlCharacter.exec(value);
  if (control)
    return `must not contain control characters (found ${hex(control[0])}${control[0] === '\u001b' ? ', an escape' : control[0] === '\u0000' ? ', a NUL' : ''})`;
  const bidi = bidiControl.exec(value);
  if (bidi) return `must not contain bidirectional override or isolate characters (found ${hex(bidi[0])})`;
  if (value.replace(zeroWidths, '').trim() === '') {
    if (zeroWidth.test(value)) return 'must contain visible characters, not only zero-width ones';
    if (!opts.blankAllowed) return 'must not be empty';
  }
  return undefined;
}

/** What `String.prototype.trim` removes (ECMAScript WhiteSpace and LineTerminator), spelled out for any regex engine. */
const trimmed = '\\t\\n\\v\\f\\r \\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000\\ufeff';
const forbidden = '\\u0000-\\u001f\\u007f-\\u009f\\u202a-\\u202e\\u2066-\\u2069';
const invisible = '\\u200b-\\u200d\\u2060\\ufeff';
/**
 * `nameProblem` as a JSON Schema pattern for the OpenAPI document, so clients (and the API fuzzer) know
 * which names are accepted: no forbidden character, and one visible character at least (or none at all).
 */
const namePattern = (blankAllowed: boolean) =>
  blankAllowed ? `^[^${forbidden}]*$` : `^[^${forbidden}]*[^${forbidden}${trimmed}${invisible}][^${forbidden}]*$`;

function nameSchema(max: number, opts: { blankAllowed?: boolean }) {
  return z
    .string()
    .superRefine((value, ctx) => {
      const why = nameProblem(value, opts);
      if (why) ctx.addIssue({ code: 'custom', message: `The name ${why}.`, input: value });
    })
    .trim()
    .max(max, `The name is longer than ${max} characters.`)
    .meta({ pattern: namePattern(opts.blankAllowed ?? false) });
}

/**
 * A person-facing name: at most `max` characters after trimming, with something visible in it and no
 * control, bidi-override or isolate characters. Use it for every name CRA accepts.
 */
export function personName(max = 100) {
  return nameSchema(max, {});
}

/** The same for sources where a blank name means "not given" (Auth0's `given_name`): blank passes as `''`. */
export function personNameOrBlank(max = 100) {
  return nameSchema(max, { blankAllowed: true });
}
