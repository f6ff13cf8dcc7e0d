/**
 * The notices: every template a sender names is one a feature registered (activities/notices.ts), and the
 * notifier's renderer refuses what nobody registered, or a name two features both claim.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { noticeTemplates } from '../../activities/notices.js';
import { combineNoticeTemplates, noticeRenderer } from '../../activities/notify/templates.js';

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return /\.tsx?$/.test(entry.name) ? [path] : [];
  });
}

describe('notice templates', () => {
  it('has a template for every notice the code sends', () => {
    const named = new Set<string>();
    for (const file of ['activities', 'api', 'ui', 'workflows'].flatMap(sourceFiles)) {
      for (const [, name] of readFileSync(file, 'utf8').matchAll(/\btemplate: '([a-z0-9-]+)'/g)) named.add(name!);
    }
    expect([...named]).toEqual(
      expect.arrayContaining(['welcome', 'provider-linked', 'recovery-code', 'email-verification']),
    );
    expect([...named].filter((name) => !Object.hasOwn(noticeTemplates, name))).toEqual([]);
  });

  it('renders a registered notice and refuses an unknown one', () => {
    const render = noticeRenderer(noticeTemplates);
    expect(render('welcome', { givenName: 'Grace' })).toMatchObject({
      subject: 'Welcome to your account center',
      body: expect.stringContaining('Hello Grace,'),
    });
    expect(() => render('no-such-notice', undefined)).toThrow('unknown notice template "no-such-notice"');
    expect(() => render('toString', undefined)).toThrow('unknown notice template "toString"');
  });

  it('refuses a template name two features both declare', () => {
    const notice = () => ({ subject: 's', body: 'b' });
    expect(() => combineNoticeTemplates({ welcome: notice }, { welcome: notice })).toThrow(
      'notice template "welcome" is declared twice',
    );
  });
});
