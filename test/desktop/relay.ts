// A TCP relay between a desktop client and a real Parley server, for the tests where the wire
// has to go wrong at one chosen moment: a reply that never comes, a connection cut right after
// a request went through, bytes the server would not send. It passes frames on line by line and
// lets a test look at each one, drop it, or write something else in its place; it can turn new
// connections away, and it counts the connections it accepted.
import { once } from 'node:events';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { FrameDecoder } from '../../protocol/frame-decoder.js';

export interface RelayLink {
  /** The desktop client's side. */
  readonly client: Socket;
  readonly upstream: Socket;
  /** Ends both sides at once, as a network failure would. */
  cut(): void;
}

/**
 * Called with every line (without its newline) on its way; returns what to pass on instead:
 * undefined passes the line on unchanged, null drops it, a string is written as it is (one
 * write, so several lines in it reach the other side together).
 */
export type FrameHook = (line: string, link: RelayLink) => string | null | undefined;

export class Relay {
  readonly port: number;
  /** New connections are closed at once while false, as if the server were still down. */
  isAccepting = true;
  /** Connections accepted (and passed on) so far. */
  accepted = 0;
  toServer: FrameHook = () => undefined;
  toClient: FrameHook = () => undefined;
  readonly links = new Set<RelayLink>();
  readonly #server: Server;

  private constructor(server: Server, port: number) {
    this.#server = server;
    this.port = port;
  }

  static async start(upstreamPort: number): Promise<Relay> {
    const server = createServer();
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const relay = new Relay(server, (server.address() as { port: number }).port);
    server.on('connection', (client) => relay.#accept(client, upstreamPort));
    return relay;
  }

  async close(): Promise<void> {
    for (const link of this.links) link.cut();
    this.#server.close();
    await once(this.#server, 'close');
  }

  #accept(client: Socket, upstreamPort: number): void {
    client.on('error', () => {});
    if (!this.isAccepting) {
      client.destroy();
      return;
    }
    this.accepted++;
    const upstream = connect({ host: '127.0.0.1', port: upstreamPort });
    upstream.on('error', () => {});
    const link: RelayLink = {
      client,
      upstream,
      cut: () => {
        client.destroy();
        upstream.destroy();
      },
    };
    this.links.add(link);
    this.#pass(client, upstream, (line) => this.toServer(line, link));
    this.#pass(upstream, client, (line) => this.toClient(line, link));
    for (const socket of [client, upstream]) {
      socket.on('close', () => {
        this.links.delete(link);
        link.cut();
      });
    }
  }

  #pass(from: Socket, to: Socket, hook: (line: string) => string | null | undefined): void {
    const decoder = new FrameDecoder(16 * 1024 * 1024);
    from.on('data', (chunk: Buffer) => {
      for (const line of decoder.push(chunk).frames) {
        const out = hook(line);
        if (out === null || to.destroyed) continue;
        to.write(out === undefined ? `${line}\n` : out);
      }
    });
  }
}
