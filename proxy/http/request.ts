import type { IncomingHttpHeaders } from 'node:http';

/**
 * How the client delimited its body, as Node's parser read it. A sender re-frames from this (or
 * from a buffered body's length) and never from the client's headers, which the passes remove:
 * a body without framing is how a second request gets smuggled into a pooled upstream connection.
 */
export type Framing =
  | { readonly kind: 'none' }
  | { readonly kind: 'length'; readonly bytes: number }
  | { readonly kind: 'chunked' };

/** The client's request as the upstreams will see it: built once by the inbound passes, then read only. */
export interface Inbound {
  readonly method: string;
  /** The request target, path and query, byte for byte as received. */
  readonly target: string;
  /** The target's path, for the route table. */
  readonly path: string;
  readonly requestId: string;
  /** Without hop-by-hop and framing headers, and without the shadow marker. */
  readonly headers: Readonly<IncomingHttpHeaders>;
  readonly framing: Framing;
  readonly httpVersion: string;
  readonly sourceIp: string;
  /**
   * When the proxy received it (epoch ms): the guard tells by it evidence of requests that arrived
   * before a group's override changed from evidence of those after.
   */
  readonly receivedAt: number;
}
