import { otherSide } from '../decision/stage.js';
import { type Logger, unredactedOf } from '../telemetry/log.js';
import type { Metrics } from '../telemetry/metrics.js';
import type { ComparisonRecord } from './record.js';

/** Something that learns of every comparison: the metrics, the diff store, the log. */
export interface Consumer {
  readonly name: string;
  consume(record: ComparisonRecord): void;
}

/**
 * Hands each comparison to every consumer in turn (github/scientist's publish). A consumer that
 * throws is logged and skipped: the others still get the comparison, and traffic never sees it.
 */
export function publisher(consumers: readonly Consumer[], log: Logger): (record: ComparisonRecord) => void {
  return (record) => {
    for (const consumer of consumers) {
      try {
        consumer.consume(record);
      } catch (error) {
        log.error({ err: error, requestId: record.request.requestId, group: record.group, consumer: consumer.name }, `publish: the ${consumer.name} consumer failed on a comparison; the others still got it`);
      }
    }
  };
}

/** Label values of `cutover_mismatched_fields_total` a route may use before the rest count as `_other`. */
const FIELD_LABELS_PER_ROUTE = 25;

/**
 * `cutover_comparisons_total` and `cutover_mismatched_fields_total`. Fields the noise model knows
 * as noise are not counted as mismatched, so the top-fields panel leads with real differences.
 */
export class ComparisonMetrics implements Consumer {
  readonly name = 'metrics';
  private readonly fieldLabels = new Map<string, Set<string>>();

  constructor(private readonly metrics: Metrics) {}

  consume({ group, route, comparison, noiseFields }: ComparisonRecord): void {
    this.metrics.comparisons.inc({ group, route, verdict: comparison.verdict });
    if (comparison.verdict !== 'mismatch') return;
    const real = comparison.differences.filter((difference) => !noiseFields.has(difference.field));
    for (const field of new Set(real.map((difference) => this.label(group, route, difference.field)))) this.metrics.mismatchedFields.inc({ group, route, field });
  }

  private label(group: string, route: string, field: string): string {
    const key = `${group} ${route}`;
    let labels = this.fieldLabels.get(key);
    if (!labels) this.fieldLabels.set(key, labels = new Set());
    if (labels.has(field)) return field;
    if (labels.size >= FIELD_LABELS_PER_ROUTE) return '_other';
    labels.add(field);
    return field;
  }
}

/** One line per comparison, with the request id, for whoever reads the proxy's log. */
export class ComparisonLog implements Consumer {
  readonly name = 'log';

  private readonly log: Logger;

  /** Its line carries names and counts, never a header: written without the redaction. */
  constructor(log: Logger) {
    this.log = unredactedOf(log);
  }

  consume(record: ComparisonRecord): void {
    const { comparison } = record;
    const shadowSide = otherSide(record.primarySide);
    this.log.info({
      requestId: record.request.requestId, group: record.group, route: record.route, shadowSide, shadowMs: record[shadowSide].ms,
      verdict: comparison.verdict, differences: comparison.differences.length, ...(comparison.reason ? { reason: comparison.reason } : {}),
    }, 'shadow compared');
  }
}
