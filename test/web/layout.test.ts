// How the page looks and fits: no sideways scrolling or overlapping header on a 360 px phone,
// text contrast at WCAG AA in both colour schemes, and screenshots of the main states in light
// and dark, phone and wide, saved under test-output/web/ for people to look at.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Page } from 'playwright-core';
import { startServer, type RunningServer } from '../helpers/server.js';
import {
  assertNoProblems,
  composer,
  launchBrowser,
  openChat,
  openPage,
  row,
  screenshotPath,
  send,
  waitUntilLive,
} from './helpers/browser.js';
import { HttpUser } from './helpers/chat-api.js';
import { lowContrast } from './helpers/contrast.js';

const PHONE = { width: 360, height: 740 };
const WIDE = { width: 1280, height: 800 };

const EARLIER: [string, string][] = Array.from({ length: 24 }, (_, i) => [
  i % 2 === 0 ? 'bob' : 'Chloé',
  `Earlier note ${i + 1}: what we said before the deploy.`,
]);

const CONVERSATION: [string, string][] = [
  ['bob', 'Morning! Did the deploy go out last night?'],
  ['alice', 'It did, took about four minutes end to end.'],
  ['alice', 'The new journal made recovery a lot faster too.'],
  ['Chloé', 'Nice. I saw a spike in reconnects around 02:10, was that the restart?'],
  ['bob', 'Yes, that was me. Every client caught up on its own, nobody lost a message. 🎉'],
  ['alice', 'Logs are here: https://example.com/logs/2026/11/23/parley-node-1/reconnects-after-restart.txt'],
  ['Chloé', 'Checklist for today:\n- rotate the keys\n- bump the rate limit\n- coffee'],
];

/** Text that must read at AA in the chat, whatever state it is in. */
const CHAT_TEXT = [
  '.brand .name',
  '.ghost',
  '.author:not(.sr-only)',
  '.theirs .text',
  '.theirs .stamp time',
  '.mine .text',
  '.mine .stamp time',
  '.day span',
  '#composer-text',
];

async function startSeeded(): Promise<{ server: RunningServer; people: Map<string, HttpUser> }> {
  const server = await startServer();
  const people = new Map<string, HttpUser>();
  for (const [user, text] of [...EARLIER, ...CONVERSATION]) {
    if (!people.has(user)) people.set(user, await HttpUser.login(server.baseUrl, user));
    await people.get(user)!.send(text);
  }
  return { server, people };
}

/** A screenshot without a stray hover effect (the ⋯ of the message under the pointer). */
async function shoot(page: Page, name: string): Promise<void> {
  await page.mouse.move(1, 1);
  await page.screenshot({ path: screenshotPath(name), animations: 'disabled' });
}

test('the page on screens from phones to wide monitors', async (t) => {
  const browser = await launchBrowser(t);

  for (const colorScheme of ['light', 'dark'] as const) {
    for (const [size, viewport] of [['phone', PHONE], ['wide', WIDE]] as const) {
      const name = `${colorScheme}-${size}`;
      const options = { viewport, colorScheme, deviceScaleFactor: size === 'phone' ? 2 : 1 };

      await t.test(`every state reads at WCAG AA and fits, ${colorScheme} ${size} (screenshots ${name}-*)`, async (st) => {
        const { server, people } = await startSeeded();
        st.after(() => server.stop());

        const visitor = await openPage(browser, server.baseUrl, options);
        const login = visitor.page;
        await login.getByLabel('Your name').waitFor();
        await shoot(login, `${name}-login`);
        assert.deepEqual(await lowContrast(login, ['.card h1', '.lead', '.card label', '.primary']), []);
        await login.getByLabel('Your name').fill('   ');
        await login.getByRole('button', { name: 'Join the chat' }).click();
        await login.locator('.field-error').filter({ hasText: /\S/ }).waitFor();
        await shoot(login, `${name}-login-error`);
        assert.deepEqual(await lowContrast(login, ['.field-error']), []);
        if (size === 'phone') assert.deepEqual(await overflow(login), []);
        await visitor.context.close();

        const alice = await openChat(browser, server.baseUrl, 'alice', options);
        const { page, context } = alice;
        await row(page, 'coffee').waitFor();
        await composer(page).fill('Sounds good, see you at standup');
        await shoot(page, `${name}-chat`);
        assert.deepEqual(await lowContrast(page, [...CHAT_TEXT, ...(size === 'wide' ? ['.status-label', '.hint'] : [])]), []);
        if (size === 'phone') {
          assert.deepEqual(await overflow(page), []);
          assert.deepEqual(await headerOverlaps(page), []);
        }
        await composer(page).fill('');
        if (size === 'phone') {
          // Nothing to show under the composer on a phone: no empty strip either.
          assert.ok((await footHeight(page)) <= 4, 'the empty composer footer takes no room');
        }

        await row(page, 'journal').locator('.bubble').click({ button: 'right' });
        await page.getByRole('menu').waitFor();
        await shoot(page, `${name}-menu`);
        assert.deepEqual(await lowContrast(page, ['.menu .danger']), []);
        await page.keyboard.press('Escape');
        await row(page, 'journal').focus();
        await page.keyboard.press('Enter');
        await page.getByRole('menu').waitFor();
        await shoot(page, `${name}-menu-keyboard`);
        await page.keyboard.press('Escape');

        // Pending: the POST is held; then it fails, and the row offers Retry.
        let fail!: () => void;
        const failing = new Promise<void>((resolve) => (fail = resolve));
        await page.route('**/api/messages', async (route) => {
          if (route.request().method() !== 'POST') return route.continue();
          await failing;
          return route.abort('connectionfailed');
        });
        await send(page, 'On my way, two minutes');
        await page.locator('li.msg[data-state="sending"]').waitFor();
        await shoot(page, `${name}-pending`);
        assert.deepEqual(await lowContrast(page, ['.msg.sending .text', '.msg.sending time', '.msg.sending .stamp .sending']), []);
        fail();
        await page.locator('li.msg[data-state="failed"]').waitFor();
        await shoot(page, `${name}-failed`);
        assert.deepEqual(await lowContrast(page, ['.msg.failed .text', '.msg.failed time', '.send-error span', '.send-error .link']), []);
        await page.unrouteAll();

        // A delete the server refuses: the toast.
        await page.route('**/api/messages/*', (route) =>
          route.fulfill({
            status: 500,
            contentType: 'application/json',
            body: JSON.stringify({ error: 'Something broke on the server side; try again.', code: 'INTERNAL' }),
          }),
        );
        await row(page, 'journal').focus();
        await page.keyboard.press('Delete');
        await page.getByRole('menuitem', { name: 'Delete' }).click();
        const toast = page.locator('.toast');
        await toast.waitFor();
        await shoot(page, `${name}-toast`);
        assert.deepEqual(await lowContrast(page, ['.toast span']), []);
        const toastBox = (await toast.boundingBox())!;
        assert.ok(toastBox.width >= Math.min(viewport.width - 32, 400) - 1, `the toast uses the width it has (${toastBox.width} px)`);
        await toast.getByRole('button', { name: 'Dismiss' }).click();
        await page.unrouteAll();

        // Scrolled up while others write: the pill.
        await page.locator('.scroller').evaluate((element) => (element.scrollTop = 0));
        await page.getByText('This is the beginning of the conversation.').waitFor();
        await people.get('bob')!.send('Standup moved to 10:30.');
        await people.get('Chloé')!.send('Thanks for the heads-up!');
        await page.getByRole('button', { name: '2 new messages' }).waitFor();
        await shoot(page, `${name}-pill`);
        assert.deepEqual(await lowContrast(page, ['.pill']), []);
        await page.getByRole('button', { name: '2 new messages' }).click();
        await page.locator('.pill').waitFor({ state: 'detached' });

        // The server goes away: "Reconnecting…", then the browser loses its network: "Offline".
        await server.stop();
        await page.locator('.status[data-status="reconnecting"]').waitFor();
        await shoot(page, `${name}-reconnecting`);
        if (size === 'phone') {
          assert.deepEqual(await overflow(page), []);
          assert.deepEqual(await headerOverlaps(page), []);
        }
        await context.setOffline(true);
        await page.locator('.status[data-status="offline"]').waitFor();
        await shoot(page, `${name}-offline`);
        if (size === 'phone') assert.deepEqual(await headerOverlaps(page), []);
        else assert.deepEqual(await lowContrast(page, ['.status-label']), []);
        assertNoProblems(alice);
        await context.close();
      });
    }
  }

  await t.test('a 360 px phone never scrolls sideways, even with a long name and long words', async (st) => {
    const server = await startServer();
    st.after(() => server.stop());
    const bob = await HttpUser.login(server.baseUrl, 'bob');
    const phone = await openChat(browser, server.baseUrl, 'a name that is thirty-two chars!', { viewport: PHONE });
    const { page } = phone;
    await bob.send(`unbroken:${'x'.repeat(300)}`);
    await bob.send('word '.repeat(200));
    await row(page, 'unbroken:').waitFor();
    await composer(page).fill('y'.repeat(500));
    assert.deepEqual(await overflow(page), []);
    assert.deepEqual(await headerOverlaps(page), []);
    await page.reload();
    await waitUntilLive(page);
    assertNoProblems(phone);
    await phone.context.close();
  });
});

test('the page links its icons (SVG favicon, PNG touch icon) and the server serves them', async (t) => {
  const server = await startServer();
  t.after(() => server.stop());
  const html = await (await fetch(server.baseUrl)).text();
  const icons = [...html.matchAll(/<link rel="(icon|apple-touch-icon)" href="([^"]+)"/g)].map((match) => [match[1], match[2]]);
  assert.deepEqual(icons, [
    ['icon', '/favicon.svg'],
    ['apple-touch-icon', '/apple-touch-icon.png'],
  ]);
  for (const [, href] of icons) {
    const response = await fetch(`${server.baseUrl}${href}`);
    assert.equal(response.status, 200, href);
    assert.match(response.headers.get('content-type') ?? '', /^image\/(svg\+xml|png)/, href);
    await response.arrayBuffer();
  }
});

/** Elements wider than the viewport (what a sideways scroll would be for). */
function overflow(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const wide: string[] = [];
    const limit = document.documentElement.clientWidth;
    if (document.documentElement.scrollWidth > limit) wide.push(`document ${document.documentElement.scrollWidth}px`);
    for (const element of document.querySelectorAll<HTMLElement>('body *')) {
      // Visually hidden on purpose (for screen readers): clipped to nothing.
      if (element.closest('.sr-only') || getComputedStyle(element).clip === 'rect(0px, 0px, 0px, 0px)') continue;
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

/** Pairs of header parts drawn over each other (the avatar over Log out, once). */
function headerOverlaps(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const parts = ['.brand', '.status', '.me .avatar', '.me-name', '.ghost']
      .map((selector) => ({ selector, element: document.querySelector(selector) }))
      .filter((part) => part.element !== null && part.element.getBoundingClientRect().width > 1);
    const overlaps: string[] = [];
    for (let i = 0; i < parts.length; i++) {
      for (let j = i + 1; j < parts.length; j++) {
        const a = parts[i]!.element!.getBoundingClientRect();
        const b = parts[j]!.element!.getBoundingClientRect();
        const overlapX = Math.min(a.right, b.right) - Math.max(a.left, b.left);
        const overlapY = Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top);
        if (overlapX > 0.5 && overlapY > 0.5) overlaps.push(`${parts[i]!.selector} overlaps ${parts[j]!.selector} by ${overlapX} px`);
      }
    }
    return overlaps;
  });
}

function footHeight(page: Page): Promise<number> {
  return page.locator('.composer-foot').evaluate((element) => element.getBoundingClientRect().height);
}
