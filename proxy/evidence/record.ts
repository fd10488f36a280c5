import type { IncomingHttpHeaders } from 'node:http';
import type { Comparison, Rules } from '../../compare/index.js';
import type { Answer } from '../backends/answer.js';
import type { Side, Stage } from '../decision/stage.js';

/** The request both sides answered, as the client sent it (credentials are dropped only when it is stored). */
export interface ObservedRequest {
  readonly method: string;
  readonly path: string;
  /** The query string without its "?", as received. */
  readonly query: string;
  readonly requestId: string;
  readonly caller: string;
  readonly stage: Stage;
  readonly rule: string | null;
  readonly variation: string | null;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
  /** When the proxy received it (epoch ms); `at` is when its comparison was made. */
  readonly receivedAt: number;
}

/**
 * A comparison as evidence (github/scientist's Result): the request, both observations, the
 * differences with the ones the noise model calls noise, the rules they were compared under,
 * and the verdict. Immutable; every consumer of `publish` reads the same object.
 */
export interface ComparisonRecord {
  readonly at: Date;
  readonly group: string;
  readonly route: string;
  readonly primarySide: Side;
  readonly request: ObservedRequest;
  readonly legacy: Answer;
  readonly new: Answer;
  /** After noise classification: `noise` when every difference is a known noise field. */
  readonly comparison: Comparison;
  /** The fields among the differences that calibration has learned are noise. */
  readonly noiseFields: ReadonlySet<string>;
  readonly rules: Rules;
}

export function comparisonRecord(fields: ComparisonRecord): ComparisonRecord {
  return Object.freeze({ ...fields });
}

/** Splits a request target into the path and the query as received. */
export function splitTarget(target: string): { path: string; query: string } {
  const mark = target.indexOf('?');
  return mark === -1 ? { path: target, query: '' } : { path: target.slice(0, mark), query: target.slice(mark + 1) };
}
