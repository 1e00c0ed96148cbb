// The startup banner's addresses are ones a person can paste: an IPv6 host is bracketed in a URL,
// and the store line says how many changes the store holds.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadConfig } from '../../server/config.js';
import { banner } from '../../server/ops/banner.js';

const PORTS = { tcpPort: 8783, httpPort: 8784, metricsPort: null };
const STATS = {
  ring: { used: 42, capacity: 131_072, arenaUsedBytes: 4096, arenaBytes: 64 * 1048576 },
  pool: { queued: 0, utilization: 0, threads: 2, completed: 0 },
};

function bannerFor(...flags: string[]): string {
  const config = loadConfig(['--memory', ...flags], {});
  assert.ok(config);
  return banner(config, PORTS, STATS);
}

test('an IPv6 host is bracketed in the banner\'s URLs and bare for nc', () => {
  const text = bannerFor('--host', '::1');
  assert.match(text, /Web client {3}http:\/\/\[::1\]:8784\/\n/);
  assert.match(text, /HTTP API {5}http:\/\/\[::1\]:8784\/api\/ {2}\(listening on ::1\)\n/);
  assert.match(text, /Metrics {6}http:\/\/\[::1\]:8784\/metrics\n/);
  assert.match(text, /TCP chat {5}\[::1\]:8783 {2}\(try: nc ::1 8783\)\n/);
});

test('an IPv4 host and the any-address are shown as they are typed', () => {
  assert.match(bannerFor('--host', '127.0.0.1'), /Web client {3}http:\/\/127\.0\.0\.1:8784\/\n/);
  assert.match(bannerFor('--host', '::'), /Web client {3}http:\/\/localhost:8784\/\n/);
});

test('the store line counts the changes the store holds', () => {
  assert.match(bannerFor(), /Store {8}42 changes kept of 131072, 64 MiB for texts\n/);
});
