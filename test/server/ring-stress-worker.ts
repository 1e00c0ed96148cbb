// One thread of the ring stress test (ring-stress.test.ts): a writer appending batches of
// self-checking messages, or a reader verifying every change it can see until told to stop.
import { parentPort, workerData } from 'node:worker_threads';
import { RingBuffer, type Change } from '../../server/ring-buffer.js';

export type StressJob =
  | { role: 'writer'; buffer: SharedArrayBuffer; control: SharedArrayBuffer; writer: number; batches: number }
  | { role: 'reader'; buffer: SharedArrayBuffer; control: SharedArrayBuffer };
export interface WriterReport { role: 'writer'; seqs: number[]; batchesNotConsecutive: number; deletes: number }
export interface ReaderReport { role: 'reader'; messages: number; deletes: number; corrupt: number; outOfOrder: number; missed: number; historyReads: number; samples: string[] }

/** Control words shared by the test and its threads. */
export const STOP = 0;

const PADDING = ['', 'é', '漢字', '🙂🙃', 'abcdefghij', 'ñandú ', 'Ω≈ç√∫', 'x'.repeat(37)];

export function fnv1a(text: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193);
  return (hash >>> 0).toString(16);
}

/** The text a writer sends: it carries a checksum of its own content and of its author. */
export function stressText(writer: number, n: number): string {
  const body = `${writer}:${n}:${PADDING[(writer * 7 + n) % PADDING.length]}`;
  return `${body}|${fnv1a(`w${writer}|${body}`)}`;
}

/** True when the message is exactly what writer `user` sent as its message `n`. */
function isIntact(change: Change & { kind: 'message' }): boolean {
  const bar = change.text.lastIndexOf('|');
  const body = change.text.slice(0, bar);
  const [writer, n] = body.split(':');
  return (
    bar > 0 &&
    change.user === `w${writer}` &&
    change.text.slice(bar + 1) === fnv1a(`${change.user}|${body}`) &&
    change.timeMs === Number(writer) * 1e9 + Number(n) &&
    change.clientId === (Number(n) % 3 === 0 ? null : `${writer}-${n}`) &&
    change.text === stressText(Number(writer), Number(n))
  );
}

function runWriter(ring: RingBuffer, writer: number, batches: number): WriterReport {
  const seqs: number[] = [];
  let batchesNotConsecutive = 0;
  let deletes = 0;
  let n = 0;
  for (let batch = 0; batch < batches; batch++) {
    const size = 1 + ((batch * 5 + writer) % 8);
    const messages = Array.from({ length: size }, () => {
      n++;
      return { user: `w${writer}`, text: stressText(writer, n), timeMs: writer * 1e9 + n, clientId: n % 3 === 0 ? null : `${writer}-${n}` };
    });
    const given = ring.appendMessages(messages);
    if (given.some((seq, i) => i > 0 && seq !== given[i - 1]! + 1)) batchesNotConsecutive++;
    seqs.push(...given);
    let published = given[given.length - 1]!;
    if (batch % 10 === 9) {
      const deletion = ring.deleteMessage(given[0]!, `w${writer}`, writer * 1e9 + n);
      if (deletion.result === 'deleted') {
        deletes++;
        seqs.push(deletion.seq);
        published = deletion.seq;
      }
    }
    ring.publish(published);
  }
  return { role: 'writer', seqs, batchesNotConsecutive, deletes };
}

function runReader(ring: RingBuffer, control: Int32Array): ReaderReport {
  const report: ReaderReport = { role: 'reader', messages: 0, deletes: 0, corrupt: 0, outOfOrder: 0, missed: 0, historyReads: 0, samples: [] };
  const reject = (what: string) => {
    report.corrupt++;
    if (report.samples.length < 5) report.samples.push(what);
  };
  let cursor = 0;
  let round = 0;
  while (Atomics.load(control, STOP) === 0 || cursor < ring.published) {
    const { changes, last, missed } = ring.readChanges(cursor, 64);
    if (missed) report.missed++;
    for (const change of changes) {
      if (change.seq <= cursor) report.outOfOrder++;
      cursor = change.seq;
      if (change.kind === 'delete') {
        report.deletes++;
        if (change.messageId >= change.seq) reject(`delete ${change.seq} of later ${change.messageId}`);
      } else {
        report.messages++;
        if (!isIntact(change)) reject(JSON.stringify(change));
        if (change.deletedAt !== 0 && change.deletedAt <= change.seq) reject(`deletedAt ${change.deletedAt} on ${change.seq}`);
      }
    }
    if (last < cursor) report.outOfOrder++;
    cursor = Math.max(cursor, last);
    // The oldest changes are the ones writers are evicting right now: the likeliest torn reads.
    const tail = ring.readChanges(ring.oldest - 1, 64);
    tail.changes.forEach((change, i) => {
      if (i > 0 && change.seq <= tail.changes[i - 1]!.seq) report.outOfOrder++;
      if (change.kind === 'message' && !isIntact(change)) reject(`tail ${JSON.stringify(change)}`);
    });
    if (++round % 8 === 0) {
      const history = ring.readHistory(undefined, 32);
      report.historyReads++;
      history.forEach((change, i) => {
        if (i > 0 && change.seq <= history[i - 1]!.seq) report.outOfOrder++;
        if (!isIntact(change) || change.deletedAt !== 0) reject(`history ${JSON.stringify(change)}`);
      });
      const probe = ring.readMessage(ring.published - (round % 300));
      if (probe !== undefined && !isIntact(probe)) reject(`probe ${JSON.stringify(probe)}`);
    }
  }
  return report;
}

if (parentPort !== null) {
  const job = workerData as StressJob;
  const ring = RingBuffer.attach(job.buffer);
  const control = new Int32Array(job.control);
  parentPort.postMessage(job.role === 'writer' ? runWriter(ring, job.writer, job.batches) : runReader(ring, control));
}
