// Deleting messages from the web client: by right-click and by keyboard alone, seen by every
// open client, and never offered for someone else's message.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startServer } from '../helpers/server.js';
import { assertNoProblems, composer, launchBrowser, openChat, row, screenshotPath, send } from './helpers/browser.js';
import { HttpUser } from './helpers/chat-api.js';

test('deleting messages in the web client', async (t) => {
  const server = await startServer();
  t.after(() => server.stop());
  const browser = await launchBrowser(t);
  const alice = await openChat(browser, server.baseUrl, 'alice');
  const bob = await openChat(browser, server.baseUrl, 'bob');

  await t.test('Delete in the right-click menu removes the message in every open client', async () => {
    await send(alice.page, 'regrettable message');
    await alice.page.locator('li.msg[data-state="sent"]', { hasText: 'regrettable message' }).waitFor();
    await row(bob.page, 'regrettable message').waitFor();

    await row(alice.page, 'regrettable message').locator('.bubble').click({ button: 'right' });
    const menu = alice.page.getByRole('menu', { name: 'Message actions' });
    await menu.waitFor();
    await menu.getByRole('menuitem', { name: 'Delete' }).click();

    await row(alice.page, 'regrettable message').waitFor({ state: 'detached' });
    await row(bob.page, 'regrettable message').waitFor({ state: 'detached', timeout: 1000 });
    assert.equal(await menu.count(), 0);
  });

  await t.test('the keyboard alone reaches Delete: Shift+Tab to the message, arrows, Enter', async () => {
    const { page } = alice;
    await send(page, 'keep this one');
    await send(page, 'delete by keyboard');
    await send(page, 'and keep this too');
    await page.locator('li.msg[data-state="sent"]', { hasText: 'and keep this too' }).waitFor();
    await row(bob.page, 'and keep this too').waitFor();

    // From the composer, one Shift+Tab lands on the newest message; ArrowUp walks up.
    await composer(page).focus();
    await page.keyboard.press('Shift+Tab');
    assert.equal(await focusedText(page), 'and keep this too');
    await page.keyboard.press('ArrowUp');
    assert.equal(await focusedText(page), 'delete by keyboard');
    await page.keyboard.press('Enter');
    const item = page.getByRole('menuitem', { name: 'Delete' });
    await item.waitFor();
    assert.equal(await item.evaluate((element) => element === document.activeElement), true, 'the menu takes focus');
    // Escape closes the menu and gives focus back to the message.
    await page.keyboard.press('Escape');
    await item.waitFor({ state: 'detached' });
    assert.equal(await focusedText(page), 'delete by keyboard');
    // The Delete key opens the same menu; Enter picks Delete.
    await page.keyboard.press('Delete');
    await item.waitFor();
    await page.keyboard.press('Enter');

    await row(page, 'delete by keyboard').waitFor({ state: 'detached' });
    await row(bob.page, 'delete by keyboard').waitFor({ state: 'detached' });
    assert.equal(await row(page, 'keep this one').count(), 1);
    assert.equal(await row(page, 'and keep this too').count(), 1);
    // Focus stays in the list, on a neighbour, instead of falling back to the page.
    assert.match((await focusedText(page)) ?? '', /keep this/);
  });

  await t.test('a refused delete leaves the message and the focus on it, and says why', async () => {
    const { page } = alice;
    await send(page, 'refused deletion');
    await send(page, 'its neighbour');
    await page.locator('li.msg[data-state="sent"]', { hasText: 'its neighbour' }).waitFor();
    // The server's store is briefly unavailable: the DELETE is answered 503 with its sentence.
    await page.route('**/api/messages/*', (route) =>
      route.request().method() === 'DELETE'
        ? route.fulfill({
            status: 503,
            contentType: 'application/json',
            body: JSON.stringify({ error: 'the chat store is unavailable; try again in a moment', code: 'UNAVAILABLE' }),
          })
        : route.fallback(),
    );
    await row(page, 'refused deletion').focus();
    await page.keyboard.press('Enter');
    await page.getByRole('menuitem', { name: 'Delete' }).waitFor();
    await page.keyboard.press('Enter');

    const toast = page.locator('.toast');
    await toast.waitFor();
    assert.match((await toast.textContent())!, /Couldn’t delete the message: the chat store is unavailable/);
    assert.equal(await row(page, 'refused deletion').count(), 1);
    // Focus did not jump to the neighbour of a message that is still there.
    assert.equal(await focusedText(page), 'refused deletion');
    await page.unroute('**/api/messages/*');
    await toast.getByRole('button', { name: 'Dismiss' }).click();
  });

  await t.test('others’ messages offer no Delete, by mouse or keyboard', async () => {
    await send(bob.page, 'bob says hi');
    const theirs = row(alice.page, 'bob says hi');
    await theirs.waitFor();
    assert.equal(await theirs.getByRole('button', { name: 'Message actions' }).count(), 0);

    await theirs.locator('.bubble').click({ button: 'right' });
    await theirs.focus();
    await alice.page.keyboard.press('Enter');
    await alice.page.keyboard.press('Delete');
    // Let a round trip pass, so a menu that was going to open would have opened.
    await send(alice.page, 'after trying');
    await alice.page.locator('li.msg[data-state="sent"]', { hasText: 'after trying' }).waitFor();
    assert.equal(await alice.page.getByRole('menu').count(), 0);
    assert.equal(await alice.page.getByRole('menuitem', { name: 'Delete' }).count(), 0);
    assert.equal(await row(bob.page, 'bob says hi').count(), 1);
    assertNoProblems(alice);
    assertNoProblems(bob);
  });
});

test('the actions menu sits beside the message, never over it or the composer', async (t) => {
  const server = await startServer();
  t.after(() => server.stop());
  const browser = await launchBrowser(t);

  await t.test('from the keyboard and the ⋯ button on a wide screen: lined up with the bubble’s end', async () => {
    const alice = await openChat(browser, server.baseUrl, 'alice', { viewport: { width: 1280, height: 800 } });
    const { page } = alice;
    for (const text of ['first own', 'second own', 'newest own']) await send(page, text);
    await page.locator('li.msg[data-state="sent"]', { hasText: 'newest own' }).waitFor();

    await row(page, 'newest own').focus();
    await page.keyboard.press('Enter');
    await assertMenuBeside(page, 'newest own', { alignedEnd: true });
    await page.keyboard.press('Escape');

    await row(page, 'second own').hover();
    await row(page, 'second own').getByRole('button', { name: 'Message actions' }).click();
    await assertMenuBeside(page, 'second own', { alignedEnd: true });
    await page.keyboard.press('Escape');
    assertNoProblems(alice);
    await alice.context.close();
  });

  await t.test('a right-click on a phone opens it at the bubble, not under the finger', async () => {
    const alice = await openChat(browser, server.baseUrl, 'alice', { viewport: { width: 360, height: 740 } });
    const { page } = alice;
    await send(page, 'a phone message that is long enough to wrap onto a second line or more');
    await page.locator('li.msg[data-state="sent"]', { hasText: 'a phone message' }).waitFor();
    await row(page, 'a phone message').locator('.bubble').click({ button: 'right' });
    await assertMenuBeside(page, 'a phone message', { alignedEnd: true });
    await page.keyboard.press('Escape');
    assertNoProblems(alice);
    await alice.context.close();
  });

  await t.test('on a touch screen the ⋯ button shows only on the tapped message', async () => {
    // Messages of our own from elsewhere (another device with the same name), already there
    // when the page opens.
    const elsewhere = await HttpUser.login(server.baseUrl, 'alice');
    for (const text of ['touch first', 'touch second', 'touch third']) await elsewhere.send(text);
    const alice = await openChat(browser, server.baseUrl, 'alice', {
      viewport: { width: 360, height: 740 },
      hasTouch: true,
      isMobile: true,
    });
    const { page } = alice;
    await row(page, 'touch third').waitFor();
    const visibleButtons = () => page.locator('li.msg .more:visible').count();
    assert.equal(await visibleButtons(), 0, 'no ⋯ before a tap');
    await row(page, 'touch second').locator('.text').tap();
    await row(page, 'touch second').locator('.more:visible').waitFor();
    assert.equal(await visibleButtons(), 1);
    await page.screenshot({ path: screenshotPath('light-phone-touch-tapped'), animations: 'disabled' });
    assertNoProblems(alice);
    await alice.context.close();
  });
});

/** The open menu is next to the message's bubble: not over it, not over the composer, on screen. */
async function assertMenuBeside(page: import('playwright-core').Page, text: string, { alignedEnd }: { alignedEnd: boolean }) {
  const menu = page.getByRole('menu', { name: 'Message actions' });
  await menu.waitFor();
  const box = (await menu.boundingBox())!;
  const bubble = (await row(page, text).locator('.bubble').boundingBox())!;
  const composerBox = (await page.locator('.composer').boundingBox())!;
  const viewport = page.viewportSize()!;
  const overlaps = (a: typeof box, b: typeof box) =>
    Math.min(a.x + a.width, b.x + b.width) - Math.max(a.x, b.x) > 0.5 &&
    Math.min(a.y + a.height, b.y + b.height) - Math.max(a.y, b.y) > 0.5;
  assert.equal(overlaps(box, bubble), false, `the menu covers the message (${JSON.stringify({ box, bubble })})`);
  assert.equal(overlaps(box, composerBox), false, `the menu covers the composer (${JSON.stringify({ box, composerBox })})`);
  assert.ok(box.x >= 0 && box.x + box.width <= viewport.width, 'the menu is on screen');
  if (alignedEnd) assert.ok(Math.abs(box.x + box.width - (bubble.x + bubble.width)) < 1.5, 'the menu ends where the bubble ends');
}

function focusedText(page: import('playwright-core').Page): Promise<string | null> {
  return page.evaluate(() => document.activeElement?.closest('li.msg')?.querySelector('.text')?.textContent ?? null);
}
