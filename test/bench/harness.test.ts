// The whole bench at tiny scale (`--check`): every scenario runs, every system starts, answers
// correctly and is measured. Timing goals are not asserted here (STYLE.md §6).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { SCENARIO_NAMES } from '../../bench/lib/options.js';

const RUN = fileURLToPath(new URL('../../bench/run.js', import.meta.url));

interface Written {
  scenarios: Array<{ name: string; systems: Record<string, { error?: string; metrics: Record<string, { median: number }> }> }>;
}

test('npm run bench -- --check runs every scenario against every system', { timeout: 300_000 }, (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'parley-bench-check-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const out = join(dir, 'check.json');
  const run = spawnSync(process.execPath, [RUN, '--check', '--out', out], { encoding: 'utf8', timeout: 280_000 });
  assert.equal(run.status, 0, `exit ${run.status}\n${run.stdout.slice(-4000)}\n${run.stderr.slice(-2000)}`);
  const written = JSON.parse(readFileSync(out, 'utf8')) as Written;
  assert.deepEqual(written.scenarios.map((s) => s.name), [...SCENARIO_NAMES]);
  for (const scenario of written.scenarios) {
    assert.ok(Object.keys(scenario.systems).includes('parley'), `${scenario.name} measured parley`);
    for (const [name, system] of Object.entries(scenario.systems)) {
      assert.equal(system.error, undefined, `${scenario.name}/${name}`);
      assert.ok(Object.values(system.metrics).some((m) => Number.isFinite(m.median)), `${scenario.name}/${name} has figures`);
    }
  }
});
