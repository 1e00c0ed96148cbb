// Binds a listener and turns the usual failures into a sentence a person can act on.
import type { Server as NetServer } from 'node:net';

export class ListenError extends Error {}

export function listen(server: NetServer, port: number, host: string, what: string, flag: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) => {
      const where = `${host}:${port}`;
      if (error.code === 'EADDRINUSE') {
        reject(new ListenError(`the ${what} port ${port} on ${host} is already in use by another program; stop it or choose another port with ${flag}`));
      } else if (error.code === 'EACCES') {
        reject(new ListenError(`not allowed to listen on ${where} for ${what} (ports below 1024 need privileges); choose another with ${flag}`));
      } else if (error.code === 'EADDRNOTAVAIL' || error.code === 'ENOTFOUND') {
        reject(new ListenError(`cannot listen on ${where}: ${host} is not an address of this machine; fix --host`));
      } else {
        reject(new ListenError(`cannot listen on ${where} for ${what}: ${error.message}`));
      }
    };
    server.once('error', onError);
    server.listen({ port, host, backlog: 4096 }, () => {
      server.off('error', onError);
      const address = server.address();
      resolve(typeof address === 'object' && address ? address.port : port);
    });
  });
}
