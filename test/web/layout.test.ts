// How the page looks and fits: no sideways scrolling on a 360 px phone, and screenshots of the
// main states in light and dark, phone and wide, saved under test-output/web/ for people to see.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Page } from 'playwright-core';
import { startServer } from '../helpers/server.js';
import { assertNoProblems, launchBrowser, openChat, openPage, row, screenshotPath } from './helpers/browser.js';
import { HttpUser } from './helpers/chat-api.js';

const PHONE = { width: 360, height: 740 };
const WIDE = { width: 1280, height: 800 };

const CONVERSATION: [string, string][] = [
  ['bob', 'Morning! Did the deploy go out last night?'],
  ['alice', 'It did, took about four minutes end to end.'],
  ['alice', 'The new journal made recovery a lot faster too.'],
  ['Chloé', 'Nice. I saw a spike in reconnects around 02:10, was that the restart?'],
  ['bob', 'Yes, that was me. Every client caught up on its own, nobody lost a message.'],
  ['alice', 'Logs are here: https://example.com/logs/2026/11/23/parley-node-1/reconnects-after-restart.txt'],
  ['Chloé', 'Checklist for today:\n- rotate the keys\n- bump the rate limit\n- coffee'],
];

test('the page on screens from phones to wide monitors', async (t) => {
  const server = await startServer();
  t.after(() => server.stop());
  const browser = await launchBrowser(t);
  const people = new Map<string, HttpUser>();
  for (const [user, text] of CONVERSATION) {
    if (!people.has(user)) people.set(user, await HttpUser.login(server.baseUrl, user));
    await people.get(user)!.send(text);
  }

  await t.test('screenshots of the main states, light and dark, phone and wide', async () => {
    for (const colorScheme of ['light', 'dark'] as const) {
      for (const [size, viewport] of [['phone', PHONE], ['wide', WIDE]] as const) {
        const name = `${colorScheme}-${size}`;
        const options = { viewport, colorScheme, deviceScaleFactor: size === 'phone' ? 2 : 1 };
        const visitor = await openPage(browser, server.baseUrl, options);
        await visitor.page.getByLabel('Your name').waitFor();
        await visitor.page.screenshot({ path: screenshotPath(`${name}-login`), animations: 'disabled' });
        await visitor.context.close();

        const alice = await openChat(browser, server.baseUrl, 'alice', options);
        const { page } = alice;
        await row(page, 'coffee').waitFor();
        await page.locator('#composer-text').fill('Sounds good, see you at standup');
        await page.screenshot({ path: screenshotPath(`${name}-chat`), animations: 'disabled' });

        await row(page, 'journal').locator('.bubble').click({ button: 'right' });
        await page.getByRole('menu').waitFor();
        await page.screenshot({ path: screenshotPath(`${name}-menu`), animations: 'disabled' });
        await page.keyboard.press('Escape');
        assertNoProblems(alice);
        await alice.context.close();
      }
    }
  });
  await t.test('a 360 px phone never scrolls sideways', async () => {
    const login = await openPage(browser, server.baseUrl, { viewport: PHONE });
    assert.deepEqual(await overflow(login.page), []);
    await login.context.close();

    const phone = await openChat(browser, server.baseUrl, 'a name that is thirty-two chars!', { viewport: PHONE });
    const { page } = phone;
    await people.get('bob')!.send(`unbroken:${'x'.repeat(300)}`);
    await people.get('bob')!.send('word '.repeat(200));
    await row(page, 'unbroken:').waitFor();
    await page.locator('#composer-text').fill('y'.repeat(500));
    assert.deepEqual(await overflow(page), []);
    assertNoProblems(phone);
    await phone.context.close();
  });

});

/** Elements wider than the viewport (what a sideways scroll would be for). */
function overflow(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const wide: string[] = [];
    const limit = document.documentElement.clientWidth;
    if (document.documentElement.scrollWidth > limit) wide.push(`document ${document.documentElement.scrollWidth}px`);
    for (const element of document.querySelectorAll<HTMLElement>('body *')) {
      if (element.closest('.sr-only')) continue; // clipped to 1 px on purpose
      const rect = element.getBoundingClientRect();
      if (rect.right > limit + 0.5 || rect.left < -0.5) {
        wide.push(`${element.tagName.toLowerCase()}.${element.className} spans ${rect.left}..${rect.right}`);
      }
      if (element.scrollWidth > element.clientWidth + 1 && getComputedStyle(element).overflowX !== 'visible') {
        wide.push(`${element.tagName.toLowerCase()}.${element.className} scrolls sideways`);
      }
    }
    return wide;
  });
}

