import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { requireAvailable } from '../../helpers/tools.js';

/** Debian's chromium (scripts/install-tools.sh). */
export const CHROMIUM = '/usr/bin/chromium';
export const SCREENSHOTS = join('test-artifacts', 'ui');
export const VIEWPORTS = { laptop: { width: 1280, height: 800 }, tablet: { width: 820, height: 1180 } } as const;

/** True when Chromium is here; fails under CI=true, skips loudly otherwise (test/helpers/tools.ts). */
export const haveChromium = (): boolean => requireAvailable(`Chromium at ${CHROMIUM}`, existsSync(CHROMIUM));

export const launchChromium = (): Promise<Browser> =>
  chromium.launch({ executablePath: CHROMIUM, headless: true, args: process.getuid?.() === 0 ? ['--no-sandbox'] : [] });

/** What went wrong while a page was open: console errors, uncaught exceptions, failed requests and 4xx/5xx answers. */
export interface PageProblems {
  console: string[];
  failed: string[];
}

/**
 * A page that records its problems. A request cut because the page went away (the live stream
 * of a job page at navigation) is not a failure; anything else is.
 */
export const watchedPage = async (context: BrowserContext): Promise<{ page: Page; problems: PageProblems }> => {
  const page = await context.newPage();
  const problems: PageProblems = { console: [], failed: [] };
  page.on('console', (m) => {
    if (m.type() === 'error') problems.console.push(m.text());
  });
  page.on('pageerror', (e) => problems.console.push(`uncaught: ${e.message}`));
  page.on('requestfailed', (r) => {
    if (r.failure()?.errorText !== 'net::ERR_ABORTED') problems.failed.push(`${r.method()} ${r.url()}: ${r.failure()?.errorText}`);
  });
  page.on('response', (r) => {
    if (r.status() >= 400) problems.failed.push(`${r.request().method()} ${r.url()}: ${r.status()}`);
  });
  return { page, problems };
};

const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: { target: string[] }[];
}

/** axe-core injected into the page: its serious and critical violations, as readable lines. */
export const seriousViolations = async (page: Page): Promise<string[]> => {
  // Evaluated through the DevTools protocol, not as an inline script, which the UI's CSP refuses.
  await page.evaluate(axeSource);
  // A string: the test code is compiled without the DOM's types; this runs in the page.
  const violations = (await page.evaluate("axe.run(document, { resultTypes: ['violations'] }).then((r) => r.violations)")) as AxeViolation[];
  return violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.impact} ${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).slice(0, 3).join(', ')})`);
};

/** Saves a full-page screenshot under test-artifacts/ui/ (gitignored); returns its path. */
export const screenshot = async (page: Page, name: string): Promise<string> => {
  mkdirSync(SCREENSHOTS, { recursive: true });
  const path = join(SCREENSHOTS, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
};

/** Resolves once ui.js has shown every <time> in the browser's zone (the page's script has run). */
export const timesLocalised = (page: Page) =>
  page.waitForFunction("[...document.querySelectorAll('time[datetime]')].every((t) => t.dataset.local === '1')");
