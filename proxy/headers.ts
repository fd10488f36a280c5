import type { IncomingMessage } from 'node:http';

/** RFC 9110 §7.6.1: meaningful for one connection only, never forwarded. */
const HOP_BY_HOP = ['connection', 'proxy-connection', 'keep-alive', 'te', 'transfer-encoding', 'upgrade', 'trailer', 'proxy-authenticate', 'proxy-authorization'];

/** Removes the hop-by-hop headers, and those the `Connection` header names, in place. */
export function removeHopByHop(headers: Record<string, unknown>): void {
  const connection = headers.connection;
  const named = typeof connection === 'string' ? connection.split(',').map((name) => name.trim().toLowerCase()).filter(Boolean) : [];
  for (const name of [...HOP_BY_HOP, ...named]) delete headers[name];
}

/**
 * Sets the X-Forwarded-* headers the upstreams see: the client's address appended to any chain a
 * load balancer started, and the scheme and host the client used, unless a balancer said so first.
 */
export function addForwarded(req: IncomingMessage): void {
  const address = req.socket.remoteAddress ?? '';
  const chain = req.headers['x-forwarded-for'];
  req.headers['x-forwarded-for'] = chain ? `${chain}, ${address}` : address;
  req.headers['x-forwarded-proto'] ??= 'encrypted' in req.socket && req.socket.encrypted ? 'https' : 'http';
  if (req.headers.host) req.headers['x-forwarded-host'] ??= req.headers.host;
}
