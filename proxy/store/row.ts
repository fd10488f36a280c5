import { storableJson, storableText } from './storable.js';
import type { StoredComparison } from './stored.js';

/** The columns of cutover_comparisons a row fills, in the order of ComparisonRow's values. */
export const COMPARISON_COLUMNS = ['at', 'request_id', 'group_name', 'route', 'stage', 'primary_side', 'verdict', 'reason', 'method', 'path', 'query', 'caller', 'rule', 'variation',
  'request_headers', 'request_body', 'legacy', 'new', 'differences', 'hidden', 'fields', 'escaped'] as const;
export const COMPARISON_CASTS = [...Array<string>(14).fill(''), '::jsonb', '::jsonb', '::jsonb', '::jsonb', '::jsonb', '::jsonb', '::text[]', ''];

/**
 * A stored comparison as the statement's parameters: JSON already text, and nothing PostgreSQL
 * refuses. What the writer queues, so that the queue holds flat strings, measured, rather than
 * trees (and so that the serialising can be done by a worker thread).
 */
export interface ComparisonRow {
  readonly requestId: string;
  /** Whose evidence the row is, so that a row dropped is counted against its route. */
  readonly group: string;
  readonly route: string;
  readonly values: readonly unknown[];
  /** What the row's text holds, in UTF-16 code units: the queue's measure. */
  readonly bytes: number;
}

export function comparisonRow(c: StoredComparison): ComparisonRow {
  let escaped = false;
  let bytes = 0;
  const text = (value: string): string => {
    const storable = storableText(value);
    escaped ||= storable.escaped;
    bytes += storable.text.length;
    return storable.text;
  };
  const json = (value: unknown): string => {
    const storable = storableJson(JSON.stringify(value));
    escaped ||= storable.escaped;
    bytes += storable.text.length;
    return storable.text;
  };
  const optional = (value: string | null) => (value === null ? null : text(value));
  const values = [
    c.at, text(c.requestId), text(c.group), text(c.route), text(c.stage), text(c.primarySide), text(c.verdict), optional(c.reason), text(c.method), text(c.path),
    text(c.query), text(c.caller), optional(c.rule), optional(c.variation),
    json(c.requestHeaders), json(c.requestBody), json(c.legacy), json(c.new), json(c.differences), json(c.hidden), c.fields.map(text),
  ];
  return { requestId: c.requestId, group: c.group, route: c.route, values: [...values, escaped], bytes };
}
