// A probe is a chat message whose text carries its sequence number and the moment it was sent,
// so any receiving process can time the delivery and spot gaps without asking the sender.
//
//   "probe 42 1234567890123.456 ..padding.."   (seq, sent-at in ms on the monotonic clock)
//
// process.hrtime reads CLOCK_MONOTONIC, which every process on one Linux machine shares, so a
// time stamped by the sender and read by a swarm process compare directly.

const PREFIX = 'probe ';

export function monotonicMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

/** The text of probe `seq`, stamped now. */
export function probeText(seq: number, padding = ''): string {
  return `${PREFIX}${seq} ${monotonicMs().toFixed(3)}${padding ? ` ${padding}` : ''}`;
}

export interface Probe {
  seq: number;
  sentAtMs: number;
}

/** The probe inside a message text, or undefined for any other message. */
export function readProbe(text: string): Probe | undefined {
  if (!text.startsWith(PREFIX)) return undefined;
  const space = text.indexOf(' ', PREFIX.length);
  if (space === -1) return undefined;
  const end = text.indexOf(' ', space + 1);
  const seq = Number(text.slice(PREFIX.length, space));
  const sentAtMs = Number(text.slice(space + 1, end === -1 ? undefined : end));
  return Number.isSafeInteger(seq) && Number.isFinite(sentAtMs) ? { seq, sentAtMs } : undefined;
}
