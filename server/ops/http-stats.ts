// HTTP requests by route and status, and their latency histogram, counted in plain numbers on
// the hot path and handed to Prometheus only when /metrics is scraped.
//
// prom-client hashes and validates the label values on every inc() and observe(), even on a
// labelled child: on the polling path of issue 6 that cost ~3.5 µs per request, more than a
// tenth of answering it. Counting here is a few additions into one object per (method, route),
// found with two Map lookups and no string building.
import { Counter, type Histogram, type Registry } from 'prom-client';

/** Upper bounds in seconds of the latency buckets (cumulative, as Prometheus counts them). */
export const LATENCY_BUCKETS: readonly number[] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1];

const REQUESTS_NAME = 'parley_http_requests_total';
const DURATION_NAME = 'parley_http_request_duration_seconds';

/** What one (method, route) has answered so far. */
export class RouteStats {
  readonly method: string;
  readonly route: string;
  readonly answersByStatus = new Map<number, number>();
  /** Observations per bucket (not cumulative); the last slot is above every bound (+Inf). */
  readonly buckets = new Float64Array(LATENCY_BUCKETS.length + 1);
  durationCount = 0;
  durationSum = 0;

  constructor(method: string, route: string) {
    this.method = method;
    this.route = route;
  }

  countAnswer(status: number): void {
    this.answersByStatus.set(status, (this.answersByStatus.get(status) ?? 0) + 1);
  }

  observeDuration(seconds: number): void {
    let bucket = 0;
    while (bucket < LATENCY_BUCKETS.length && seconds > LATENCY_BUCKETS[bucket]!) bucket++;
    this.buckets[bucket]!++;
    this.durationCount++;
    this.durationSum += seconds;
  }
}

export class HttpStats {
  readonly #byRoute = new Map<string, Map<string, RouteStats>>();

  /** The stats of one (method, route pattern); made on first use. */
  of(method: string, route: string): RouteStats {
    let byMethod = this.#byRoute.get(route);
    if (byMethod === undefined) {
      byMethod = new Map();
      this.#byRoute.set(route, byMethod);
    }
    let stats = byMethod.get(method);
    if (stats === undefined) {
      stats = new RouteStats(method, route);
      byMethod.set(method, stats);
    }
    return stats;
  }

  /** Adds both metric families to `registry`. */
  register(registry: Registry): void {
    const all = () => [...this.#byRoute.values()].flatMap((byMethod) => [...byMethod.values()]);
    new Counter({
      name: REQUESTS_NAME,
      help: 'HTTP requests answered, by route and status.',
      labelNames: ['method', 'route', 'status'] as const,
      registers: [registry],
      collect() {
        // The totals here only grow, so setting the counter to them keeps it monotonic.
        this.reset();
        for (const stats of all()) {
          for (const [status, count] of stats.answersByStatus) {
            this.inc({ method: stats.method, route: stats.route, status: String(status) }, count);
          }
        }
      },
    });
    // prom-client's Histogram can only be fed one observation at a time, so this family is
    // built here in the shape its Registry reads from any metric: name, help, type, aggregator
    // and get(). That duck type is all Registry#registerMetric uses; the cast names the one
    // class with that shape in prom-client's typings.
    const histogram = {
      name: DURATION_NAME,
      help: 'Time from request to response end, by route (long-polls and streams excluded).',
      type: 'histogram',
      aggregator: 'sum',
      get: async () => ({
        name: DURATION_NAME,
        help: histogram.help,
        type: 'histogram',
        aggregator: 'sum',
        values: all()
          .filter((stats) => stats.durationCount > 0)
          .flatMap((stats) => histogramSamples(stats)),
      }),
    };
    registry.registerMetric(histogram as unknown as Histogram);
  }
}

interface Sample {
  metricName: string;
  labels: Record<string, string | number>;
  value: number;
}

function histogramSamples(stats: RouteStats): Sample[] {
  const labels = { method: stats.method, route: stats.route };
  const samples: Sample[] = [];
  let cumulative = 0;
  for (let i = 0; i <= LATENCY_BUCKETS.length; i++) {
    cumulative += stats.buckets[i]!;
    const le = i < LATENCY_BUCKETS.length ? LATENCY_BUCKETS[i]! : '+Inf';
    samples.push({ metricName: `${DURATION_NAME}_bucket`, labels: { ...labels, le }, value: cumulative });
  }
  samples.push({ metricName: `${DURATION_NAME}_sum`, labels, value: stats.durationSum });
  samples.push({ metricName: `${DURATION_NAME}_count`, labels, value: stats.durationCount });
  return samples;
}
