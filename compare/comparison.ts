import { type BodyLimits, BodyError, type ComparedBody, headerValue, readComparedBody, matchesItself } from './body.js';
import { difference, type Difference, diffJson } from './diff.js';
import type { Json } from './json.js';
import { isIgnored } from './normalize.js';
import { isFailure, type Observation, type Response } from './observation.js';
import { DEFAULT_RULES, type Rules } from './rules.js';

/** `noise` is only given by a NoiseModel: compare() alone answers match, mismatch or error. */
export type Verdict = 'match' | 'mismatch' | 'noise' | 'error';

/** Two observations, their differences and the verdict (github/scientist's Result). */
export interface Comparison {
  readonly verdict: Verdict;
  readonly differences: readonly Difference[];
  /** Why the verdict is `error`: a transport failure, or a body that cannot be decoded or is past a limit, with its side. */
  readonly reason?: string;
}

/** The limits a body is held to; past one, the verdict is `error` (docs/architecture.md, "Comparison rules"). */
export interface CompareOptions {
  /** A body larger than this once decoded (gzip, br, deflate, or sent as it is). */
  readonly maxDecodedBytes?: number;
  /** A JSON body nested deeper than this (`[]` is 1 deep). */
  readonly maxDepth?: number;
  /** A JSON body with more values than this, every scalar, array and object counted. */
  readonly maxValues?: number;
}

export const DEFAULT_MAX_DECODED_BYTES = 16 * 1024 * 1024;
export const DEFAULT_MAX_DEPTH = 256;
export const DEFAULT_MAX_VALUES = 1_000_000;

export function limitsOf(options: CompareOptions): BodyLimits {
  return {
    maxBytes: options.maxDecodedBytes ?? DEFAULT_MAX_DECODED_BYTES,
    maxDepth: options.maxDepth ?? DEFAULT_MAX_DEPTH,
    maxValues: options.maxValues ?? DEFAULT_MAX_VALUES,
  };
}

function comparison(verdict: Verdict, differences: Difference[], reason?: string): Comparison {
  Object.freeze(differences);
  return Object.freeze(reason === undefined ? { verdict, differences } : { verdict, differences, reason });
}

/** What a body looks like in a difference when it is not a JSON tree. */
function wholeValue(body: ComparedBody): Json {
  switch (body.kind) {
    case 'json': return body.value;
    case 'text': return body.text;
    case 'bytes': return `sha256:${body.sha256}`;
  }
}

function diffBodies(legacy: ComparedBody, newSide: ComparedBody, rules: Rules): Difference[] {
  if (legacy.kind === 'json' && newSide.kind === 'json') return diffJson(legacy, newSide, rules);
  // A text or binary body is one value, at the root: only ignoring the root ("", "/**") hides it.
  if (isIgnored(rules, [])) return [];
  if (legacy.kind !== newSide.kind) return [difference([], 'type', wholeValue(legacy), wholeValue(newSide))];
  const same = legacy.kind === 'text' ? legacy.text === (newSide as typeof legacy).text : wholeValue(legacy) === wholeValue(newSide);
  return same ? [] : [difference([], 'changed', wholeValue(legacy), wholeValue(newSide))];
}

function diffHeaders(legacy: Response, newSide: Response, rules: Rules, into: Difference[]): void {
  for (const name of rules.headers) {
    const left = headerValue(legacy.headers, name), right = headerValue(newSide.headers, name);
    if (left !== right) into.push(difference(['headers', name], 'header', left, right));
  }
}

function read(response: Response, side: string, limits: BodyLimits): ComparedBody | string {
  try {
    return readComparedBody(response, limits);
  } catch (error) {
    if (error instanceof BodyError) return `${side} body: ${error.message}`;
    throw error;
  }
}

/**
 * Compares what legacy and new answered to one request. A transport failure on either side is
 * verdict `error` with the reason; so is a body that cannot be decoded or is past a limit of
 * `options` (its status and header differences are still listed). The status is compared
 * whatever the bodies, empty ones included.
 */
export function compare(legacy: Observation, newSide: Observation, rules: Rules = DEFAULT_RULES, options: CompareOptions = {}): Comparison {
  if (isFailure(legacy) || isFailure(newSide)) {
    const reasons = [isFailure(legacy) ? `legacy: ${legacy.error}` : undefined, isFailure(newSide) ? `new: ${newSide.error}` : undefined];
    return comparison('error', [], reasons.filter((reason) => reason !== undefined).join('; '));
  }
  const differences: Difference[] = [];
  if (rules.status && legacy.status !== newSide.status) differences.push(difference(['status'], 'status', legacy.status, newSide.status));
  diffHeaders(legacy, newSide, rules, differences);
  const limits = limitsOf(options);
  // The agreeing case, most comparisons: the same bytes, of the same type and coding, on both sides.
  if (sameBytes(legacy, newSide) && matchesItself(legacy, limits)) return comparison(differences.length > 0 ? 'mismatch' : 'match', differences);
  const left = read(legacy, 'legacy', limits);
  const right = read(newSide, 'new', limits);
  if (typeof left === 'string' || typeof right === 'string') {
    const reasons = [left, right].filter((side): side is string => typeof side === 'string');
    return comparison('error', differences, reasons.join('; '));
  }
  // A loop rather than push(...found): a body can have more differences than a call has room for arguments.
  for (const found of diffBodies(left, right, rules)) differences.push(found);
  return comparison(differences.length > 0 ? 'mismatch' : 'match', differences);
}

/** Bodies that decode alike: the same bytes, of the same type and coding, read as JSON on both sides or on neither. */
function sameBytes(legacy: Response, newSide: Response): boolean {
  const [a, b] = [legacy.body, newSide.body];
  return a instanceof Uint8Array && b instanceof Uint8Array && Buffer.compare(a, b) === 0
    && legacy.bodyIsJson === newSide.bodyIsJson
    && headerValue(legacy.headers, 'content-type') === headerValue(newSide.headers, 'content-type')
    && headerValue(legacy.headers, 'content-encoding') === headerValue(newSide.headers, 'content-encoding');
}
