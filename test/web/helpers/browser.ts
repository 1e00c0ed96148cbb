// Real headless Chromium for the web client's tests: Debian's /usr/bin/chromium driven by
// playwright-core (never a downloaded browser). Each user gets its own browser context, so two
// users are as separate as two people on two machines: own cookies, own storage.
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { chromium, type Browser, type BrowserContext, type BrowserContextOptions, type Page } from 'playwright-core';
import { ROOT } from '../../helpers/server.js';

export const CHROMIUM = process.env.PARLEY_CHROMIUM ?? '/usr/bin/chromium';
/** Screenshots for people to look at (gitignored). */
export const SCREENSHOTS = join(ROOT, 'test-output', 'web');

export async function launchBrowser(t: TestContext): Promise<Browser> {
  const browser = await chromium.launch({ executablePath: CHROMIUM });
  t.after(() => browser.close());
  return browser;
}

export interface UserPage {
  context: BrowserContext;
  page: Page;
  /** Uncaught exceptions and Content-Security-Policy violations seen so far. */
  problems: string[];
}

export interface OpenOptions extends BrowserContextOptions {
  /** Runs before any of the page's own scripts (e.g. to take EventSource away). */
  initScript?: () => void;
  /** Runs on the new context before the page loads (e.g. to route requests). */
  beforeLoad?: (context: BrowserContext) => Promise<unknown>;
}

/** A fresh browser context on Parley's page, not logged in. */
export async function openPage(browser: Browser, baseUrl: string, options: OpenOptions = {}): Promise<UserPage> {
  const { initScript, beforeLoad, ...contextOptions } = options;
  const context = await browser.newContext({ baseURL: baseUrl, ...contextOptions });
  if (initScript) await context.addInitScript(initScript);
  if (beforeLoad) await beforeLoad(context);
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('console', (message) => {
    if (/Content[- ]Security[- ]Policy/i.test(message.text())) problems.push(`CSP: ${message.text()}`);
  });
  await page.goto('/');
  return { context, page, problems };
}

/** A fresh browser context logged in as `username`, with the chat loaded and live. */
export async function openChat(
  browser: Browser,
  baseUrl: string,
  username: string,
  options: OpenOptions = {},
): Promise<UserPage> {
  const user = await openPage(browser, baseUrl, options);
  await logIn(user.page, username);
  return user;
}

export async function logIn(page: Page, username: string): Promise<void> {
  await page.getByLabel('Your name').fill(username);
  await page.getByRole('button', { name: 'Join the chat' }).click();
  await waitUntilLive(page);
}

export async function waitUntilLive(page: Page): Promise<void> {
  await page.locator('.status[data-status="connected"]').waitFor();
  await page.locator('.placeholder', { hasText: 'Loading messages' }).waitFor({ state: 'detached' });
}

export function composer(page: Page) {
  return page.locator('#composer-text');
}

/** Types into the composer and presses Enter, like a person. */
export async function send(page: Page, text: string): Promise<void> {
  await composer(page).fill(text);
  await composer(page).press('Enter');
}

/** The list row of the message whose text contains `text`. */
export function row(page: Page, text: string) {
  return page.locator('li.msg', { hasText: text });
}

/** The texts of all rows, top to bottom. */
export function rowTexts(page: Page): Promise<string[]> {
  return page.locator('li.msg .text').allTextContents();
}

export function assertNoProblems(user: UserPage): void {
  assert.deepEqual(user.problems, []);
}

export function screenshotPath(name: string): string {
  mkdirSync(SCREENSHOTS, { recursive: true });
  return join(SCREENSHOTS, `${name}.png`);
}

/** Makes the page believe its tab went to the background (or came back), as a browser would. */
export async function setTabHidden(page: Page, isHidden: boolean): Promise<void> {
  await page.evaluate((hidden) => {
    Object.defineProperty(document, 'visibilityState', { value: hidden ? 'hidden' : 'visible', configurable: true });
    Object.defineProperty(document, 'hidden', { value: hidden, configurable: true });
    document.dispatchEvent(new Event('visibilitychange'));
  }, isHidden);
}
