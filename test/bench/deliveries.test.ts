// Delivery accounting in the swarms: set membership per client, duplicates, and latency from
// the time stamped into the probe.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Deliveries } from '../../bench/lib/deliveries.js';
import { countOf, latencyPercentile } from '../../bench/lib/histogram.js';
import { probeText, readProbe } from '../../bench/lib/probe.js';

test('a probe carries its number and send time, and other texts are not probes', () => {
  const probe = readProbe(probeText(42, 'padding'));
  assert.equal(probe?.seq, 42);
  assert.ok(probe!.sentAtMs > 0);
  assert.equal(readProbe('hello'), undefined);
  assert.equal(readProbe('probe x 1'), undefined);
});

test('counts each probe once per client, in any order, and flags repeats as duplicates', () => {
  const deliveries = new Deliveries();
  deliveries.reset(3, 2);
  const [one, two, three] = [1, 2, 3].map((seq) => probeText(seq));
  for (const text of [two!, one!, three!]) deliveries.record(0, text);
  deliveries.record(1, three!);
  deliveries.record(1, three!);
  deliveries.record(1, 'not a probe');
  const report = deliveries.report;
  assert.equal(report.delivered, 4);
  assert.equal(report.duplicates, 1);
  assert.deepEqual([...report.receivedBy], [1, 1, 2]);
  assert.equal(countOf(report.histogram), 4);
  assert.ok(latencyPercentile(report.histogram, 100) < 1_000);
});

test('ignores probes outside the measurement and clients it was not sized for', () => {
  const deliveries = new Deliveries();
  deliveries.reset(2, 1);
  deliveries.record(0, probeText(3));
  deliveries.record(5, probeText(1));
  assert.equal(deliveries.report.delivered, 0);
});
