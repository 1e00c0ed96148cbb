// The web client's live connection: it survives a server restart (reconnects, catches up from
// its cursor, repeats nothing), and falls back to long polling where Server-Sent Events cannot
// work (no EventSource, or a proxy that breaks the stream).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { startServer } from '../helpers/server.js';
import { assertNoProblems, launchBrowser, openChat, row, rowTexts, send } from './helpers/browser.js';
import { HttpUser } from './helpers/chat-api.js';

test('a server restart mid-session is survived: reconnect, catch up, no duplicates', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'parley-web-restart-'));
  t.after(() => rmSync(dataDir, { recursive: true, force: true }));
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

  await server.stop();
  await page.locator('.status:is([data-status="reconnecting"], [data-status="offline"])').waitFor();

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
