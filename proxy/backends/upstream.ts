import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import type { RequestLog } from '../telemetry/log.js';
import type { RouteMatch } from '../config/route.js';
import type { Inbound } from '../http/request.js';
import type { Reply } from '../http/respond.js';

/** One client request being answered by a side. */
export interface Exchange extends Reply {
  readonly inbound: Inbound;
  readonly req: IncomingMessage;
  /** The metric label of the group; `unmatched` for traffic outside the route table. */
  readonly group: string;
  readonly log: RequestLog;
}

/**
 * A request's exchange, its fields written out rather than spread from the reply: on Node 20's V8
 * every key added to a spread's copy goes through the runtime and makes a new hidden class, about
 * 0.5 µs a key, where this literal costs a few nanoseconds (docs/performance.md, issue 26).
 */
export function exchangeOf(reply: Reply, inbound: Inbound, req: IncomingMessage, log: RequestLog, group: string, setCookies: readonly string[]): Exchange {
  return { res: reply.res, requestId: reply.requestId, setCookies, keepAlive: reply.keepAlive, inbound, req, log, group };
}

/** A request as a value, for a side that needs it whole: a Lambda invocation, or any shadow. */
export interface UpstreamRequest {
  readonly method: string;
  /** Path and query, as received. */
  readonly url: string;
  /** Without framing: each sender frames the body it sends. */
  readonly headers: IncomingHttpHeaders;
  readonly httpVersion: string;
  readonly sourceIp: string;
  readonly body: Buffer;
  readonly requestId: string;
  readonly group: string;
  readonly match: RouteMatch;
  readonly timeoutMs: number;
}

/** The buffered form of a routed request. */
export function upstreamRequest(inbound: Inbound, group: string, match: RouteMatch, body: Buffer, timeoutMs: number): UpstreamRequest {
  return {
    method: inbound.method,
    url: inbound.target,
    headers: inbound.headers,
    httpVersion: inbound.httpVersion,
    sourceIp: inbound.sourceIp,
    body,
    requestId: inbound.requestId,
    group,
    match,
    timeoutMs,
  };
}
