// Connected clients by transport, for metrics, the banner and connection limits.
import type { Transport } from './metrics.js';

export class ClientCounts {
  readonly #counts: Record<Transport, number> = { tcp: 0, sse: 0, longpoll: 0 };

  opened(transport: Transport): void {
    this.#counts[transport]++;
  }

  closed(transport: Transport): void {
    this.#counts[transport]--;
  }

  get(transport: Transport): number {
    return this.#counts[transport];
  }

  snapshot(): Record<Transport, number> {
    return { ...this.#counts };
  }
}
