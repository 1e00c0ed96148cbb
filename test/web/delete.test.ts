// Deleting messages from the web client: by right-click and by keyboard alone, seen by every
// open client, and never offered for someone else's message.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startServer } from '../helpers/server.js';
import { assertNoProblems, composer, launchBrowser, openChat, row, send } from './helpers/browser.js';

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

function focusedText(page: import('playwright-core').Page): Promise<string | null> {
  return page.evaluate(() => document.activeElement?.closest('li.msg')?.querySelector('.text')?.textContent ?? null);
}
