// Logging in and out of the web client in real Chromium against a real Parley.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startServer } from '../helpers/server.js';
import { assertNoProblems, launchBrowser, logIn, openPage, waitUntilLive } from './helpers/browser.js';
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
      assert.equal((await error.textContent())!.toLowerCase(), sentence.toLowerCase());
      assert.equal(await page.getByLabel('Your name').getAttribute('aria-invalid'), 'true');
    }
    // Typing again clears the complaint, and a valid name gets in.
    await logIn(page, 'valid name');
    assert.equal(await page.locator('.me-name').textContent(), 'valid name');
    assertNoProblems(user);
    await user.context.close();
  });

  await t.test('a reload keeps the session, and log-out ends it for good', async () => {
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

    await page.getByRole('button', { name: 'Log out' }).click();
    await page.getByLabel('Your name').waitFor();
    // The old cookie is dead on the server, not merely forgotten by this page.
    const stale = await fetch(`${server.baseUrl}/api/login`, { headers: { cookie: `${cookie.name}=${cookie.value}` } });
    assert.equal(stale.status, 401);
    await page.reload();
    await page.getByLabel('Your name').waitFor();
    assertNoProblems(user);
    await context.close();
  });
});
