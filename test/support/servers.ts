import { once } from 'node:events';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';

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

/** The sockets that keep the ports of closedPort() taken: for as long as the test process runs. */
const reservations: net.Socket[] = [];

/**
 * A port on 127.0.0.1 that refuses every connection (ECONNREFUSED) and that no listener of this
 * process can take, for as long as the process runs.
 *
 * Binding a port, noting it and releasing it is a race: the next `listen(0)` anywhere in the
 * process (the proxy's own listeners, a test server) may be given the same port, and the
 * "closed" port then answers. Instead the port stays bound, by a socket that never listens: the
 * client end of a loopback connection to a listener of our own, bound to 127.0.0.1 by the kernel's
 * own port choice. On Linux:
 *  - a SYN to 127.0.0.1:PORT finds no listener (a connected socket accepts nothing) and is
 *    answered with a reset, so a client sees ECONNREFUSED;
 *  - `bind()` to port 0 never hands out a port that a socket is bound to on the same address
 *    (or on the wildcard), unless net.ipv4.ip_autobind_reuse is set (it is off by default);
 *  - `connect()` never picks it as a client's local port either (its bind bucket was made by
 *    bind(), not by connect()), so a connection to it cannot become a TCP self-connect.
 * Only an explicit bind to this very port number could take it, and nothing in the tests does
 * that. The listener is closed at once; the connection (both ends) stays open and unref'd.
 */
export async function closedPort(): Promise<number> {
  const accepted: net.Socket[] = [];
  const holder = net.createServer((socket) => { accepted.push(socket); });
  holder.listen(0, '127.0.0.1');
  await once(holder, 'listening');
  // localAddress makes libuv bind() before connecting: the kernel picks a free port for it then.
  const client = net.connect({ host: '127.0.0.1', port: (holder.address() as AddressInfo).port, localAddress: '127.0.0.1' });
  await Promise.all([once(client, 'connect'), once(holder, 'connection')]);
  // Stops listening at once; its 'close' would wait for the connection, which stays.
  holder.close();
  for (const socket of [client, ...accepted]) {
    socket.on('error', () => undefined);
    socket.unref();
    reservations.push(socket);
  }
  const port = client.localPort;
  if (port === undefined) throw new Error('closedPort: the reserving socket has no local port');
  const refused = await new Promise<string>((resolve) => {
    const probe = net.connect(port, '127.0.0.1');
    probe.on('connect', () => { probe.destroy(); resolve('a connection'); });
    probe.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
  });
  if (refused !== 'ECONNREFUSED') throw new Error(`closedPort: 127.0.0.1:${port} gave ${refused}, not ECONNREFUSED`);
  return port;
}

/** What a server wrote on a connection (Latin-1, byte for byte), and how the connection ended. */
export interface Received {
  readonly text: string;
  /** Why it did not end cleanly: a reset, or `timeoutMs` passed with the connection still open. */
  readonly error: Error | undefined;
}

/**
 * Writes `text` on a fresh connection and collects what comes back until the connection ends,
 * however it ends: a reset is reported, not thrown, since what arrived before it is the evidence.
 * With `timeoutMs`, a connection still open by then is cut and reported as such.
 */
export function received(url: string, text: string | Buffer, timeoutMs?: number): Promise<Received> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = net.connect(Number(port), hostname, () => socket.write(text));
    let answer = '';
    let error: Error | undefined;
    const deadline = timeoutMs === undefined ? undefined : setTimeout(() => socket.destroy(new Error(`the connection was still open after ${timeoutMs} ms`)), timeoutMs);
    socket.on('data', (chunk: Buffer) => { answer += chunk.toString('latin1'); });
    socket.on('error', (cause: Error) => { error ??= cause; });
    socket.on('close', () => {
      clearTimeout(deadline);
      resolve({ text: answer, error });
    });
  });
}

/**
 * Raw HTTP over a socket, for what fetch will not send (absolute-form targets, CONNECT, odd
 * framing, smuggling attempts); resolves with all the server wrote until it closed.
 */
export async function raw(url: string, text: string | Buffer): Promise<string> {
  const { text: answer, error } = await received(url, text);
  if (error) throw error;
  return answer;
}

export interface RawServer { readonly url: string; readonly requests: string[]; close(): void }

/**
 * A TCP server that plays an HTTP upstream byte by byte, for answers no HTTP library would send
 * (a bad status line, a body on a 204, a connection closed at a chosen moment). `answer` is
 * called with each request's head as it arrives.
 */
export async function rawServer(answer: (head: string, socket: net.Socket) => void): Promise<RawServer> {
  const requests: string[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
    let buffered = '';
    socket.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('latin1');
      const end = buffered.indexOf('\r\n\r\n');
      if (end === -1) return;
      const head = buffered.slice(0, end);
      buffered = buffered.slice(end + 4);
      requests.push(head);
      answer(head, socket);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    close() {
      for (const socket of sockets) socket.destroy();
      server.close();
    },
  };
}
