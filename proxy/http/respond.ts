import { type OutgoingHttpHeaders, type ServerResponse, STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import { withoutHopByHop } from './headers.js';
import { problemDocument } from './problem.js';
import { onceGone } from './connection.js';

/** Above a load balancer's 60 s idle timeout, so that the balancer, not the proxy, closes idle connections. */
export const KEEP_ALIVE_TIMEOUT_MS = 65_000;
const KEEP_ALIVE_HEADER = `timeout=${Math.floor(KEEP_ALIVE_TIMEOUT_MS / 1000)}`;

/** What every response of the proxy needs to know, whichever side or the proxy itself answers. */
export interface Reply {
  readonly res: ServerResponse;
  readonly requestId: string;
  /** Cookies the proxy adds, such as a newly assigned caller id. */
  readonly setCookies: readonly string[];
  /**
   * Whether the client's connection stays open after this response (never when `reusable` is
   * false, say with a request body still arriving): asked once, as the response's headers are written.
   */
  readonly keepAlive: (reusable?: boolean) => boolean;
}

/**
 * An upstream's headers as the client gets them: hop-by-hop ones removed, the request id and the
 * proxy's cookies added, and the connection's fate stated by the proxy, which alone knows it
 * (a client that asked to close, or a shutdown under way, or a request body still arriving).
 */
export function responseHeaders(reply: Reply, upstream: OutgoingHttpHeaders, keepAlive = reply.keepAlive()): OutgoingHttpHeaders {
  const headers = withoutHopByHop(upstream);
  if (reply.setCookies.length > 0) headers['set-cookie'] = [...[headers['set-cookie'] ?? []].flat().map(String), ...reply.setCookies];
  headers['x-request-id'] = reply.requestId;
  if (keepAlive) {
    headers.connection = 'keep-alive';
    headers['keep-alive'] = KEEP_ALIVE_HEADER;
  } else {
    headers.connection = 'close';
  }
  return headers;
}

/** Answers with the proxy's own error document; a response already under way can only be cut. */
export function sendProblem(reply: Reply, status: number, code: string, detail: string, headers: Readonly<Record<string, string>> = {}): void {
  const { res } = reply;
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = problemDocument(status, code, detail);
  res.writeHead(status, responseHeaders(reply, { ...headers, 'content-type': 'application/vnd.api+json', 'content-length': Buffer.byteLength(body) }));
  res.end(body);
}

/** The error document written straight onto a connection that never became a request the server handles. */
export function endWithProblem(socket: Duplex, requestId: string, status: number, code: string, detail: string): void {
  const body = problemDocument(status, code, detail);
  socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\ncontent-type: application/vnd.api+json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nx-request-id: ${requestId}\r\nconnection: close\r\n\r\n${body}`);
}

/**
 * Settles once the response is done or abandoned; a client that went away is not an error here.
 * One listener (see onceGone), where stream.finished adds six.
 */
export function delivered(res: ServerResponse): Promise<void> {
  if (res.closed) return Promise.resolve();
  return new Promise((resolve) => onceGone(res, () => resolve()));
}
