import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface TestServer { readonly url: string; readonly server: http.Server; close(): Promise<void> }

/** A plain HTTP server on an ephemeral loopback port, closed with all its connections. */
export async function listen(handler: http.RequestListener): Promise<TestServer> {
  const server = http.createServer(handler);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    server,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A loopback port that nothing listens on: bound, noted and released. */
export async function closedPort(): Promise<number> {
  const probe = await listen(() => undefined);
  const port = Number(new URL(probe.url).port);
  await probe.close();
  return port;
}
