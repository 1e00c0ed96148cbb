// A long conversation in the web client: it opens at the newest message, pages older history in
// as the reader scrolls up (keeping their place), and shows a pill for what arrives below.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startServer } from '../helpers/server.js';
import { assertNoProblems, launchBrowser, openChat, row, rowTexts } from './helpers/browser.js';
import { HttpUser, TcpUser } from './helpers/chat-api.js';

const TOTAL = 130;
const label = (n: number) => `history ${String(n).padStart(3, '0')}`;

test('history in the web client', async (t) => {
  const server = await startServer();
  t.after(() => server.stop());
  const terminal = await TcpUser.login(server.tcpPort, 'archivist');
  t.after(() => terminal.close());
  for (let n = 1; n <= TOTAL; n++) await terminal.send(label(n));

  const browser = await launchBrowser(t);
  const reader = await openChat(browser, server.baseUrl, 'reader');
  const { page } = reader;
  const scroller = page.locator('.scroller');

  await t.test('opens at the newest message, with only the latest page loaded', async () => {
    await row(page, label(TOTAL)).waitFor();
    assert.equal(await isAtBottom(page), true);
    const texts = await rowTexts(page);
    assert.ok(texts.length < TOTAL, `only a page is loaded, not all ${TOTAL}`);
    assert.equal(texts.at(-1), label(TOTAL));
  });

  await t.test('scrolling to the top loads older pages until the beginning, keeping the reader’s place', async () => {
    let loaded = (await rowTexts(page)).length;
    while (loaded < TOTAL) {
      const firstBefore = (await rowTexts(page))[0]!;
      // Scroll and measure in one step, before the page can react to the scroll.
      const topBefore = await scroller.evaluate((element, text) => {
        element.scrollTop = 0;
        const rows = [...element.querySelectorAll('li.msg')];
        const anchor = rows.find((candidate) => candidate.textContent?.includes(text))!;
        return anchor.querySelector('.text')!.getBoundingClientRect().top;
      }, firstBefore);
      await page.waitForFunction((count) => document.querySelectorAll('li.msg').length > count, loaded);
      loaded = (await rowTexts(page)).length;
      // The message that was at the top has not jumped: older ones went in above it. (Its text
      // is compared, not its row: the row loses its author line once it continues a group.)
      const topAfter = await rowTop(page, firstBefore);
      assert.ok(Math.abs(topAfter - topBefore) < 4, `${firstBefore} moved from ${topBefore} to ${topAfter}`);
    }
    await page.getByText('This is the beginning of the conversation.').waitFor();
    assert.deepEqual(
      await rowTexts(page),
      Array.from({ length: TOTAL }, (_, i) => label(i + 1)),
    );
  });

  await t.test('while scrolled up, new messages raise a pill instead of moving the view', async () => {
    const bob = await HttpUser.login(server.baseUrl, 'bob');
    await scroller.evaluate((element) => (element.scrollTop = element.scrollHeight / 2));
    const topBefore = await scroller.evaluate((element) => element.scrollTop);
    await bob.send('arrived below 1');
    await bob.send('arrived below 2');
    const pill = page.getByRole('button', { name: '2 new messages' });
    await pill.waitFor();
    assert.equal(await scroller.evaluate((element) => element.scrollTop), topBefore);
    await pill.click();
    await page.waitForFunction(() => {
      const element = document.querySelector('.scroller')!;
      return element.scrollHeight - element.scrollTop - element.clientHeight < 2;
    });
    await pill.waitFor({ state: 'detached' });
    // At the bottom again, the view follows new messages by itself.
    await bob.send('arrived while pinned');
    await row(page, 'arrived while pinned').waitFor();
    await page.waitForFunction(() => {
      const element = document.querySelector('.scroller')!;
      return element.scrollHeight - element.scrollTop - element.clientHeight < 2;
    });
    assert.equal(await page.locator('.pill').count(), 0);
    assertNoProblems(reader);
  });
});

function isAtBottom(page: import('playwright-core').Page): Promise<boolean> {
  return page.locator('.scroller').evaluate((element) => element.scrollHeight - element.scrollTop - element.clientHeight < 2);
}

function rowTop(page: import('playwright-core').Page, text: string): Promise<number> {
  return row(page, text).locator('.text').evaluate((element) => element.getBoundingClientRect().top);
}
