// The full-screen client as a person uses it: the real parley-desktop in a real terminal
// (tmux), against a real server, read back from the screen. One story, step by step, since
// each step starts from where the previous one left the screen.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { Connection } from '../../client/desktop/connection.js';
import { ROOT, startServer, type RunningServer } from '../helpers/server.js';
import { TmuxPane } from './tmux-pane.js';

const CLIENT_MAIN = join(ROOT, 'dist/client/desktop/main.js');

/** Logs in over HTTP and returns a function that posts a message with the session cookie. */
async function httpUser(server: RunningServer, username: string): Promise<(text: string) => Promise<void>> {
  const login = await fetch(`${server.baseUrl}/api/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username }),
  });
  assert.equal(login.status, 200, await login.clone().text());
  const cookie = login.headers.get('set-cookie')!.split(';')[0]!;
  return async (text) => {
    const posted = await fetch(`${server.baseUrl}/api/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', cookie },
      body: JSON.stringify({ text }),
    });
    assert.equal(posted.status, 201, await posted.clone().text());
  };
}

async function texts(server: RunningServer): Promise<string[]> {
  const reader = await Connection.open({ host: '127.0.0.1', port: server.tcpPort });
  try {
    await reader.request('login', { username: 'auditor' });
    const { messages } = await reader.request('history', {});
    return messages.map((message) => message.text);
  } finally {
    reader.close();
  }
}

test('the terminal client logs in, chats live with HTTP, deletes its own message and survives a restart', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'parley-tui-'));
  t.after(() => rmSync(dataDir, { recursive: true, force: true }));
  let server = await startServer({ dataDir, keepData: true });
  t.after(() => server.stop());
  const port = server.tcpPort;
  const pane = new TmuxPane(`${process.execPath} ${CLIENT_MAIN} --host 127.0.0.1 --port ${port}`, { width: 100, height: 30 });
  t.after(() => pane.close());

  await t.test('asks for a name, refuses a bad one with a reason, and logs in', async () => {
    await pane.waitFor('Your name:');
    await pane.waitFor('● connected');
    pane.type('x'.repeat(33));
    pane.keys('Enter');
    await pane.waitFor('username is 33 characters; the limit is 32');
    pane.keys('C-u');
    pane.type('alice');
    pane.keys('Enter');
    const screen = await pane.waitFor('logged in as alice');
    assert.match(screen.split('\n')[0]!, /Parley\s+127\.0\.0\.1:\d+\s+alice\s*$/, 'the header names the server and the user');
  });

  await t.test('sends a typed message, with editing keys, and shows it as the own message', async () => {
    pane.type('helo wrold');
    pane.keys('C-w');
    pane.type('world');
    pane.keys('Left', 'Left', 'Left', 'Left', 'Left', 'Left', 'Left');
    pane.type('l');
    pane.keys('End', 'Enter');
    await pane.waitFor(/\d\d:\d\d alice ┃ hello world/);
    assert.deepEqual(await texts(server), ['hello world']);
  });

  await t.test('shows a message sent over HTTP as soon as it is posted, wrapping wide characters', async () => {
    const bobSays = await httpUser(server, 'bob');
    await bobSays(`from the web: ${'漢字'.repeat(30)} 👋 done`);
    const screen = await pane.waitFor(/bob │ from the web: 漢字/);
    const lines = screen.split('\n');
    const first = lines.findIndex((line) => line.includes('bob │ from the web'));
    // 142 cells of text in an 84-cell column: the first row is filled to the last cell (CJK
    // may break between any two characters), the second is indented under the first.
    assert.match(lines[first]!, /│ from the web: (漢字){17}漢$/);
    assert.match(lines[first + 1]!, /^ {13}│ 字(漢字){12} 👋 done$/, 'the continuation line keeps the text column');
  });

  await t.test('refuses to delete what someone else wrote, with a clear line', async () => {
    pane.keys('Tab'); // selects the newest message on screen: bob's
    pane.keys('DC');
    await pane.waitFor("you can only delete your own messages; this one is bob's");
  });

  await t.test('deletes its own message after a confirmation', async () => {
    pane.keys('Up'); // alice's "hello world"
    pane.keys('DC');
    await pane.waitFor('Delete your message "hello world"? (y/n)');
    pane.keys('n');
    await pane.waitFor((screen) => !screen.includes('(y/n)'));
    assert.ok(pane.row('hello world'), 'n keeps the message');
    pane.keys('DC');
    await pane.waitFor('(y/n)');
    pane.keys('y');
    await pane.waitFor((screen) => !screen.includes('hello world'));
    assert.deepEqual(await texts(server), [`from the web: ${'漢字'.repeat(30)} 👋 done`]);
    pane.keys('Escape');
  });

  await t.test('selects and deletes with the mouse: a right click asks, y deletes', async () => {
    pane.type('click me');
    pane.keys('Enter');
    await pane.waitFor('alice ┃ click me');
    const row = pane.row('click me')!;
    pane.type(`\x1b[<2;30;${row.y + 1}M\x1b[<2;30;${row.y + 1}m`); // SGR mouse report: right button, press and release
    await pane.waitFor('Delete your message "click me"? (y/n)');
    pane.keys('y');
    await pane.waitFor((screen) => !screen.includes('click me'));
    pane.keys('Escape');
  });

  await t.test('shows the server going away, queues what is typed, and catches up after a restart', async () => {
    await server.stop();
    await pane.waitFor('○ offline');
    pane.type('typed while offline');
    pane.keys('Enter');
    await pane.waitFor('1 message waiting to send');
    assert.match(pane.row('typed while offline')!.line, /^\s+·\s+alice ┃ typed while offline/, 'shown as pending');

    server = await startServer({ dataDir, keepData: true, args: ['--tcp-port', String(port)] });
    const bobSays = await httpUser(server, 'bob');
    await bobSays('welcome back');
    await pane.waitFor(/\d\d:\d\d alice ┃ typed while offline/);
    await pane.waitFor('bob │ welcome back');
    await pane.waitFor('● connected');
    const screen = pane.screen();
    assert.equal(screen.split('typed while offline').length, 2, 'shown once');
    assert.equal(screen.split('welcome back').length, 2, 'shown once');
    const stored = await texts(server);
    assert.equal(stored.filter((text) => text === 'typed while offline').length, 1, 'stored once');
  });

  await t.test('scrolls back with PageUp and returns with PageDown', async () => {
    const bobSays = await httpUser(server, 'bob');
    for (let i = 1; i <= 40; i++) await bobSays(`filler ${i}`);
    await pane.waitFor('filler 40');
    pane.keys('PPage');
    const back = await pane.waitFor('↓ more below');
    assert.ok(!back.includes('filler 40') && back.includes('filler 12'), 'a page up shows the page before');
    await bobSays('while scrolled');
    const reading = await pane.waitFor('↓ 1 new message');
    assert.ok(reading.includes('filler 12') && !reading.includes('while scrolled'), 'a new message does not move what is being read');
    pane.keys('NPage', 'NPage');
    await pane.waitFor((screen) => screen.includes('bob │ while scrolled') && !screen.includes('↓'));
  });

  await t.test('redraws cleanly after a resize', async () => {
    pane.resize(60, 20);
    // Wait for the whole frame: header, last message, status bar.
    const screen = await pane.waitFor((text) => {
      const lines = text.split('\n');
      return /alice$/.test(lines[0]!) && /while scrolled$/.test(lines[17] ?? '') && /● connected/.test(lines[18] ?? '');
    });
    const lines = screen.split('\n');
    assert.match(lines[0]!, /^ Parley {2}127\.0\.0\.1:\d+ +alice$/);
    assert.match(lines[17]!, /bob │ while scrolled$/);
    assert.match(lines[19]!, /^ › /);
    assert.ok(lines.every((line) => line.length <= 60), 'nothing is drawn past the new width');
  });

  await t.test('Ctrl-C quits with status 0 and gives the terminal back', async () => {
    pane.keys('C-c');
    const screen = await pane.waitFor('[exited with 0]');
    assert.doesNotMatch(screen, /Parley\s+127\.0\.0\.1/, 'the alternate screen is gone');
    assert.match(screen.trim(), /^\[exited with 0\]$/, 'nothing is left behind on the normal screen');
  });
});
