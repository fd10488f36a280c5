import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RouteMatch } from '../route.js';
import type { Side } from '../stage.js';

/** Why an upstream gave no usable answer; a label value of `cutover_upstream_errors_total`. */
export type FailureReason = 'refused' | 'timeout' | 'reset' | 'function_error' | 'throttled' | 'too_large' | 'not_found' | 'invalid_response' | 'sdk_error';

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
}

/** What a side reports once it has answered or failed, for metrics and, later, comparison. */
export interface UpstreamOutcome {
  readonly side: Side;
  readonly seconds: number;
  readonly failure: FailureReason | undefined;
}

export interface Backend {
  readonly side: Side;
  serve(exchange: Exchange): Promise<UpstreamOutcome>;
}
