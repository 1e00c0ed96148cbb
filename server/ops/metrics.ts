// Every Prometheus metric Parley exports (GET /metrics), in one registry the edges record into.
// Gauges that are cheap to read on demand (ring fill, connected clients, pool queue) use
// `collect` callbacks instead of being kept up to date on every change.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { StoreStats } from '../chat/chat.js';
import { HttpStats } from './http-stats.js';

export type Transport = 'tcp' | 'sse' | 'longpoll';

export interface GaugeSources {
  /** Ring fill and worker pool figures. */
  store(): StoreStats;
  /** Connected clients by transport. */
  clients(): Record<Transport, number>;
}

export class Metrics {
  readonly registry = new Registry();

  /** Requests by route and status, and their latency (kept off prom-client's hot path). */
  readonly http = new HttpStats();

  readonly tcpFrames = new Counter({
    name: 'parley_tcp_requests_total',
    help: 'TCP protocol requests answered, by operation and outcome (ok or an error code).',
    labelNames: ['op', 'outcome'] as const,
    registers: [this.registry],
  });

  readonly messagesSent = new Counter({
    name: 'parley_messages_sent_total',
    help: 'New messages seen by this node (idempotent retries not counted); in a cluster every node sees all, so use max() across nodes, not sum().',
    registers: [this.registry],
  });

  readonly messagesDeleted = new Counter({
    name: 'parley_messages_deleted_total',
    help: 'Deletions seen by this node; in a cluster every node sees all, so use max() across nodes, not sum().',
    registers: [this.registry],
  });

  readonly logins = new Counter({
    name: 'parley_logins_total',
    help: 'Sessions created, by transport.',
    labelNames: ['transport'] as const,
    registers: [this.registry],
  });

  readonly journalFsync = new Histogram({
    name: 'parley_journal_fsync_seconds',
    help: 'Duration of each group-committed journal fsync.',
    buckets: [0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5],
    registers: [this.registry],
  });

  readonly journalBatch = new Histogram({
    name: 'parley_journal_batch_records',
    help: 'Records made durable by one fsync (group commit size).',
    buckets: [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000],
    registers: [this.registry],
  });

  readonly slowConsumers = new Counter({
    name: 'parley_slow_consumers_disconnected_total',
    help: 'Clients cut off because they did not read what was pushed to them.',
    labelNames: ['transport'] as const,
    registers: [this.registry],
  });

  constructor(sources: GaugeSources) {
    this.http.register(this.registry);
    collectDefaultMetrics({ register: this.registry, prefix: 'parley_' });
    const registers = [this.registry];

    new Gauge({
      name: 'parley_ring_changes',
      help: 'Messages and deletions held in the shared-memory ring.',
      registers,
      collect() {
        this.set(sources.store().ring.used);
      },
    });
    new Gauge({
      name: 'parley_ring_capacity',
      help: 'Slots in the shared-memory ring.',
      registers,
      collect() {
        this.set(sources.store().ring.capacity);
      },
    });
    new Gauge({
      name: 'parley_ring_fill_ratio',
      help: 'How full the ring is (the larger of slots and text arena), 0 to 1.',
      registers,
      collect() {
        const ring = sources.store().ring;
        this.set(Math.max(ring.used / ring.capacity, ring.arenaUsedBytes / ring.arenaBytes));
      },
    });
    new Gauge({
      name: 'parley_connected_clients',
      help: 'Connected clients, by transport.',
      labelNames: ['transport'] as const,
      registers,
      collect() {
        for (const [transport, count] of Object.entries(sources.clients())) this.set({ transport }, count);
      },
    });
    new Gauge({
      name: 'parley_worker_queue_length',
      help: 'Tasks waiting for a worker thread.',
      registers,
      collect() {
        this.set(sources.store().pool.queued);
      },
    });
    new Gauge({
      name: 'parley_worker_utilization',
      help: 'Share of time the worker threads were busy since start, 0 to 1.',
      registers,
      collect() {
        this.set(sources.store().pool.utilization);
      },
    });
    new Counter({
      name: 'parley_worker_tasks_total',
      help: 'Tasks the worker threads finished: heavy write batches and journal compactions.',
      registers,
      collect() {
        this.reset();
        this.inc(sources.store().pool.completed);
      },
    });
    new Gauge({
      name: 'parley_worker_threads',
      help: 'Worker threads in the pool.',
      registers,
      collect() {
        this.set(sources.store().pool.threads);
      },
    });
  }

  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
