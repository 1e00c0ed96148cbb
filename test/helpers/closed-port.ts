// A loopback port nothing listens on: one the kernel just handed out and that was closed again,
// for tests of a client pointed at a server that is not there (or not there yet).
import { once } from 'node:events';
import { createServer } from 'node:net';

export async function closedPort(): Promise<number> {
  const listener = createServer();
  listener.listen(0, '127.0.0.1');
  await once(listener, 'listening');
  const { port } = listener.address() as { port: number };
  listener.close();
  await once(listener, 'close');
  return port;
}
