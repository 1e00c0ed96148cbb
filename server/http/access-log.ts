// One access line per answered request in chat.log, and the request counter and latency
// histogram by route pattern. prom-client hashes the label values on every inc/observe; the
// labelled children are cached here so the hot path does one Map lookup instead.
import type { Counter, Histogram } from 'prom-client';
import type { Logger } from '../ops/logger.js';
import type { Metrics } from '../ops/metrics.js';
import type { Exchange, RequestRecorder } from './exchange.js';

export class AccessLog implements RequestRecorder {
  readonly #logger: Logger;
  readonly #metrics: Metrics | null;
  readonly #counters = new Map<string, Counter.Internal>();
  readonly #timers = new Map<string, Histogram.Internal<string>>();

  constructor(logger: Logger, metrics: Metrics | null) {
    this.#logger = logger;
    this.#metrics = metrics;
  }

  record(exchange: Exchange, status: number): void {
    const ms = performance.now() - exchange.started;
    // The path only: query values stay out of the log, and paths here never carry secrets.
    this.#logger.info('http', {
      method: exchange.method,
      path: exchange.path,
      status,
      ms: Math.round(ms * 100) / 100,
      user: exchange.user,
    });
    if (this.#metrics === null || exchange.route === '') return;
    const key = `${exchange.method} ${exchange.route} ${status}`;
    let counter = this.#counters.get(key);
    if (counter === undefined) {
      counter = this.#metrics.httpRequests.labels(exchange.method, exchange.route, String(status));
      this.#counters.set(key, counter);
    }
    counter.inc();
    if (exchange.isLongLived) return;
    const timerKey = `${exchange.method} ${exchange.route}`;
    let timer = this.#timers.get(timerKey);
    if (timer === undefined) {
      timer = this.#metrics.httpDuration.labels(exchange.method, exchange.route);
      this.#timers.set(timerKey, timer);
    }
    timer.observe(ms / 1000);
  }
}
