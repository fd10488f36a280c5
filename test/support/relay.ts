import { once } from 'node:events';
import net, { type AddressInfo } from 'node:net';

/** A TCP relay to a server, that a test can cut (every connection reset, new ones refused by a reset) and restore. */
export interface Relay {
  /** The target's URL with the relay's port in its place. */
  readonly url: string;
  cut(): void;
  restore(): void;
  close(): Promise<void>;
}

/**
 * Stands between a client and a database, so that a test can take the database away and bring
 * it back without stopping it, and without giving up the port (which another listener could take).
 */
export async function relayTo(target: string): Promise<Relay> {
  const url = new URL(target);
  const sockets = new Set<net.Socket>();
  let cut = false;
  const server = net.createServer((client) => {
    if (cut) return void client.resetAndDestroy();
    const upstream = net.connect({ host: url.hostname, port: Number(url.port) });
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('error', () => undefined);
      socket.on('close', () => { sockets.delete(socket); client.destroy(); upstream.destroy(); });
    }
    client.pipe(upstream).pipe(client);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const relayed = new URL(target);
  relayed.hostname = '127.0.0.1';
  relayed.port = String((server.address() as AddressInfo).port);
  return {
    url: relayed.href,
    cut() {
      cut = true;
      for (const socket of sockets) socket.resetAndDestroy();
    },
    restore() {
      cut = false;
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
