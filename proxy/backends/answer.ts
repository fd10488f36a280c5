import { failure as failed, type Failure, type Observation } from '../../compare/index.js';

/** Why a side gave no usable answer; a label value of the error and fallback counters. */
export type FailureReason =
  | 'refused' | 'timeout' | 'reset'
  | 'function_error' | 'throttled' | 'not_found' | 'invalid_response' | 'sdk_error'
  | 'status_5xx' | 'circuit_open' | 'too_large';

/** A side's failure, with the answer the client gets if nothing else can serve it. */
export interface UpstreamFailure {
  readonly reason: FailureReason;
  readonly status: number;
  readonly detail: string;
  readonly headers?: Readonly<Record<string, string>>;
}

/**
 * One side's answer to one request, whichever side and role (github/scientist's Observation with
 * its time): what it said as the comparison reads it, and in how many milliseconds, to its
 * response's headers or to its failure. A failed side carries why, for the counters and for the
 * client; its observation says the same in compare/'s terms. An observation can be a failure of
 * the proxy's own too (a response past the capture limit): the side did not fail, the comparison can't be made.
 */
export type Answer<Said extends Observation = Observation> =
  | { readonly observation: Said; readonly ms: number; readonly failure?: undefined }
  | { readonly observation: Failure; readonly ms: number; readonly failure: UpstreamFailure };

/** An answer that is a failure. */
export function failedAnswer(failure: UpstreamFailure, ms: number): Answer<never> {
  return { observation: failed(`${failure.reason}: ${failure.detail}`), ms, failure };
}

/** Milliseconds since a `process.hrtime.bigint()` reading. */
export function msSince(started: bigint): number {
  return Number(process.hrtime.bigint() - started) / 1e6;
}

