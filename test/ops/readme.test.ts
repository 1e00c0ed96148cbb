// The README is the first page a newcomer reads: its quick start must be the two commands that
// work, its configuration table must say what `--help` says, flag for flag, and the screenshots
// it shows must exist.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ROOT } from '../helpers/server.js';
import { runServer } from './support.js';

const README = readFileSync(join(ROOT, 'README.md'), 'utf8');

interface Option {
  flag: string;
  env: string;
  shown: string;
  help: string;
}

/** The options as `--help` prints them: the flag and its help, then its variable and default. */
function parseHelp(text: string): Option[] {
  const options: Option[] = [];
  for (const line of text.split('\n')) {
    const flagLine = /^ {2}(--\S+(?: [A-Z]+)?) +(\S.*)$/.exec(line);
    if (flagLine) {
      options.push({ flag: flagLine[1]!, env: '', shown: '', help: flagLine[2]! });
      continue;
    }
    const envLine = /^ +(PARLEY_[A-Z_]+), default: (.+)$/.exec(line);
    if (envLine) Object.assign(options.at(-1)!, { env: envLine[1], shown: envLine[2] });
  }
  return options;
}

/** The rows of the README's configuration table. */
function parseTable(): Option[] {
  const section = README.slice(README.indexOf('## Configuration'));
  return section
    .split('\n')
    .filter((line) => line.startsWith('| `--'))
    .map((line) => {
      const [flag, env, shown, help] = line.split('|').slice(1, 5).map((cell) => cell.trim());
      const code = (cell: string) => cell.replace(/^`(.*)`$/, '$1');
      return { flag: code(flag!), env: code(env!), shown: shown!, help: help! };
    });
}

test('the README configuration table says what --help says, for every flag', async () => {
  const result = await runServer(['--help']);
  assert.equal(result.code, 0, result.stderr);
  const help = parseHelp(result.stdout);
  assert.ok(help.length >= 18, `only ${help.length} options parsed from --help:\n${result.stdout}`);
  assert.deepEqual(parseTable(), help);
});

test('the README quick start is npm start and npm test, and its screenshots exist', () => {
  assert.ok(README.includes('\n```sh\nnpm start\n```\n'), 'a block with exactly `npm start`');
  assert.ok(README.includes('\n```sh\nnpm test\n```\n'), 'a block with exactly `npm test`');
  const images = [...README.matchAll(/!\[[^\]]+\]\(([^)]+)\)/g)].map((match) => match[1]!);
  assert.deepEqual(images, ['docs/images/web-client.png', 'docs/images/desktop-client.png']);
  for (const image of images) assert.ok(existsSync(join(ROOT, image)), image);
});
