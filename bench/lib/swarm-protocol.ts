// Messages between the runner and its swarm processes (child_process IPC with the 'advanced'
// serialization, so typed arrays cross as they are).
import type { DeliveryReport } from './deliveries.js';

/** sse: GET /api/events on a raw socket. tcp: login + subscribe. poll: GET /api/messages?last= every interval. */
export type ClientKind = 'sse' | 'tcp' | 'poll';

export interface ClientPlan {
  /** HTTP port for sse and poll, TCP port for tcp. */
  port: number;
  username: string;
}

export type SwarmCommand =
  | { type: 'connect'; kind: ClientKind; clients: ClientPlan[]; last: number; pollIntervalMs: number }
  | { type: 'reset'; expected: number }
  | { type: 'report' }
  /** Only the delivery count: cheap enough to ask every few hundred ms while waiting. */
  | { type: 'progress' }
  | { type: 'close' };

export interface SwarmReport extends DeliveryReport {
  /** Clients open now. */
  open: number;
  /** Clients that closed without being asked, and why (the first few). */
  lost: number;
  lostReasons: string[];
  pollErrors: number;
}

export type SwarmReply =
  | { type: 'connected'; connected: number; failed: number; errors: string[] }
  | { type: 'report'; report: SwarmReport }
  | { type: 'progress'; delivered: number }
  | { type: 'closed' }
  | { type: 'error'; message: string };
