// How the bench turns rounds into figures and verdicts: medians that leave out failed rounds,
// worst-round targets, and latency percentiles past the histogram's cap, which must never be
// printed or compared as if they were measured.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatValue } from '../../bench/lib/format.js';
import { createHistogram, LATENCY_CAP_MS, latencyPercentile, mergeInto, recordLatency } from '../../bench/lib/histogram.js';
import { compare, judge, type Rounds } from '../../bench/lib/runner.js';
import { summarize } from '../../bench/lib/stats.js';

test('a summary leaves out rounds that yielded nothing but keeps every round it was given', () => {
  const summary = summarize([120, Number.NaN, 80, 100]);
  assert.equal(summary.median, 100);
  assert.equal(summary.min, 80);
  assert.equal(summary.max, 120);
  assert.equal(summary.spread, 0.4);
  assert.equal(summary.rounds.length, 4);
  assert.ok(Number.isNaN(summarize([Number.NaN]).median));
});

test('a target on the worst round with "below" is judged on the highest round, not the median', () => {
  const rounds: Rounds = new Map([['parley', [{ rssMb: 281 }, { rssMb: 276 }, { rssMb: 446 }]]]);
  const onMedian = judge({ metric: 'rssMb', system: 'parley', below: 400, label: 'RSS < 400 MB' }, rounds);
  assert.equal(onMedian.value, 281);
  assert.equal(onMedian.pass, true);
  const onWorst = judge({ metric: 'rssMb', system: 'parley', below: 400, worstRound: true, label: 'RSS < 400 MB' }, rounds);
  assert.equal(onWorst.value, 446);
  assert.equal(onWorst.pass, false);
});

test('a target whose rounds all failed is not measured, not passed', () => {
  const rounds: Rounds = new Map([['parley', [{ p99Ms: Number.NaN }, {} as Record<string, number>]]]);
  const result = judge({ metric: 'p99Ms', system: 'parley', below: 100, label: 'p99 < 100 ms' }, rounds);
  assert.equal(result.pass, undefined);
});

test('latencies above the cap make a percentile Infinity, never the cap itself', () => {
  const histogram = createHistogram();
  for (let i = 0; i < 98; i++) recordLatency(histogram, 4_000);
  recordLatency(histogram, LATENCY_CAP_MS + 1);
  recordLatency(histogram, 3 * LATENCY_CAP_MS);
  const p50 = latencyPercentile(histogram, 50);
  assert.ok(p50 >= 4_000 && p50 <= 4_000 * 1.01, `p50 ${p50} is within 1% above 4,000 ms`);
  assert.equal(latencyPercentile(histogram, 99), Number.POSITIVE_INFINITY);
  assert.equal(latencyPercentile(histogram, 100), Number.POSITIVE_INFINITY);
  assert.equal(formatValue(latencyPercentile(histogram, 99), { digits: 1, cap: LATENCY_CAP_MS }), '> 60,000');

  const merged = createHistogram();
  mergeInto(merged, histogram);
  assert.equal(latencyPercentile(merged, 99), Number.POSITIVE_INFINITY);
});

test('latencies below 100 ms keep 0.1 ms buckets, and a slow one just under the cap is still a number', () => {
  const histogram = createHistogram();
  recordLatency(histogram, 3.44);
  assert.equal(latencyPercentile(histogram, 100).toFixed(1), '3.5');
  recordLatency(histogram, LATENCY_CAP_MS - 1);
  const max = latencyPercentile(histogram, 100);
  assert.ok(max <= LATENCY_CAP_MS && max >= LATENCY_CAP_MS - 1, `max ${max}`);
});

test('a ratio against a side past the cap is a bound, and both past it is not a ratio', () => {
  const rounds: Rounds = new Map([
    ['parley', [{ p99Ms: 4_000 }, { p99Ms: 4_100 }, { p99Ms: 3_900 }]],
    ['plain', [{ p99Ms: Number.POSITIVE_INFINITY }, { p99Ms: Number.POSITIVE_INFINITY }, { p99Ms: 9_000 }]],
    ['fastify', [{ p99Ms: Number.POSITIVE_INFINITY }, { p99Ms: Number.POSITIVE_INFINITY }, { p99Ms: Number.POSITIVE_INFINITY }]],
  ]);
  const againstPlain = compare({ metric: 'p99Ms', system: 'parley', against: 'plain', atMost: 1 }, rounds, LATENCY_CAP_MS);
  assert.equal(againstPlain.bound, '≤');
  assert.equal(againstPlain.ratio, 4_000 / LATENCY_CAP_MS);
  assert.equal(againstPlain.pass, true);
  // Only the round where both sides were measured gives a per-round ratio.
  assert.equal(againstPlain.low, 3_900 / 9_000);
  assert.equal(againstPlain.high, 3_900 / 9_000);

  const plainAgainstParley = compare({ metric: 'p99Ms', system: 'plain', against: 'parley', atMost: 1 }, rounds, LATENCY_CAP_MS);
  assert.equal(plainAgainstParley.bound, '≥');
  assert.equal(plainAgainstParley.pass, false);
  const undecided = compare({ metric: 'p99Ms', system: 'plain', against: 'parley', atMost: 20 }, rounds, LATENCY_CAP_MS);
  assert.equal(undecided.pass, undefined);

  const bothPast = compare({ metric: 'p99Ms', system: 'fastify', against: 'plain' }, rounds, LATENCY_CAP_MS);
  assert.ok(Number.isNaN(bothPast.ratio));
  assert.equal(bothPast.pass, undefined);
});

test('a ratio of measured medians is judged against its target', () => {
  const rounds: Rounds = new Map([
    ['parley', [{ perSecond: 36_000 }, { perSecond: Number.NaN }, { perSecond: 34_000 }]],
    ['plain', [{ perSecond: 31_000 }, { perSecond: 32_000 }, { perSecond: 30_000 }]],
  ]);
  const result = compare({ metric: 'perSecond', system: 'parley', against: 'plain', atLeast: 1.3 }, rounds);
  assert.equal(result.ratio, 35_000 / 31_000);
  assert.equal(result.bound, undefined);
  assert.equal(result.pass, false);
  assert.equal(result.low, 34_000 / 30_000);
  assert.equal(result.high, 36_000 / 31_000);
});
