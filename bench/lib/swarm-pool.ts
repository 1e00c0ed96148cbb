// The runner's side of the swarms: forks them, deals clients out evenly, and merges what they
// report into one set of figures.
import { fork, type ChildProcess } from 'node:child_process';
import { createHistogram, mergeInto } from './histogram.js';
import { SWARM_MAIN } from './paths.js';
import { readFileLimit } from './proc-stats.js';
import { sleep } from './wait.js';
import type { ClientKind, ClientPlan, SwarmCommand, SwarmReply, SwarmReport } from './swarm-protocol.js';

/** Clients per swarm process: well under any open-file limit, and two cores' worth of work. */
const CLIENTS_PER_SWARM = 4_000;
/** Descriptors a swarm keeps for itself (stdio, IPC, the event loop, login connections). */
const RESERVED_FILES = 200;

export interface ConnectResult {
  connected: number;
  failed: number;
  errors: string[];
}

/** All swarms' reports added up (slowestMs: the slowest of any swarm). */
export type MergedReport = SwarmReport;

class Swarm {
  readonly #child: ChildProcess;
  #queue: Promise<unknown> = Promise.resolve();

  constructor() {
    this.#child = fork(SWARM_MAIN, [], { serialization: 'advanced', stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  }

  /** Sends one command and waits for its reply; commands to one swarm run one after another. */
  ask(command: SwarmCommand): Promise<SwarmReply> {
    const answer = this.#queue.then(
      () =>
        new Promise<SwarmReply>((resolve, reject) => {
          const onExit = (code: number | null) => reject(new Error(`a swarm process exited (${code}) during "${command.type}"`));
          this.#child.once('exit', onExit);
          this.#child.once('message', (reply: SwarmReply) => {
            this.#child.off('exit', onExit);
            if (reply.type === 'error') reject(new Error(`swarm: ${reply.message}`));
            else resolve(reply);
          });
          this.#child.send(command);
        }),
    );
    this.#queue = answer.catch(() => {});
    return answer;
  }

  get pid(): number {
    return this.#child.pid!;
  }

  stop(): Promise<void> {
    if (this.#child.exitCode !== null || this.#child.signalCode !== null) return Promise.resolve();
    const exited = new Promise<void>((resolve) => this.#child.once('exit', () => resolve()));
    this.#child.disconnect();
    return exited;
  }
}

export class SwarmPool {
  readonly #swarms: Swarm[];

  private constructor(swarms: Swarm[]) {
    this.#swarms = swarms;
  }

  /** Enough swarms for `clients` connections at once. */
  static start(clients: number): SwarmPool {
    const perSwarm = Math.min(CLIENTS_PER_SWARM, readFileLimit().soft - RESERVED_FILES);
    const count = Math.max(1, Math.ceil(clients / perSwarm));
    return new SwarmPool(Array.from({ length: count }, () => new Swarm()));
  }

  get size(): number {
    return this.#swarms.length;
  }

  /** Swarm process ids, to measure what the clients themselves cost. */
  get pids(): number[] {
    return this.#swarms.map((swarm) => swarm.pid);
  }

  async connect(kind: ClientKind, plans: ClientPlan[], last: number, pollIntervalMs = 5_000): Promise<ConnectResult> {
    const shares = this.#swarms.map((_, i) => plans.filter((__, j) => j % this.#swarms.length === i));
    const replies = await Promise.all(
      this.#swarms.map((swarm, i) => swarm.ask({ type: 'connect', kind, clients: shares[i]!, last, pollIntervalMs })),
    );
    const result: ConnectResult = { connected: 0, failed: 0, errors: [] };
    for (const reply of replies) {
      if (reply.type !== 'connected') continue;
      result.connected += reply.connected;
      result.failed += reply.failed;
      result.errors.push(...reply.errors);
    }
    return result;
  }

  /** Starts a measurement of probes 1..expected. */
  async reset(expected: number): Promise<void> {
    await Promise.all(this.#swarms.map((swarm) => swarm.ask({ type: 'reset', expected })));
  }

  /** Deliveries so far, summed over the swarms. */
  async delivered(): Promise<number> {
    const replies = await Promise.all(this.#swarms.map((swarm) => swarm.ask({ type: 'progress' })));
    return replies.reduce((sum, reply) => sum + (reply.type === 'progress' ? reply.delivered : 0), 0);
  }

  /** Waits until `expected` deliveries arrived or `timeoutMs` passed, then reports. */
  async settle(expected: number, timeoutMs: number): Promise<MergedReport> {
    const deadline = performance.now() + timeoutMs;
    while (performance.now() < deadline && (await this.delivered()) < expected) await sleep(100);
    return this.report();
  }

  async report(): Promise<MergedReport> {
    const replies = await Promise.all(this.#swarms.map((swarm) => swarm.ask({ type: 'report' })));
    const reports = replies.flatMap((reply) => (reply.type === 'report' ? [reply.report] : []));
    const expected = Math.max(0, ...reports.map((r) => r.receivedBy.length));
    const merged: MergedReport = {
      delivered: 0,
      duplicates: 0,
      histogram: createHistogram(),
      pollHistogram: createHistogram(),
      receivedBy: new Uint32Array(expected),
      slowestMs: new Float64Array(expected),
      open: 0,
      lost: 0,
      lostReasons: [],
      pollErrors: 0,
    };
    for (const report of reports) {
      merged.delivered += report.delivered;
      merged.duplicates += report.duplicates;
      merged.open += report.open;
      merged.lost += report.lost;
      merged.pollErrors += report.pollErrors;
      merged.lostReasons.push(...report.lostReasons);
      mergeInto(merged.histogram, report.histogram);
      mergeInto(merged.pollHistogram, report.pollHistogram);
      for (let i = 0; i < report.receivedBy.length; i++) {
        merged.receivedBy[i]! += report.receivedBy[i]!;
        merged.slowestMs[i] = Math.max(merged.slowestMs[i]!, report.slowestMs[i]!);
      }
    }
    return merged;
  }

  /** Closes every client (TCP clients log out first); the swarms stay for the next round. */
  async closeClients(): Promise<void> {
    await Promise.all(this.#swarms.map((swarm) => swarm.ask({ type: 'close' })));
  }

  async stop(): Promise<void> {
    await Promise.all(this.#swarms.map((swarm) => swarm.stop()));
  }
}
