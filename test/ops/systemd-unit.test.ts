// deploy/*.service and *.timer pass `systemd-analyze verify` without a single warning. verify
// also checks that each ExecStart= program exists and is executable, and this machine has no
// /opt/parley; so the units are copied to a temporary folder with /opt/parley pointed at this
// checkout and /usr/bin/node at the node running the tests. Nothing else is changed.
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ROOT } from '../helpers/server.js';
import { run } from './support.js';

const SYSTEMD_ANALYZE = '/usr/bin/systemd-analyze';
const UNITS = ['parley.service', 'parley-clean.service', 'parley-clean.timer'];

const skip = !existsSync(SYSTEMD_ANALYZE) && process.env.CI !== 'true'
  ? `${SYSTEMD_ANALYZE} is not installed (Debian package systemd); CI installs it`
  : false;

function unitsForThisMachine(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'parley-units-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const root = ROOT.replace(/\/$/, '');
  for (const unit of UNITS) {
    const text = readFileSync(join(ROOT, 'deploy', unit), 'utf8')
      .replaceAll('/usr/bin/node ', `${process.execPath} `)
      .replaceAll('/opt/parley/', `${root}/`);
    writeFileSync(join(dir, unit), text);
  }
  return dir;
}

test('the service and timer units verify without warnings', { skip }, async (t) => {
  const dir = unitsForThisMachine(t);
  const result = await run(SYSTEMD_ANALYZE, ['verify', '--man=no', ...UNITS.map((unit) => join(dir, unit))]);
  assert.equal(`${result.stdout}${result.stderr}`, '', 'systemd-analyze verify printed warnings');
  assert.equal(result.code, 0);
});

test('verify rejects a unit with a misspelt directive, so the check above means something', { skip }, async (t) => {
  const dir = unitsForThisMachine(t);
  const broken = join(dir, 'broken.service');
  copyFileSync(join(dir, 'parley.service'), broken);
  writeFileSync(broken, readFileSync(broken, 'utf8').replace('ProtectSystem=strict', 'ProtectSystm=strict'));
  const result = await run(SYSTEMD_ANALYZE, ['verify', '--man=no', broken]);
  assert.match(`${result.stdout}${result.stderr}`, /Unknown key 'ProtectSystm'/);
});

test('the server unit keeps the hardening V8 can live with', () => {
  const unit = readFileSync(join(ROOT, 'deploy/parley.service'), 'utf8');
  const directives = unit.split('\n').filter((line) => /^[A-Z]\w*=/.test(line));
  const has = (line: string) => directives.includes(line);
  for (const line of [
    'DynamicUser=yes',
    'StateDirectory=parley',
    'LogsDirectory=parley',
    'ProtectSystem=strict',
    'NoNewPrivileges=yes',
    'CapabilityBoundingSet=',
    'Restart=on-failure',
    'ExecReload=/bin/kill -HUP $MAINPID',
  ]) {
    assert.ok(has(line), `parley.service lacks ${line}`);
  }
  // V8's JIT maps pages writable and executable; under MemoryDenyWriteExecute node aborts at start.
  assert.ok(!directives.some((line) => line.startsWith('MemoryDenyWriteExecute=')));
  // With other users' processes hidden, a PID file left by a crash whose number another user's
  // process now has could not be told from a running Parley, and the service stayed down.
  assert.ok(!directives.some((line) => line.startsWith('ProtectProc=')));
  const files = Number(/^LimitNOFILE=(\d+)$/m.exec(unit)?.[1]);
  assert.ok(files >= 65536, `LimitNOFILE is ${files}; thousands of clients need far more`);
});

test('systemd rates the server unit as well confined', { skip }, async (t) => {
  const dir = unitsForThisMachine(t);
  const result = await run(SYSTEMD_ANALYZE, ['security', '--offline=yes', '--no-pager', join(dir, 'parley.service')]);
  if (/unrecognized option|unknown option/i.test(result.stderr)) {
    t.skip('this systemd-analyze has no --offline (systemd < 250)');
    return;
  }
  const exposure = Number(/Overall exposure level for parley\.service: ([\d.]+)/.exec(result.stdout)?.[1]);
  // 0 is a fully locked-down unit and 10 an unconfined one; systemd calls up to 1.9 "OK".
  assert.ok(exposure <= 2, `exposure level ${exposure}:\n${result.stdout}`);
});

test('clean.sh is executable, as the unit and the cron line run it directly', () => {
  assert.ok(statSync(join(ROOT, 'scripts/clean.sh')).mode & 0o111);
});
