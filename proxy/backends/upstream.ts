import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import type { RouteMatch } from '../route.js';

/** Why an upstream gave no usable answer; a label value of the error and fallback counters. */
export type FailureReason =
  | 'refused' | 'timeout' | 'reset'
  | 'function_error' | 'throttled' | 'not_found' | 'invalid_response' | 'sdk_error'
  | 'status_5xx' | 'circuit_open' | 'too_large';

/** An upstream failure, with the answer the client gets if nothing else can serve it. */
export interface Failure {
  readonly reason: FailureReason;
  readonly status: number;
  readonly detail: string;
  readonly headers?: Readonly<Record<string, string>>;
}

/** One client request on its way to a side. */
export interface Exchange {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly requestId: string;
  /** The metric label of the group; `unmatched` for traffic outside the route table. */
  readonly group: string;
  readonly match: RouteMatch | undefined;
  readonly timeoutMs: number;
  /** Cookies the proxy adds to the response, such as a newly assigned caller id. */
  readonly setCookies: readonly string[];
  /** The request body when the proxy has already read (some of) it; streamed from the client otherwise. */
  readonly body: Buffer | Readable | undefined;
}

/** A request as a value, for a side that needs it whole: a Lambda invocation, or any shadow. */
export interface UpstreamRequest {
  readonly method: string;
  /** Path and query, as received. */
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly httpVersion: string;
  readonly sourceIp: string;
  readonly body: Buffer;
  readonly requestId: string;
  readonly group: string;
  readonly match: RouteMatch;
  readonly timeoutMs: number;
}

/** The buffered form of a routed exchange; the headers carry the request id the upstreams see. */
export function upstreamRequest(exchange: Exchange, match: RouteMatch, body: Buffer): UpstreamRequest {
  const { req } = exchange;
  return {
    method: req.method ?? 'GET',
    url: req.url ?? '/',
    headers: { ...req.headers, 'x-request-id': exchange.requestId },
    httpVersion: req.httpVersion,
    sourceIp: req.socket.remoteAddress ?? '',
    body,
    requestId: exchange.requestId,
    group: exchange.group,
    match,
    timeoutMs: exchange.timeoutMs,
  };
}
