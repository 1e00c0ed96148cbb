// Logging in and out of the web client in real Chromium against a real Parley.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startServer } from '../helpers/server.js';
import { assertNoProblems, launchBrowser, logIn, openChat, openPage, screenshotPath, waitUntilLive } from './helpers/browser.js';
import { tryLogin } from './helpers/chat-api.js';

test('the login page', async (t) => {
  const server = await startServer();
  t.after(() => server.stop());
  const browser = await launchBrowser(t);

  await t.test('an invalid name shows the server’s sentence next to the field', async () => {
    const user = await openPage(browser, server.baseUrl);
    const { page } = user;
    for (const name of ['x'.repeat(40), '   ', 'zero\u200bwidth']) {
      const answer = await tryLogin(server.baseUrl, name);
      assert.equal(answer.status, 400);
      const sentence = (answer.body as { error: string }).error;
      await page.getByLabel('Your name').fill(name);
      await page.getByRole('button', { name: 'Join the chat' }).click();
      const error = page.getByRole('alert');
      await error.filter({ hasText: /\S/ }).waitFor();
      // The server's words, shown as a sentence: capital first, full stop last.
      const shown = (await error.textContent())!;
      assert.match(shown, /^[A-Z].*\.$/);
      assert.equal(shown.toLowerCase(), /[.!?]$/.test(sentence) ? sentence.toLowerCase() : `${sentence.toLowerCase()}.`);
      assert.equal(await page.getByLabel('Your name').getAttribute('aria-invalid'), 'true');
    }
    // Typing again clears the complaint, and a valid name gets in.
    await logIn(page, 'valid name');
    assert.equal(await page.locator('.me-name').textContent(), 'valid name');
    assertNoProblems(user);
    await user.context.close();
  });

  await t.test('a login that cannot reach the server asks the person to try again, and trying again works', async () => {
    const user = await openPage(browser, server.baseUrl);
    const { page } = user;
    await page.route('**/api/login', (route) => (route.request().method() === 'POST' ? route.abort('internetdisconnected') : route.fallback()));
    await page.getByLabel('Your name').fill('unlucky');
    await page.getByRole('button', { name: 'Join the chat' }).click();
    // Nothing retries a login by itself, so the sentence must not promise that anything will.
    await page.locator('#username-error').filter({ hasText: /\S/ }).waitFor();
    assert.equal(await page.locator('#username-error').textContent(), 'Can’t reach the server. Check your connection and try again.');
    await page.unroute('**/api/login');
    await page.getByRole('button', { name: 'Join the chat' }).click();
    await waitUntilLive(page);
    assertNoProblems(user);
    await user.context.close();
  });

  await t.test('after joining, the composer has focus and the page has a heading', async () => {
    const user = await openPage(browser, server.baseUrl);
    const { page } = user;
    await page.getByLabel('Your name').waitFor();
    assert.equal(await focusedId(page), 'username', 'the name field has focus on the login page');
    await logIn(page, 'typist');
    assert.equal(await focusedId(page), 'composer-text');
    await page.keyboard.type('typed straight away');
    assert.equal(await page.locator('#composer-text').inputValue(), 'typed straight away');
    assert.equal(await page.getByRole('heading', { level: 1 }).count(), 1);
    // Back on the login form in the same page load, the name field has focus again.
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.getByLabel('Your name').waitFor();
    assert.equal(await focusedId(page), 'username');
    assertNoProblems(user);
    await user.context.close();
  });

  await t.test('logging out in another tab returns this one to the login screen with a sentence', async () => {
    const user = await openChat(browser, server.baseUrl, 'two tabs');
    const other = await user.context.newPage(); // same browser context: same session cookie
    await other.goto('/');
    await waitUntilLive(other);
    await other.getByRole('button', { name: 'Log out' }).click();
    await other.getByLabel('Your name').waitFor();

    const { page } = user;
    await page.getByLabel('Your name').waitFor({ timeout: 5000 });
    const notice = page.locator('.login .notice');
    assert.match((await notice.textContent())!, /^[A-Z].*\.$/);
    assertNoProblems(user);
    await user.context.close();
  });

  await t.test('a logout event on the stream returns to the login screen with the server’s reason', async () => {
    const user = await openChat(browser, server.baseUrl, 'streamed out');
    const { page, context } = user;
    // The same session ended from outside the page (curl, another device with the cookie):
    // the server ends the page's event stream with a logout event naming the reason.
    const [cookie] = await context.cookies();
    assert.ok(cookie, 'the page has its session cookie');
    const logout = await fetch(`${server.baseUrl}/api/login`, {
      method: 'DELETE',
      headers: { cookie: `${cookie.name}=${cookie.value}`, origin: server.baseUrl },
    });
    assert.equal(logout.status, 204);
    await page.getByLabel('Your name').waitFor();
    // The server's sentence (server/http/sse-stream.ts), not the page's own words for a bare 401.
    assert.equal(await page.locator('.login .notice').textContent(), 'Your session ended (logged out); log in again.');
    await page.screenshot({ path: screenshotPath('light-wide-login-session-ended'), animations: 'disabled' });
    assertNoProblems(user);
    await context.close();
  });

  await t.test('a reload keeps the session, and log-out ends it for good without a session-ended notice', async () => {
    const user = await openPage(browser, server.baseUrl);
    const { page, context } = user;
    await logIn(page, 'reloader');
    await page.reload();
    await waitUntilLive(page);
    assert.equal(await page.locator('.me-name').textContent(), 'reloader');
    assert.equal(await page.getByLabel('Your name').count(), 0);

    const [cookie] = await context.cookies();
    assert.ok(cookie, 'the session cookie is set');
    assert.equal(cookie.httpOnly, true);

    // The server ends this tab's own event stream with a logout event before it answers the
    // DELETE; a notice meant for a session ended elsewhere must not flash up (and be read out).
    await page.evaluate(() => {
      const seen: string[] = [];
      (window as unknown as { noticesSeen: string[] }).noticesSeen = seen;
      new MutationObserver(() => {
        const notice = document.querySelector('.login .notice');
        if (notice) seen.push(notice.textContent ?? '');
      }).observe(document.body, { childList: true, subtree: true, characterData: true });
    });
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.getByLabel('Your name').waitFor();
    assert.deepEqual(await page.evaluate(() => (window as unknown as { noticesSeen: string[] }).noticesSeen), []);
    // The old cookie is dead on the server, not merely forgotten by this page.
    const stale = await fetch(`${server.baseUrl}/api/login`, { headers: { cookie: `${cookie.name}=${cookie.value}` } });
    assert.equal(stale.status, 401);
    await page.reload();
    await page.getByLabel('Your name').waitFor();
    assertNoProblems(user);
    await context.close();
  });
});

function focusedId(page: import('playwright-core').Page): Promise<string | undefined> {
  return page.evaluate(() => document.activeElement?.id);
}
