// Counts what a swarm's clients receive during one measurement: every delivery of probe 1..N
// to every client, its latency, and duplicates. The runner adds up the reports of all swarms;
// "nothing dropped" means every probe reached every client.
//
// Probes are tracked by set membership (one bit per client and probe), not by order: the
// sender's probe numbers follow send order, and two sends in flight at once may be stored the
// other way round, which is no fault of the server.
import { createHistogram, recordLatency } from './histogram.js';
import { monotonicMs, readProbe } from './probe.js';

export interface DeliveryReport {
  delivered: number;
  duplicates: number;
  /** Latency of every pushed delivery (SSE, TCP), histogram.ts buckets. */
  histogram: Uint32Array;
  /** Latency of deliveries found by polling (includes the wait for the next poll). */
  pollHistogram: Uint32Array;
  /** Per probe (index seq - 1): how many clients got it and the slowest of them, in ms. */
  receivedBy: Uint32Array;
  slowestMs: Float64Array;
}

export class Deliveries {
  #expected = 0;
  #clients = 0;
  /** Bit (client * expected + seq - 1): this client has this probe. */
  #seen = new Uint8Array(0);
  #report: DeliveryReport = Deliveries.#empty(0);

  static #empty(expected: number): DeliveryReport {
    return {
      delivered: 0,
      duplicates: 0,
      histogram: createHistogram(),
      pollHistogram: createHistogram(),
      receivedBy: new Uint32Array(expected),
      slowestMs: new Float64Array(expected),
    };
  }

  /** Starts a measurement of probes 1..expected over `clients` clients. */
  reset(expected: number, clients: number): void {
    this.#expected = expected;
    this.#clients = clients;
    this.#seen = new Uint8Array(Math.ceil((expected * clients) / 8));
    this.#report = Deliveries.#empty(expected);
  }

  /** Client `client` received a message with this text (probes are timed, the rest ignored). */
  record(client: number, text: string, isPoll = false): void {
    const probe = readProbe(text);
    if (!probe || probe.seq < 1 || probe.seq > this.#expected || client >= this.#clients) return;
    const latency = monotonicMs() - probe.sentAtMs;
    const report = this.#report;
    const bit = client * this.#expected + probe.seq - 1;
    const mask = 1 << (bit & 7);
    if (this.#seen[bit >> 3]! & mask) {
      report.duplicates++;
      return;
    }
    this.#seen[bit >> 3]! |= mask;
    report.delivered++;
    recordLatency(isPoll ? report.pollHistogram : report.histogram, latency);
    report.receivedBy[probe.seq - 1]!++;
    if (latency > report.slowestMs[probe.seq - 1]!) report.slowestMs[probe.seq - 1] = latency;
  }

  get report(): DeliveryReport {
    return this.#report;
  }
}
