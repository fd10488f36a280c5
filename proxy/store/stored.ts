import { type Difference, type HiddenDifference, hiddenDifferences, isFailure, type JsonValue } from '../../compare/index.js';
import { BodyError, readBody } from '../../compare/body.js';
import type { Answer } from '../backends/answer.js';
import type { ComparisonRecord } from '../evidence/record.js';
import type { Redactor } from './redact.js';

/** A body as stored: JSON kept as a tree, text as text, anything else as base64; cut at the configured size. */
export interface StoredBody {
  readonly body: JsonValue;
  readonly bodyEncoding: 'json' | 'text' | 'base64' | 'none';
  readonly truncated: boolean;
}

/** One side as a reviewer reads it (GET /api/diffs/:id). */
export interface StoredSide extends StoredBody {
  readonly status: number | null;
  readonly headers: Record<string, string | string[]>;
  readonly ms: number | null;
  readonly failure: string | null;
}

export interface StoredDifference {
  readonly path: string;
  readonly kind: Difference['kind'];
  readonly legacy: JsonValue;
  readonly new: JsonValue;
  readonly field: string;
  readonly noise: boolean;
}

export interface StoredHidden extends Omit<StoredDifference, 'noise'> { readonly rule: string }

/** A comparison ready for the store: nothing in it may hold a credential or a redacted member. */
export interface StoredComparison {
  readonly at: Date;
  readonly requestId: string;
  readonly group: string;
  readonly route: string;
  readonly stage: string;
  readonly primarySide: string;
  readonly verdict: string;
  readonly reason: string | null;
  readonly method: string;
  readonly path: string;
  readonly query: string;
  readonly caller: string;
  readonly rule: string | null;
  readonly variation: string | null;
  readonly requestHeaders: Record<string, string | string[]>;
  readonly requestBody: StoredBody;
  readonly legacy: StoredSide;
  readonly new: StoredSide;
  readonly differences: readonly StoredDifference[];
  readonly hidden: readonly StoredHidden[];
  readonly fields: readonly string[];
}

const NO_BODY: StoredBody = Object.freeze({ body: null, bodyEncoding: 'none', truncated: false });

function cut(text: string, maxBytes: number): { text: string; truncated: boolean } {
  if (Buffer.byteLength(text) <= maxBytes) return { text, truncated: false };
  return { text: Buffer.from(text).subarray(0, maxBytes).toString('utf8'), truncated: true };
}

/** A JSON body too large to keep whole is kept as the start of its text, so that it stays readable. */
function storedBody(observation: Answer['observation'], redactor: Redactor, maxBytes: number): StoredBody {
  if (isFailure(observation) || observation.body === undefined) return NO_BODY;
  let body;
  try {
    body = readBody(observation, Math.max(maxBytes, 16 * 1024 * 1024));
  } catch (error) {
    if (!(error instanceof BodyError)) throw error;
    const raw = observation.body instanceof Uint8Array ? Buffer.from(observation.body) : Buffer.from(JSON.stringify(observation.body));
    return { body: raw.subarray(0, maxBytes).toString('base64'), bodyEncoding: 'base64', truncated: raw.length > maxBytes };
  }
  switch (body.kind) {
    case 'json': {
      const value = redactor.json(body.value);
      const text = JSON.stringify(value);
      if (Buffer.byteLength(text) <= maxBytes) return { body: value, bodyEncoding: 'json', truncated: false };
      return { body: cut(text, maxBytes).text, bodyEncoding: 'text', truncated: true };
    }
    case 'text': {
      const { text, truncated } = cut(redactor.text(body.text, observation.headers), maxBytes);
      return text === '' ? NO_BODY : { body: text, bodyEncoding: 'text', truncated };
    }
    case 'bytes': {
      const raw = Buffer.from(observation.body as Uint8Array);
      return { body: raw.subarray(0, maxBytes).toString('base64'), bodyEncoding: 'base64', truncated: raw.length > maxBytes };
    }
  }
}

function requestBody(body: Buffer, contentType: string | undefined, redactor: Redactor, maxBytes: number): StoredBody {
  if (body.length === 0) return NO_BODY;
  return storedBody({ status: 0, headers: contentType ? { 'content-type': contentType } : {}, body }, redactor, maxBytes);
}

function storedSide(side: Answer, redactor: Redactor, maxBytes: number): StoredSide {
  const { observation } = side;
  if (isFailure(observation)) return { status: null, headers: {}, ...NO_BODY, ms: side.ms, failure: observation.error };
  return { status: observation.status, headers: redactor.headersOf(observation.headers), ...storedBody(observation, redactor, maxBytes), ms: side.ms, failure: null };
}

/** A difference's values pass the same redaction as the sides: a changed e-mail address is still an e-mail address. */
function storedDifference(difference: Difference, redactor: Redactor): Omit<StoredDifference, 'noise'> {
  const { path, kind, legacy, new: newSide, field } = redactor.difference(difference);
  return { path, kind, legacy, new: newSide, field };
}

/** What the store keeps of a comparison, redacted; the rules' hidden differences are worked out here, off the request path. */
export function storedComparison(record: ComparisonRecord, redactor: Redactor, maxBodyBytes: number): StoredComparison {
  const { request, comparison } = record;
  const hidden: HiddenDifference[] = hiddenDifferences(record.legacy.observation, record.new.observation, record.rules, comparison.differences);
  const contentType = request.headers['content-type'];
  return {
    at: record.at,
    requestId: request.requestId,
    group: record.group,
    route: record.route,
    stage: request.stage,
    primarySide: record.primarySide,
    verdict: comparison.verdict,
    reason: comparison.reason ?? null,
    method: request.method,
    path: request.path,
    query: redactor.query(request.query),
    caller: redactor.caller(request.caller),
    rule: request.rule,
    variation: request.variation,
    requestHeaders: redactor.headersOf(request.headers),
    requestBody: requestBody(request.body, contentType, redactor, maxBodyBytes),
    legacy: storedSide(record.legacy, redactor, maxBodyBytes),
    new: storedSide(record.new, redactor, maxBodyBytes),
    differences: comparison.differences.map((difference) => ({ ...storedDifference(difference, redactor), noise: record.noiseFields.has(difference.field) })),
    hidden: hidden.map(({ difference, rule }) => ({ ...storedDifference(difference, redactor), rule })),
    fields: [...new Set(comparison.differences.map((difference) => difference.field))],
  };
}
