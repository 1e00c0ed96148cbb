// One SSE subscriber on a raw socket: writes the GET by hand and feeds the answer to SseParser.
// Light enough that a swarm process holds thousands: one socket, one parser, no timers.
import { connect, type Socket } from 'node:net';
import { isChatMessage } from './api.js';
import { HOST } from './paths.js';
import { SseParser, type SseEvent } from './sse-parser.js';

const CONNECT_TIMEOUT_MS = 15_000;

export interface SseSubscriberOptions {
  port: number;
  cookie: string;
  last: number;
  /** Text of every chat message received. */
  onMessage: (text: string) => void;
  /** The stream broke after it was open (not called for our own close()). */
  onLost: (reason: string) => void;
}

/** The chat message an SSE `message` event carries: the message itself, or `{message}`. */
export function messageText(event: SseEvent): string | undefined {
  if (event.event !== 'message') return undefined;
  let value: unknown;
  try {
    value = JSON.parse(event.data);
  } catch {
    return undefined;
  }
  if (isChatMessage(value)) return value.text;
  const inner = typeof value === 'object' && value !== null ? (value as { message?: unknown }).message : undefined;
  return isChatMessage(inner) ? inner.text : undefined;
}

export class SseSubscriber {
  readonly #socket: Socket;
  #isClosing = false;

  private constructor(socket: Socket) {
    this.#socket = socket;
  }

  /** Resolves once the server answered 200 text/event-stream. */
  static open(options: SseSubscriberOptions): Promise<SseSubscriber> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host: HOST, port: options.port });
      const subscriber = new SseSubscriber(socket);
      let isOpen = false;
      const timer = setTimeout(() => fail('no answer within 15 s'), CONNECT_TIMEOUT_MS);
      const fail = (reason: string) => {
        clearTimeout(timer);
        socket.destroy();
        if (!isOpen) reject(new Error(reason));
        else if (!subscriber.#isClosing) options.onLost(reason);
      };
      const parser = new SseParser((event) => {
        const text = messageText(event);
        if (text !== undefined) options.onMessage(text);
      });
      socket.setNoDelay(true);
      socket.on('connect', () => {
        socket.write(
          `GET /api/events?last=${options.last} HTTP/1.1\r\nHost: ${HOST}:${options.port}\r\n` +
            `Accept: text/event-stream\r\nCookie: ${options.cookie}\r\n\r\n`,
        );
      });
      socket.on('data', (chunk: Buffer) => {
        const result = parser.push(chunk);
        if (!result.ok) return fail(result.message);
        if (!isOpen && parser.status === 200) {
          isOpen = true;
          clearTimeout(timer);
          resolve(subscriber);
        }
      });
      socket.on('error', (error) => fail(error.message));
      socket.on('close', () => fail('the server closed the stream'));
    });
  }

  close(): void {
    this.#isClosing = true;
    this.#socket.destroy();
  }
}
