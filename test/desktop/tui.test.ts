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
import { until } from '../helpers/until.js';
import { closedPort } from '../helpers/closed-port.js';
import { Relay, type RelayLink } from './relay.js';
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
    await pane.waitFor(/\d\d:\d\d +alice ┃ hello world/);
    assert.deepEqual(await texts(server), ['hello world']);
  });

  await t.test('shows a message sent over HTTP as soon as it is posted, wrapping wide characters', async () => {
    const bobSays = await httpUser(server, 'bob');
    await bobSays(`from the web: ${'漢字'.repeat(30)} 👋 done`);
    const screen = await pane.waitFor(/bob │ from the web: 漢字/);
    const lines = screen.split('\n');
    const first = lines.findIndex((line) => line.includes('bob │ from the web'));
    // 134 cells of text in a 77-cell column: the first row is filled as far as a two-cell
    // character fits (CJK may break between any two characters), the second is indented under it.
    assert.match(lines[first]!, /│ from the web: (漢字){15}漢$/);
    assert.match(lines[first + 1]!, /^ {20}│ 字(漢字){14} 👋 done$/, 'the continuation line keeps the text column');
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
    await leaveSelection(pane);
  });

  await t.test('selects and deletes with the mouse: a right click asks, y deletes', async () => {
    pane.type('click me');
    pane.keys('Enter');
    await pane.waitFor(/\d\d:\d\d +alice ┃ click me/); // sent: a message still pending has no id to delete
    const row = pane.row('click me')!;
    pane.type(`\x1b[<2;30;${row.y + 1}M\x1b[<2;30;${row.y + 1}m`); // SGR mouse report: right button, press and release
    await pane.waitFor('Delete your message "click me"? (y/n)');
    pane.keys('y');
    await pane.waitFor((screen) => !screen.includes('click me'));
    await leaveSelection(pane);
  });

  await t.test('shows the server going away, queues what is typed, and catches up after a restart', async () => {
    await server.stop();
    await pane.waitFor('○ server restarting · reconnecting in');
    pane.type('typed while offline');
    pane.keys('Enter');
    await pane.waitFor('1 message waiting to send');
    assert.match(pane.row('typed while offline')!.line, /^\s+·\s+alice ┃ typed while offline/, 'shown as pending');

    server = await startServer({ dataDir, keepData: true, args: ['--tcp-port', String(port)] });
    const bobSays = await httpUser(server, 'bob');
    await bobSays('welcome back');
    await pane.waitFor(/\d\d:\d\d +alice ┃ typed while offline/);
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
    for (let i = 1; i <= 60; i++) await bobSays(`filler ${i}`);
    const before = await pane.waitFor('filler 60');
    const topBefore = before.split('\n')[1]!;
    pane.keys('PPage');
    const back = await pane.waitFor('↓ more below');
    assert.ok(!back.includes('filler 60') && back.includes('filler 12'), 'a page up shows the page before');
    const lines = back.split('\n');
    const mark = lines.findIndex((line) => line.includes('↓ more below'));
    assert.equal(lines[mark - 1], topBefore, 'the top line of the last page is kept as the bottom line of this one');
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

/** An SGR mouse report (what xterm sends with mode 1006): button code, 1-based column and row. */
/**
 * Escape, and wait until it took effect. Text typed right after Escape could reach the client
 * in the same read, and ESC followed by a letter is Alt+letter: the first letter would be lost.
 * The hints line cannot tell (it gives way to the status at 80 columns), but the cursor can: it
 * is hidden while a message is selected.
 */
async function leaveSelection(pane: TmuxPane): Promise<void> {
  await pane.waitFor(() => !pane.isCursorVisible(), 2_000);
  pane.keys('Escape');
  await pane.waitFor(() => pane.isCursorVisible());
}

function mouse(button: number, x: number, y: number, isPress = true): string {
  return `\x1b[<${button};${x};${y}${isPress ? 'M' : 'm'}`;
}
const WHEEL_UP = 64;
const WHEEL_DOWN = 65;
const LEFT_BUTTON = 0;

test('the terminal client takes pastes whole, leaves typing after a click alone, scrolls with the wheel, and keeps unsent messages', async (t) => {
  const server = await startServer();
  t.after(() => server.stop());
  const pane = new TmuxPane(`${process.execPath} ${CLIENT_MAIN} --host 127.0.0.1 --port ${server.tcpPort} --user alice`, {
    width: 80,
    height: 24,
  });
  t.after(() => pane.close());
  await pane.waitFor('● connected');

  await t.test('a pasted text with newlines goes into the composer as rows, and Enter sends it as one message', async () => {
    pane.type('\x1b[200~first line\nsecond line\x1b[201~');
    await pane.waitFor((screen) => /^ › first line$/m.test(screen) && /^ {3}second line$/m.test(screen));
    assert.deepEqual(await texts(server), [], 'nothing is sent by the paste');
    pane.keys('M-Enter'); // Alt-Enter: a new line of one's own
    pane.type('third line');
    await pane.waitFor(/^ {3}third line$/m);
    pane.keys('Enter');
    // With its time: a row still waiting to be sent shows the same text, with a · instead.
    await pane.waitFor((screen) => /\d\d:\d\d +alice ┃ first line\n +┃ second line\n +┃ third line\n/.test(screen));
    assert.deepEqual(await texts(server), ['first line\nsecond line\nthird line']);
  });

  await t.test('typing after a click on a message goes to the composer, and d deletes nothing', async () => {
    const row = pane.row('first line')!;
    pane.type(mouse(LEFT_BUTTON, 30, row.y + 1) + mouse(LEFT_BUTTON, 30, row.y + 1, false));
    await pane.waitFor('↑↓ move · Del delete · Esc back');
    pane.type('done');
    const screen = await pane.waitFor(/^ › done$/m);
    assert.doesNotMatch(screen, /\(y\/n\)/);
    pane.keys('C-u');
    await pane.waitFor('type a message');
  });

  await t.test('the mouse wheel scrolls back and forth', async () => {
    const bobSays = await httpUser(server, 'bob');
    for (let i = 1; i <= 30; i++) await bobSays(`filler ${i}`);
    await pane.waitFor(/bob │ filler 30$/m);
    pane.bytes(mouse(WHEEL_UP, 10, 10));
    const back = await pane.waitFor('↓ more below');
    assert.doesNotMatch(back, /filler 30$/m);
    assert.match(back, /bob │ filler 26$/m, 'three rows up per notch, one row under the mark');
    pane.bytes(mouse(WHEEL_DOWN, 10, 10));
    await pane.waitFor((screen) => /bob │ filler 30$/m.test(screen) && !screen.includes('↓'));
    pane.bytes(mouse(WHEEL_UP, 10, 10) + mouse(WHEEL_UP, 10, 10));
    await pane.waitFor('↓ more below · Enter to jump');
    pane.keys('Tab'); // select mode: Enter there jumps too, as the mark says
    await pane.waitFor('↑↓ move · Del delete · Esc back');
    pane.keys('Enter');
    await pane.waitFor((screen) => /bob │ filler 30$/m.test(screen) && !screen.includes('↓') && screen.includes('Tab select'));
  });

  await t.test('while the server is away, the answer to a delete shows in full at 80 columns', async () => {
    pane.type('mine');
    pane.keys('Enter');
    await pane.waitFor(/\d\d:\d\d +alice ┃ mine$/m); // sent, so it has an id to select
    await server.stop();
    await pane.waitFor('○ server restarting · reconnecting in');
    pane.keys('Tab'); // the newest message on screen: "mine"
    pane.keys('DC');
    const screen = await pane.waitFor('not deleted: you are offline');
    assert.match(screen, /^ ○ server restarting · reconnecting in \ds · not deleted: you are offline$/m);
    await leaveSelection(pane);
  });

  await t.test('quitting with a message unsent asks first, and the message is printed once the terminal is back', async () => {
    pane.type('never sent');
    pane.keys('Enter');
    await pane.waitFor('1 message waiting to send');
    pane.keys('C-c');
    await pane.waitFor('1 message not sent — quit anyway? (y/n)');
    pane.keys('n');
    await pane.waitFor('type a message');
    pane.keys('C-d'); // on an empty line Ctrl-D quits too, and asks the same
    await pane.waitFor('quit anyway? (y/n)');
    pane.keys('y');
    const screen = await pane.waitFor('[exited with 0]');
    assert.match(screen, /^parley-desktop: 1 message was not sent:\n {2}never sent\n\[exited with 0\]/m);
  });
});

test('on the name prompt with the server unreachable, a refused name says why in full at 80 columns', async (t) => {
  const port = await closedPort();
  const pane = new TmuxPane(`${process.execPath} ${CLIENT_MAIN} --host 127.0.0.1 --port ${port}`, { width: 80, height: 24 });
  t.after(() => pane.close());
  await pane.waitFor('○ offline');
  assert.ok(pane.row(`cannot reach 127.0.0.1:${port}: connection refused (is the server running?)`), 'the reason shows in full above');
  pane.type('x'.repeat(33));
  pane.keys('Enter');
  await pane.waitFor(/^ ○ offline · retrying in \ds · username is 33 characters; the limit is 32$/m);
});

test('a message resent after a lost reply, whose original was deleted meanwhile, leaves no empty row behind', async (t) => {
  const server = await startServer();
  t.after(() => server.stop());
  const relay = await Relay.start(server.tcpPort);
  t.after(() => relay.close());
  // The first send's reply is lost with the connection, and the client is kept out until the
  // message has been deleted elsewhere; its resend is then answered with a duplicate of a
  // message that is gone.
  const sendIds = new WeakMap<RelayLink, Set<number>>();
  let sendReplies = 0;
  relay.toServer = (line, link) => {
    const frame = JSON.parse(line) as { id?: number; op?: string };
    if (frame.op === 'send' && frame.id !== undefined) sendIds.set(link, (sendIds.get(link) ?? new Set()).add(frame.id));
    return undefined;
  };
  relay.toClient = (line, link) => {
    const frame = JSON.parse(line) as { id?: number; ok?: boolean };
    if (frame.ok === undefined || frame.id === undefined || !sendIds.get(link)?.has(frame.id)) return undefined;
    if (++sendReplies > 1) return undefined;
    relay.isAccepting = false;
    link.cut();
    return null;
  };
  const pane = new TmuxPane(`${process.execPath} ${CLIENT_MAIN} --host 127.0.0.1 --port ${relay.port} --user alice`, {
    width: 80,
    height: 24,
  });
  t.after(() => pane.close());
  await pane.waitFor('● connected');
  pane.type('gone before its answer');
  pane.keys('Enter');
  await pane.waitFor(() => !relay.isAccepting);

  const elsewhere = await Connection.open({ host: '127.0.0.1', port: server.tcpPort });
  t.after(() => elsewhere.close());
  await elsewhere.request('login', { username: 'alice' });
  const [original] = (await elsewhere.request('history', {})).messages;
  assert.equal(original?.text, 'gone before its answer');
  await elsewhere.request('delete', { messageId: original.id });
  relay.isAccepting = true;

  await pane.waitFor(() => sendReplies === 2);
  pane.type('after');
  pane.keys('Enter');
  const screen = await pane.waitFor(/\d\d:\d\d +alice ┃ after$/m);
  assert.doesNotMatch(screen, /alice ┃ *$/m, 'no row for the deleted original');
  assert.ok(!screen.includes('gone before its answer'));
});

test('a message over the limit is refused before sending, with the rule the server applies, and stays in the composer', async (t) => {
  const server = await startServer();
  t.after(() => server.stop());
  const pane = new TmuxPane(`${process.execPath} ${CLIENT_MAIN} --host 127.0.0.1 --port ${server.tcpPort} --user alice`, {
    width: 120,
    height: 24,
  });
  t.after(() => pane.close());
  await pane.waitFor('● connected');
  pane.type(`\x1b[200~${'x'.repeat(4_001)}\x1b[201~`);
  await pane.waitFor('4,001/4,000');
  pane.keys('Enter');
  await pane.waitFor('the message is 4001 characters; the limit is 4000, so shorten it or split it');
  assert.ok(pane.screen().includes('4,001/4,000'), 'the text is still there');
  pane.keys('BSpace');
  await pane.waitFor('4,000/4,000');
  pane.keys('Enter');
  await pane.waitFor('type a message'); // the composer is empty again
  await until(async () => (await texts(server)).length === 1, 'the message stored');
  assert.deepEqual((await texts(server)).map((text) => text.length), [4_000]);
});
