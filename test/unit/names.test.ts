/** Person-facing names: what `personName` refuses (and says why) and what it keeps. */
import { describe, expect, it } from 'vitest';
import { nameProblem, personName, personNameOrBlank } from '../../domain/names.js';

const messages = (value: unknown, schema = personName(100)) => {
  const result = schema.safeParse(value);
  return result.success ? [] : result.error.issues.map((i) => i.message);
};

describe('personName', () => {
  it.each([
    ['NUL', 'Ada\u0000Lovelace', 'The name must not contain control characters (found U+0000, a NUL).'],
    [
      'ESC of an ANSI colour',
      '\u001b[31mAda',
      'The name must not contain control characters (found U+001B, an escape).',
    ],
    ['a line break', 'Ada\nLovelace', 'The name must not contain control characters (found U+000A).'],
    ['DEL', 'Ada\u007f', 'The name must not contain control characters (found U+007F).'],
    ['a C1 control (CSI)', 'Ada\u009b', 'The name must not contain control characters (found U+009B).'],
    ...['\u202a', '\u202b', '\u202c', '\u202d', '\u202e', '\u2066', '\u2067', '\u2068', '\u2069'].map(
      (ch) =>
        [
          `U+${ch.codePointAt(0)!.toString(16).toUpperCase()}`,
          `Ada${ch}Lovelace`,
          `The name must not contain bidirectional override or isolate characters (found U+${ch.codePointAt(0)!.toString(16).toUpperCase()}).`,
        ] as [string, string, string],
    ),
    ...['\u200b', '\u200c', '\u200d', '\u2060', '\ufeff', '\u200b \u2060'].map(
      (v) =>
        [`only ${JSON.stringify(v)}`, v, 'The name must contain visible characters, not only zero-width ones.'] as [
          string,
          string,
          string,
        ],
    ),
    ['nothing', '', 'The name must not be empty.'],
    ['only spaces', '   ', 'The name must not be empty.'],
  ])('refuses %s', (_what, value, message) => {
    expect(messages(value)).toEqual([message]);
  });

  it('refuses names over the limit, counted after trimming', () => {
    expect(messages('x'.repeat(11), personName(10))).toEqual(['The name is longer than 10 characters.']);
    expect(personName(10).parse(`  ${'x'.repeat(10)}  `)).toBe('x'.repeat(10));
  });

  it.each(['Ada', 'Zoë', 'Nguyễn Thị', 'أحمد', '李小龍', 'श्री\u200dमती', "O'Brien-Smith", 'Ada 👩\u200d💻'])(
    'keeps %s',
    (value) => {
      expect(personName(100).parse(value)).toBe(value);
    },
  );

  it('trims what it keeps', () => {
    expect(personName(100).parse('  Ada  ')).toBe('Ada');
  });

  it('refuses what is not a string', () => {
    expect(personName(100).safeParse(42).success).toBe(false);
  });
});

describe('personNameOrBlank (a blank name means "not given")', () => {
  it('keeps a blank as empty, and refuses the same hidden characters', () => {
    expect(personNameOrBlank(100).parse('  ')).toBe('');
    expect(messages('\u200b', personNameOrBlank(100))).toEqual([
      'The name must contain visible characters, not only zero-width ones.',
    ]);
    expect(messages('Ada\u202e', personNameOrBlank(100))).toHaveLength(1);
  });
});

describe('nameProblem', () => {
  it('says nothing about a good name', () => {
    expect(nameProblem('Grace Hopper')).toBeUndefined();
  });
});
