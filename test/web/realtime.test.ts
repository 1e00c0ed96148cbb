// The web client's live connection: it survives a server restart (waits the seconds the server's
// goodbye asks for, reconnects, catches up from its cursor, repeats nothing, and says
// "reconnecting" rather than "offline" while it lasts),
// starts over when the server's history began again (reset), and falls back to long polling
// where Server-Sent Events cannot work (no EventSource, or a proxy that breaks the stream).
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { startServer } from '../helpers/server.js';
import type { Page } from 'playwright-core';
import { JOURNAL_FILE } from '../../server/journal.js';
import { assertNoProblems, launchBrowser, openChat, row, rowTexts, send, setTabHidden } from './helpers/browser.js';
import { HttpUser } from './helpers/chat-api.js';
import { temporaryFolder } from '../helpers/temporary-folder.js';

test('a server restart mid-session is survived: reconnect, catch up, no duplicates', async (t) => {
  const dataDir = temporaryFolder(t, 'web-restart');
  let server = await startServer({ dataDir, keepData: true });
  t.after(() => server.stop());
  const browser = await launchBrowser(t);
  const alice = await openChat(browser, server.baseUrl, 'alice');
  const { page } = alice;
  let bob = await HttpUser.login(server.baseUrl, 'bob');

  await bob.send('bob: before restart');
  await send(page, 'alice: before restart');
  await row(page, 'bob: before restart').waitFor();
  await page.locator('li.msg[data-state="sent"]', { hasText: 'alice: before restart' }).waitFor();

  const failedCatchUps = countFailedRequests(page, '/api/messages');
  await server.stop();
  await page.locator('.status[data-status="reconnecting"]').waitFor();
  // A restart takes seconds: several catch-ups fail meanwhile, and none of that is "offline".
  await failedCatchUps.reach(3);
  assert.equal(await page.locator('.status').getAttribute('data-status'), 'reconnecting');

  server = await startServer({ dataDir, keepData: true, args: ['--http-port', String(server.httpPort)] });
  // Sent before the page is back: it must arrive by catching up from the cursor, not live.
  bob = await HttpUser.login(server.baseUrl, 'bob');
  await bob.send('bob: during reconnect');
  await page.locator('.status[data-status="connected"]').waitFor({ timeout: 20_000 });
  await row(page, 'bob: during reconnect').waitFor();
  await bob.send('bob: after restart');
  await row(page, 'bob: after restart').waitFor({ timeout: 1000 });
  await send(page, 'alice: after restart');
  await page.locator('li.msg[data-state="sent"]', { hasText: 'alice: after restart' }).waitFor();

  assert.deepEqual(await rowTexts(page), [
    'bob: before restart',
    'alice: before restart',
    'bob: during reconnect',
    'bob: after restart',
    'alice: after restart',
  ]);
  assert.deepEqual(
    (await bob.messages()).messages.map((message) => message.text),
    await rowTexts(page),
  );
  assertNoProblems(alice);
});

test('a server that says goodbye is given the seconds it asks for before the page catches up', async (t) => {
  const dataDir = temporaryFolder(t, 'web-goodbye');
  let server = await startServer({ dataDir, keepData: true });
  t.after(() => server.stop());
  const browser = await launchBrowser(t);
  const alice = await openChat(browser, server.baseUrl, 'alice', {
    // The page's timers run on a clock the test moves, so the wait costs no real seconds.
    beforeLoad: (context) => context.clock.install(),
  });
  const { page } = alice;
  let catchUps = 0;
  page.on('request', (request) => {
    if (request.url().includes('/api/messages?last=')) catchUps++;
  });

  // A graceful stop ends the stream with `event: goodbye` and `retryAfter: 5` (docs/api.md).
  await server.stop();
  await page.locator('.status[data-status="reconnecting"]').waitFor();
  await page.clock.pauseAt((await page.evaluate(() => Date.now())) + 1000);
  await page.clock.fastForward(3_500);
  assert.equal(catchUps, 0, 'no catch-up hits a server that said it is going away for 5 s');
  assert.equal(await page.locator('.status').getAttribute('data-status'), 'reconnecting');

  server = await startServer({ dataDir, keepData: true, args: ['--http-port', String(server.httpPort)] });
  const bob = await HttpUser.login(server.baseUrl, 'bob');
  await bob.send('sent while the page waited');
  // Past 5 s and the jitter on top (at most half again): one catch-up, and it works.
  await page.clock.fastForward(4_000);
  await page.locator('.status[data-status="connected"]').waitFor();
  await row(page, 'sent while the page waited').waitFor();
  assert.equal(catchUps, 1);
  assertNoProblems(alice);
});

test('the browser going offline shows "offline" at once, not after the reconnecting grace', async (t) => {
  const server = await startServer();
  t.after(() => server.stop());
  const browser = await launchBrowser(t);
  const alice = await openChat(browser, server.baseUrl, 'alice');
  const { page, context } = alice;
  // The first catch-up after the drop fails; every later one hangs, so no failed attempt can
  // be what says "offline": only the browser's `offline` event can.
  let catchUps = 0;
  await context.route('**/api/messages?last=*', (route) => (++catchUps === 1 ? route.abort('connectionrefused') : undefined));
  await server.kill(); // a crash: no goodbye, the stream just drops
  await page.locator('.status[data-status="reconnecting"]').waitFor();
  await context.setOffline(true);
  // Well inside the ten seconds a restart is given before "offline", and the hanging catch-up's own.
  await page.locator('.status[data-status="offline"]').waitFor({ timeout: 3000 });
  assertNoProblems(alice);
});

test('a drop shows "reconnecting" for ten seconds, then "offline", even while a catch-up hangs', async (t) => {
  const server = await startServer();
  t.after(() => server.stop());
  const browser = await launchBrowser(t);
  const alice = await openChat(browser, server.baseUrl, 'alice', {
    // The page's timers run on a clock the test can move: ten seconds pass in an instant.
    beforeLoad: (context) => context.clock.install(),
  });
  const { page, context } = alice;
  // The first catch-up after the drop fails; every later one hangs, as behind a dead link.
  let catchUps = 0;
  let hangingCatchUp!: () => void;
  const isHanging = new Promise<void>((resolve) => (hangingCatchUp = resolve));
  await context.route('**/api/messages?last=*', (route) => {
    if (++catchUps === 1) return route.abort('connectionrefused');
    hangingCatchUp();
  });
  await server.kill(); // a crash: no goodbye, the stream just drops
  await page.locator('.status[data-status="reconnecting"]').waitFor();
  // Time stands still from here on, except when the test moves it.
  await page.clock.pauseAt((await page.evaluate(() => Date.now())) + 1000);
  await page.clock.fastForward(4_000);
  await isHanging;
  assert.equal(await page.locator('.status').getAttribute('data-status'), 'reconnecting', 'a restart’s few seconds are not "offline"');
  await page.clock.fastForward(5_000);
  // No catch-up has failed since the first, so only the ten seconds can have said so.
  await page.locator('.status[data-status="offline"]').waitFor({ timeout: 2000 });
  assertNoProblems(alice);
});

test('a server whose history began again replaces the page’s list instead of merging into it', async (t) => {
  const dataDir = temporaryFolder(t, 'web-reset');
  let server = await startServer({ dataDir, keepData: true });
  t.after(() => server.stop());
  const browser = await launchBrowser(t);
  const alice = await openChat(browser, server.baseUrl, 'alice');
  const { page } = alice;
  const bob = await HttpUser.login(server.baseUrl, 'bob');
  for (const text of ['old history 1', 'old history 2', 'old history 3']) await bob.send(text);
  await row(page, 'old history 3').waitFor();

  // The messages are wiped, the sessions kept: the page's cursor is now newer than anything.
  await server.stop();
  await page.locator('.status[data-status="reconnecting"]').waitFor();
  rmSync(join(dataDir, JOURNAL_FILE));
  server = await startServer({ dataDir, keepData: true, args: ['--http-port', String(server.httpPort)] });
  await bob.send('new history 1');
  await page.locator('.status[data-status="connected"]').waitFor({ timeout: 20_000 });
  await row(page, 'new history 1').waitFor();
  await row(page, 'old history').first().waitFor({ state: 'detached' });
  // New ids start below the old ones; arrivals still count as new (here: in the hidden tab's title).
  await setTabHidden(page, true);
  await bob.send('new history 2');
  await row(page, 'new history 2').waitFor();
  await page.waitForFunction(() => document.title === '(1) Parley');
  await setTabHidden(page, false);
  assert.deepEqual(await rowTexts(page), ['new history 1', 'new history 2']);
  assertNoProblems(alice);
});

test('a reset event on the stream reloads the newest page and keeps following', async (t) => {
  // A ring of 16 changes, so a cursor falls out of what the server keeps within a few sends.
  const server = await startServer({ args: ['--capacity', '16'] });
  t.after(() => server.stop());
  const browser = await launchBrowser(t);
  const bob = await HttpUser.login(server.baseUrl, 'bob');
  await bob.send('seen on load');
  let isFirstStream = true;
  const alice = await openChat(browser, server.baseUrl, 'alice', {
    // The page loads its first page, then opens its stream from that page's cursor. Holding the
    // stream's request while 30 messages go out makes the cursor one the server no longer
    // keeps: the real server then starts the stream with a reset event.
    beforeLoad: (context) =>
      context.route('**/api/events**', async (route) => {
        if (isFirstStream) {
          isFirstStream = false;
          for (let i = 1; i <= 30; i++) await bob.send(`burst ${i}`);
        }
        await route.continue();
      }),
  });
  const { page } = alice;
  await row(page, 'burst 30').waitFor();
  // Reloaded, not merged: the newest page the ring still holds, nothing from before the reset.
  await row(page, 'seen on load').waitFor({ state: 'detached' });
  const shown = await rowTexts(page);
  assert.deepEqual(shown, Array.from({ length: shown.length }, (_, i) => `burst ${30 - shown.length + 1 + i}`));
  assert.ok(shown.length >= 10, `the newest page is shown (${shown.length} messages)`);
  await bob.send('after the reset');
  await row(page, 'after the reset').waitFor();
  assertNoProblems(alice);
});

test('long polling takes over', async (t) => {
  const server = await startServer();
  t.after(() => server.stop());
  const browser = await launchBrowser(t);
  const bob = await HttpUser.login(server.baseUrl, 'bob');

  await t.test('when the browser has no EventSource', async () => {
    const alice = await openChat(browser, server.baseUrl, 'alice', {
      initScript: () => Reflect.deleteProperty(window, 'EventSource'),
    });
    const { page } = alice;
    assert.equal(await page.locator('.status').getAttribute('data-transport'), 'polling');
    const sent = await bob.send('delivered by long poll');
    await row(page, 'delivered by long poll').waitFor({ timeout: 1000 });
    await bob.delete(sent.id);
    await row(page, 'delivered by long poll').waitFor({ state: 'detached', timeout: 1000 });
    await send(page, 'sent while polling');
    await page.locator('li.msg[data-state="sent"]', { hasText: 'sent while polling' }).waitFor();
    assert.equal(await row(page, 'sent while polling').count(), 1);
    assertNoProblems(alice);
    await alice.context.close();
  });

  await t.test('when something between browser and server breaks the event stream', async () => {
    let streamAttempts = 0;
    const dave = await openChat(browser, server.baseUrl, 'dave', {
      // What a misconfigured proxy in front of Parley looks like to the page.
      beforeLoad: (context) =>
        context.route('**/api/events**', (route) => {
          streamAttempts++;
          return route.fulfill({ status: 502, contentType: 'text/html', body: '<h1>Bad Gateway</h1>' });
        }),
    });
    const { page } = dave;
    assert.equal(await page.locator('.status').getAttribute('data-transport'), 'polling');
    assert.equal(streamAttempts, 3, 'three failed streams, then polling');
    await bob.send('delivered despite the proxy');
    await row(page, 'delivered despite the proxy').waitFor({ timeout: 1000 });
    assertNoProblems(dave);
    await dave.context.close();
  });
});

/** Counts failed requests whose URL contains `path`, from now on. */
function countFailedRequests(page: Page, path: string) {
  let count = 0;
  page.on('requestfailed', (request) => {
    if (request.url().includes(path)) count++;
  });
  return {
    async reach(target: number): Promise<void> {
      while (count < target) await page.waitForEvent('requestfailed', { timeout: 20_000 });
    },
  };
}
