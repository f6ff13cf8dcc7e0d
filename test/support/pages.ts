/**
 * What every page test checks of every page it opens: axe-core finds no serious or critical WCAG 2.1 A/AA
 * violation, and a full-page screenshot is saved under `test-results/screenshots/` for review. axe runs
 * through the DevTools protocol (`page.evaluate`), which the pages' CSP (no inline script) does not block.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { expect } from 'vitest';

const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
export const screenshotDir = path.resolve('test-results', 'screenshots');

interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: { target: string[] }[];
}

/** The serious and critical violations on the page as it is now. */
export async function accessibilityViolations(page: Page): Promise<AxeViolation[]> {
  // Expressions, not functions: the tests compile without the DOM's types.
  if (!(await page.evaluate<boolean>('typeof window.axe === "object"'))) await page.evaluate(axeSource);
  const options = {
    runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] },
    resultTypes: ['violations'],
  };
  const violations = await page.evaluate<unknown>(
    `window.axe.run(document, ${JSON.stringify(options)}).then((r) => r.violations)`,
  );
  return (violations as AxeViolation[]).filter((v) => v.impact === 'serious' || v.impact === 'critical');
}

/** axe-core on the page (no serious or critical violation), then a screenshot named `name`. */
export async function checkPage(page: Page, name: string): Promise<void> {
  const violations = await accessibilityViolations(page);
  expect(
    violations.map((v) => `${v.impact} ${v.id}: ${v.help} at ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`),
    `accessibility of ${name} (${page.url()})`,
  ).toEqual([]);
  mkdirSync(screenshotDir, { recursive: true });
  await page.screenshot({ path: path.join(screenshotDir, `${name}.png`), fullPage: true });
}
