import type { ComparisonRecord } from '../evidence/record.js';
import { Redactor } from './redact.js';
import { type ComparisonRow, comparisonRow } from './row.js';
import { storedComparison } from './stored.js';

/** What a Redactor is made of: plain data, so that a worker thread makes the same one as the writer. */
export type Redaction = ConstructorParameters<typeof Redactor>;

/**
 * A comparison made ready for the store: redacted, its hidden differences worked out, serialised
 * and escaped. The costly part of keeping evidence, so the writer runs it in a worker thread for
 * large bodies (proxy/compare-worker.ts) and here, on the event loop, only for small ones.
 */
export function preparedRow(record: ComparisonRecord, redaction: Redaction, maxBodyBytes: number): ComparisonRow {
  return comparisonRow(storedComparison(record, new Redactor(...redaction), maxBodyBytes));
}
