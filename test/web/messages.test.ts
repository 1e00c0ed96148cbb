// Sending and receiving in the web client, in real Chromium against a real Parley, with other
// users in other browser contexts, over HTTP and over TCP.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MAX_TEXT_LENGTH } from '../../protocol/limits.js';
import { startServer } from '../helpers/server.js';
import { assertNoProblems, composer, launchBrowser, openChat, row, rowTexts, send, setTabHidden } from './helpers/browser.js';
import { HttpUser, TcpUser } from './helpers/chat-api.js';

test('messages in the web client', async (t) => {
  const server = await startServer();
  t.after(() => server.stop());
  const browser = await launchBrowser(t);
  const alice = await openChat(browser, server.baseUrl, 'alice');
  const bob = await openChat(browser, server.baseUrl, 'bob');
  const bobHttp = await HttpUser.login(server.baseUrl, 'bob');

  await t.test('a sent message shows at once as sending, then as sent', async () => {
    const { page } = alice;
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    await page.route('**/api/messages', async (route) => {
      if (route.request().method() === 'POST') await held;
      await route.continue();
    });
    await send(page, 'hello there');
    await page.locator('li.msg[data-state="sending"]', { hasText: 'hello there' }).waitFor();
    assert.equal(await composer(page).inputValue(), '', 'the composer is cleared at once');
    release();
    await page.locator('li.msg[data-state="sent"]', { hasText: 'hello there' }).waitFor();
    assert.equal(await row(page, 'hello there').count(), 1);
    assert.match((await row(page, 'hello there').getAttribute('class'))!, /\bmine\b/);
    await page.unrouteAll();
  });

  await t.test('two users see each other’s messages within a second', async () => {
    await send(alice.page, 'ping from alice');
    await row(bob.page, 'ping from alice').waitFor({ timeout: 1000 });
    await send(bob.page, 'pong from bob');
    await row(alice.page, 'pong from bob').waitFor({ timeout: 1000 });
    assert.match((await row(alice.page, 'pong from bob').getAttribute('class'))!, /\btheirs\b/);
    assert.equal(await row(alice.page, 'pong from bob').locator('.author').textContent(), 'bob');
  });

  await t.test('a message from a TCP client appears in the page', async () => {
    const terminal = await TcpUser.login(server.tcpPort, 'carol');
    t.after(() => terminal.close());
    await terminal.send('typed in a terminal');
    await row(alice.page, 'typed in a terminal').waitFor({ timeout: 1000 });
    assert.equal(await row(alice.page, 'typed in a terminal').locator('.author').textContent(), 'carol');
  });

  await t.test('HTML and script in a message are shown as text and never run', async () => {
    const payload = '<img src=x onerror="window.pwned=1"><script>window.pwned=2</script><b>bold?</b>';
    await bobHttp.send(payload);
    const shown = row(alice.page, 'window.pwned=2');
    await shown.waitFor();
    assert.equal(await shown.locator('.text').textContent(), payload);
    assert.equal(await shown.locator('img, script, b').count(), 0);
    assert.equal(await alice.page.evaluate(() => (window as { pwned?: number }).pwned), undefined);
  });

  await t.test('Enter sends and Shift+Enter makes a new line', async () => {
    const { page } = alice;
    await composer(page).click();
    await page.keyboard.type('first line');
    await page.keyboard.press('Shift+Enter');
    await page.keyboard.type('second line');
    assert.equal(await composer(page).inputValue(), 'first line\nsecond line');
    await page.keyboard.press('Enter');
    await page.locator('li.msg[data-state="sent"]', { hasText: 'second line' }).waitFor();
    assert.equal(await row(page, 'second line').locator('.text').textContent(), 'first line\nsecond line');
  });

  await t.test('the length limit shows before sending, and an over-long message is not sent', async () => {
    const { page } = alice;
    await composer(page).fill('a'.repeat(MAX_TEXT_LENGTH - 100));
    assert.equal(await page.locator('#composer-count').textContent(), '100 characters left');
    await composer(page).fill('b'.repeat(MAX_TEXT_LENGTH + 3));
    assert.match((await page.locator('#composer-count').textContent())!, /^3 over the 4,000-character limit$/);
    assert.equal(await page.getByRole('button', { name: 'Send' }).isDisabled(), true);
    await composer(page).press('Enter');
    assert.equal(await composer(page).inputValue(), 'b'.repeat(MAX_TEXT_LENGTH + 3), 'nothing was sent');
    // An emoji is one character, as the server counts it.
    await composer(page).fill('😀'.repeat(MAX_TEXT_LENGTH));
    assert.equal(await page.locator('#composer-count').textContent(), '0 characters left');
    assert.equal(await page.getByRole('button', { name: 'Send' }).isDisabled(), false);
    await composer(page).fill('');
  });

  await t.test('a failed send can be retried with the same clientId and is stored once', async () => {
    const { page } = alice;
    const clientIds: string[] = [];
    await page.route('**/api/messages', async (route) => {
      if (route.request().method() !== 'POST') return route.continue();
      clientIds.push((route.request().postDataJSON() as { clientId: string }).clientId);
      if (clientIds.length === 1) return route.abort('connectionfailed');
      return route.continue();
    });
    await send(page, 'worth retrying');
    const failed = page.locator('li.msg[data-state="failed"]', { hasText: 'worth retrying' });
    await failed.waitFor();
    // Only the "Not sent" line is small and red; the message itself reads like any other.
    const style = (element: Element) => `${getComputedStyle(element).fontSize} ${getComputedStyle(element).color}`;
    const textStyle = await failed.locator('.text').evaluate(style);
    assert.equal(textStyle, await page.locator('li.msg.theirs .text').first().evaluate(style));
    assert.notEqual(await failed.locator('.send-error').evaluate(style), textStyle);
    await failed.getByRole('button', { name: 'Retry' }).click();
    await page.locator('li.msg[data-state="sent"]', { hasText: 'worth retrying' }).waitFor();
    await page.unrouteAll();
    assert.equal(clientIds.length, 2);
    assert.equal(clientIds[0], clientIds[1]);
    await row(bob.page, 'worth retrying').waitFor();
    assert.equal(await row(page, 'worth retrying').count(), 1);
    assert.equal(await row(bob.page, 'worth retrying').count(), 1);
  });

  await t.test('a send whose answer was lost on the way back is shown and stored once', async () => {
    const { page } = alice;
    let attempts = 0;
    await page.route('**/api/messages', async (route) => {
      if (route.request().method() !== 'POST' || ++attempts > 1) return route.continue();
      await route.fetch(); // the server stores it...
      await route.abort('connectionreset'); // ...and the answer never arrives
    });
    await send(page, 'answer lost');
    const settled = page.locator('li.msg:is([data-state="sent"], [data-state="failed"])', { hasText: 'answer lost' });
    await settled.waitFor();
    if ((await settled.getAttribute('data-state')) === 'failed') {
      await settled.getByRole('button', { name: 'Retry' }).click();
      await page.locator('li.msg[data-state="sent"]', { hasText: 'answer lost' }).waitFor();
    }
    await page.unrouteAll();
    await row(bob.page, 'answer lost').waitFor();
    assert.equal(await row(page, 'answer lost').count(), 1);
    assert.equal(await row(bob.page, 'answer lost').count(), 1);
    const stored = (await bobHttp.messages()).messages.filter((message) => message.text === 'answer lost');
    assert.equal(stored.length, 1);
  });

  await t.test('the title counts unread messages while the tab is hidden', async () => {
    const { page } = alice;
    await setTabHidden(page, true);
    await bobHttp.send('while you were away 1');
    await bobHttp.send('while you were away 2');
    await row(page, 'while you were away 2').waitFor();
    await page.waitForFunction(() => document.title === '(2) Parley');
    await send(page, 'my own does not count');
    await row(page, 'my own does not count').waitFor();
    assert.equal(await page.title(), '(2) Parley');
    await setTabHidden(page, false);
    await page.waitForFunction(() => document.title === 'Parley');
  });

  await t.test('both pages show the same conversation, in order, with no duplicates', async () => {
    await send(bob.page, 'final check');
    await row(alice.page, 'final check').waitFor();
    const expected = (await bobHttp.messages()).messages.map((message) => message.text);
    assert.deepEqual(await rowTexts(alice.page), expected);
    assert.deepEqual(await rowTexts(bob.page), expected);
    assertNoProblems(alice);
    assertNoProblems(bob);
  });
});
