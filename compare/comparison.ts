import { type Body, BodyError, headerValue, readBody } from './body.js';
import { difference, type Difference, diffJson } from './diff.js';
import { isIgnored } from './normalize.js';
import { isFailure, type JsonValue, type Observation, type Response } from './observation.js';
import { DEFAULT_RULES, type Rules } from './rules.js';

/** `noise` is only given by a NoiseModel: compare() alone answers match, mismatch or error. */
export type Verdict = 'match' | 'mismatch' | 'noise' | 'error';

/** Two observations, their differences and the verdict (github/scientist's Result). */
export interface Comparison {
  readonly verdict: Verdict;
  readonly differences: readonly Difference[];
  /** Why the verdict is `error`: a transport failure or an undecodable body, with its side. */
  readonly reason?: string;
}

export interface CompareOptions {
  /** A body larger than this once decoded (gzip, br, deflate) makes the verdict `error`. */
  readonly maxDecodedBytes?: number;
}

export const DEFAULT_MAX_DECODED_BYTES = 16 * 1024 * 1024;

function comparison(verdict: Verdict, differences: Difference[], reason?: string): Comparison {
  Object.freeze(differences);
  return Object.freeze(reason === undefined ? { verdict, differences } : { verdict, differences, reason });
}

/** What a body looks like in a difference when it is not a JSON tree. */
function shown(body: Body): JsonValue {
  switch (body.kind) {
    case 'json': return body.value;
    case 'text': return body.text;
    case 'bytes': return `sha256:${body.sha256}`;
  }
}

function diffBodies(legacy: Body, candidate: Body, rules: Rules): Difference[] {
  if (legacy.kind === 'json' && candidate.kind === 'json') return diffJson(legacy.value, candidate.value, rules);
  // A text or binary body is one value, at the root: only ignoring the root ("", "/**") hides it.
  if (isIgnored(rules, [], 0)) return [];
  if (legacy.kind !== candidate.kind) return [difference([], 'type', shown(legacy), shown(candidate))];
  const same = legacy.kind === 'text' ? legacy.text === (candidate as typeof legacy).text : shown(legacy) === shown(candidate);
  return same ? [] : [difference([], 'changed', shown(legacy), shown(candidate))];
}

function diffHeaders(legacy: Response, candidate: Response, rules: Rules): Difference[] {
  const found: Difference[] = [];
  for (const name of rules.headers) {
    const left = headerValue(legacy.headers, name), right = headerValue(candidate.headers, name);
    if (left !== right) found.push(difference(['headers', name], 'header', left, right));
  }
  return found;
}

function read(response: Response, side: string, maxBytes: number): Body | string {
  try {
    return readBody(response, maxBytes);
  } catch (error) {
    if (error instanceof BodyError) return `${side} body: ${error.message}`;
    throw error;
  }
}

/**
 * Compares what legacy and new answered to one request. A transport failure on either side is
 * verdict `error` with the reason; so is a body that cannot be decoded (its status and header
 * differences are still listed). The status is compared whatever the bodies, empty ones included.
 */
export function compare(legacy: Observation, candidate: Observation, rules: Rules = DEFAULT_RULES, options: CompareOptions = {}): Comparison {
  if (isFailure(legacy) || isFailure(candidate)) {
    const reasons = [isFailure(legacy) ? `legacy: ${legacy.error}` : undefined, isFailure(candidate) ? `new: ${candidate.error}` : undefined];
    return comparison('error', [], reasons.filter((reason) => reason !== undefined).join('; '));
  }
  const differences: Difference[] = [];
  if (rules.status && legacy.status !== candidate.status) differences.push(difference(['status'], 'status', legacy.status, candidate.status));
  differences.push(...diffHeaders(legacy, candidate, rules));
  const maxBytes = options.maxDecodedBytes ?? DEFAULT_MAX_DECODED_BYTES;
  const left = read(legacy, 'legacy', maxBytes), right = read(candidate, 'new', maxBytes);
  if (typeof left === 'string' || typeof right === 'string') {
    const reasons = [left, right].filter((side): side is string => typeof side === 'string');
    return comparison('error', differences, reasons.join('; '));
  }
  differences.push(...diffBodies(left, right, rules));
  return comparison(differences.length > 0 ? 'mismatch' : 'match', differences);
}
