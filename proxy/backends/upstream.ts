import type { IncomingMessage, ServerResponse } from 'node:http';
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
  /** The request body when the proxy has already read it; streamed from the client otherwise. */
  readonly body: Buffer | undefined;
}
