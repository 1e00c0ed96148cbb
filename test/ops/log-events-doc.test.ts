// docs/operations.md lists every event the server writes to chat.log, with its level, and
// nothing else: an operator writing a jq filter or an alert relies on those names. The events
// are read from the source, from each logger.info/warn/error call and each onError/onEvent
// report the store and the cluster pass to main.ts's logger.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ROOT } from '../helpers/server.js';

const EMITTERS = [
  /\blogger\.(info|warn|error)\(\s*'([a-z0-9-]+)'/g,
  /\bonEvent(?:\?\.)?\(\s*'(info|warn|error)',\s*'([a-z0-9-]+)'/g,
  // onError(event, error) becomes logger.error(event, { error }) in server/main.ts.
  /\bonError\(\s*()'([a-z0-9-]+)'/g,
  // Lines serialised by hand for speed (the HTTP access line, server/http/access-log.ts).
  /"level":"(info|warn|error)","event":"([a-z0-9-]+)"/g,
];

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

/** event -> level, from the code. */
function emittedEvents(): Map<string, string> {
  const events = new Map<string, string>();
  for (const file of sourceFiles(join(ROOT, 'server'))) {
    const source = readFileSync(file, 'utf8');
    for (const emitter of EMITTERS) {
      for (const [, level, event] of source.matchAll(emitter)) events.set(event!, level || 'error');
    }
  }
  return events;
}

/** event -> level, from the tables in the chat.log section of docs/operations.md. */
function documentedEvents(): Map<string, string> {
  const doc = readFileSync(join(ROOT, 'docs/operations.md'), 'utf8');
  const section = doc.slice(doc.indexOf('## chat.log, the activity log'), doc.indexOf('## Rotating chat.log'));
  const events = new Map<string, string>();
  for (const row of section.split('\n').filter((line) => line.startsWith('| `'))) {
    const [names, level] = row.split('|').slice(1, 3).map((cell) => cell.trim());
    for (const [, event] of names!.matchAll(/`([a-z0-9-]+)`/g)) events.set(event!, level!);
  }
  return events;
}

test('docs/operations.md lists exactly the chat.log events the server writes, each with its level', () => {
  const emitted = emittedEvents();
  const documented = documentedEvents();
  assert.ok(emitted.size >= 30, `found only ${emitted.size} events in the source; is the scan broken?`);
  const undocumented = [...emitted.keys()].filter((event) => !documented.has(event));
  const unknown = [...documented.keys()].filter((event) => !emitted.has(event));
  assert.deepEqual(undocumented, [], 'written by the server but missing from docs/operations.md');
  assert.deepEqual(unknown, [], 'documented but never written by the server');
  for (const [event, level] of emitted) assert.equal(documented.get(event), level, `the level of ${event}`);
});
