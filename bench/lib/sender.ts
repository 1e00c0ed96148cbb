// Sends probes at a fixed rate, open loop: each send starts on schedule whether or not the
// previous one was acknowledged, as independent users would, so a slow server shows up as
// latency rather than as a sender that quietly slowed down.
import type { Connection } from '../../client/desktop/connection.js';
import type { ApiClient } from './api.js';
import { probeText } from './probe.js';

export type SendProbe = (text: string) => Promise<unknown>;

export interface SendOutcome {
  sent: number;
  failed: number;
  errors: string[];
}

export function httpSender(api: ApiClient, cookie: string): SendProbe {
  return (text) => api.post(cookie, text);
}

export function tcpSender(connection: Connection): SendProbe {
  return (text) => connection.request('send', { text });
}

/**
 * Sends probes 1..count, `perSecond` of them a second, spread round-robin over `senders`.
 * Resolves when every send was answered.
 */
export async function sendProbes(senders: SendProbe[], count: number, perSecond: number): Promise<SendOutcome> {
  const outcome: SendOutcome = { sent: 0, failed: 0, errors: [] };
  const pending: Promise<void>[] = [];
  const periodMs = 1000 / perSecond;
  const start = performance.now();
  for (let seq = 1; seq <= count; seq++) {
    const due = start + (seq - 1) * periodMs;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
    const send = senders[seq % senders.length]!;
    pending.push(
      send(probeText(seq)).then(
        () => void outcome.sent++,
        (error: unknown) => {
          outcome.failed++;
          if (outcome.errors.length < 5) outcome.errors.push((error as Error).message);
        },
      ),
    );
  }
  await Promise.all(pending);
  return outcome;
}
