// One access line per answered request in chat.log, and the request counts and latency by
// route pattern (server/ops/http-stats.ts). This runs once per request on the hot path, so the
// line is built by hand (a JSON.stringify of an object spread with a replacer cost more than
// the rest of a cached poll answer) and handed to the logger's batched access writer.
import type { Logger } from '../ops/logger.js';
import type { Metrics } from '../ops/metrics.js';
import type { Exchange, RequestRecorder } from './exchange.js';

export class AccessLog implements RequestRecorder {
  readonly #logger: Logger;
  readonly #metrics: Metrics | null;
  readonly #clock = new IsoClock();

  constructor(logger: Logger, metrics: Metrics | null) {
    this.#logger = logger;
    this.#metrics = metrics;
  }

  record(exchange: Exchange, status: number): void {
    const ms = performance.now() - exchange.started;
    if (this.#logger.isWriting) this.#logger.access(this.#line(exchange, status, ms));
    if (this.#metrics === null || exchange.route === '') return;
    const stats = this.#metrics.http.of(exchange.method, exchange.route);
    stats.countAnswer(status);
    if (!exchange.isLongLived) stats.observeDuration(ms / 1000);
  }

  // The same shape as the logger's event lines. The path only: query values stay out of the
  // log, and paths here never carry secrets. The method and path come from the client, so they
  // are escaped like any string.
  #line(exchange: Exchange, status: number, ms: number): string {
    const user = exchange.user === undefined ? '' : `,"user":${JSON.stringify(exchange.user)}`;
    return (
      `{"time":"${this.#clock.now()}","level":"info","event":"http","method":${JSON.stringify(exchange.method)},` +
      `"path":${JSON.stringify(exchange.path)},"status":${status},"ms":${Math.round(ms * 100) / 100}${user}}`
    );
  }
}

/** new Date().toISOString(), formatted once per millisecond however many lines share it. */
class IsoClock {
  #ms = 0;
  #text = '';

  now(): string {
    const ms = Date.now();
    if (ms !== this.#ms) {
      this.#ms = ms;
      this.#text = new Date(ms).toISOString();
    }
    return this.#text;
  }
}
