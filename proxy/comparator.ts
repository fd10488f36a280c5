import { compare, type Comparison, type Difference, NoiseModel, type NoiseSnapshot, type Observation, type Rules, rulesToJson, suggestRules } from '../compare/index.js';
import type { ComparePool } from './compare-pool.js';
import type { Group } from './config.js';
import type { Metrics } from './metrics.js';

/** Label values of `cutover_mismatched_fields_total` a route may use before the rest count as `_other`. */
const FIELD_LABELS_PER_ROUTE = 25;

/** Bodies together larger than this are compared in a worker: about 0.1 ms per 2 KB on the main thread, 7 ms per 200 KB. */
const INLINE_COMPARE_BYTES = 32 * 1024;

function bodyBytes(observation: Observation): number {
  if (!('body' in observation) || observation.body === undefined) return 0;
  const { body } = observation;
  if (body instanceof Uint8Array) return body.length;
  return typeof body === 'string' ? body.length : INLINE_COMPARE_BYTES;
}

export interface GroupNoise {
  readonly group: string;
  readonly snapshot: NoiseSnapshot;
  /** The group's rules with the learned noise ignored: for a person to review and adopt, never applied. */
  readonly suggestedRules: Record<string, unknown>;
}

interface Judge { readonly rules: Rules; readonly noise: NoiseModel }

/**
 * Compares the two sides' observations with each group's rules, learns noise from A/A pairs,
 * and turns every comparison into metrics with bounded labels.
 */
export class Comparator {
  private readonly judges: ReadonlyMap<string, Judge>;
  private readonly fieldLabels = new Map<string, Set<string>>();

  constructor(groups: readonly Group[], private readonly metrics: Metrics, private readonly workers: ComparePool) {
    this.judges = new Map(groups.map((group) => [group.name, { rules: group.rules, noise: new NoiseModel({ thresholds: group.shadow.noise }) }]));
  }

  /** Legacy against new for one request: counted, learned from, and classified against the noise. */
  async recordAB(group: string, route: string, legacy: Observation, candidate: Observation): Promise<Comparison> {
    const { rules, noise } = this.judge(group);
    const comparison = await this.compare(legacy, candidate, rules);
    noise.recordAB(route, comparison);
    const classified = noise.classify(route, comparison);
    this.metrics.comparisons.inc({ group, route, verdict: classified.verdict });
    if (classified.verdict === 'mismatch') {
      for (const field of new Set(classified.differences.map((difference) => this.fieldLabel(group, route, difference)))) {
        this.metrics.mismatchedFields.inc({ group, route, field });
      }
    }
    return classified;
  }

  /** Two answers of the same side to the same request: what differs here is noise. */
  async recordAA(group: string, route: string, first: Observation, second: Observation): Promise<void> {
    const { rules, noise } = this.judge(group);
    noise.recordAA(route, await this.compare(first, second, rules));
  }

  private compare(legacy: Observation, candidate: Observation, rules: Rules): Promise<Comparison> {
    if (bodyBytes(legacy) + bodyBytes(candidate) < INLINE_COMPARE_BYTES) return Promise.resolve(compare(legacy, candidate, rules));
    return this.workers.compare(legacy, candidate, rules);
  }

  noiseOf(group: string): GroupNoise {
    const { rules, noise } = this.judge(group);
    const snapshot = noise.snapshot();
    return { group, snapshot, suggestedRules: rulesToJson(suggestRules(snapshot.routes.flatMap((route) => route.fields), rules)) };
  }

  private judge(group: string): Judge {
    const judge = this.judges.get(group);
    if (!judge) throw new Error(`no group named "${group}"`);
    return judge;
  }

  private fieldLabel(group: string, route: string, difference: Difference): string {
    const key = `${group} ${route}`;
    let labels = this.fieldLabels.get(key);
    if (!labels) this.fieldLabels.set(key, labels = new Set());
    if (labels.has(difference.field)) return difference.field;
    if (labels.size >= FIELD_LABELS_PER_ROUTE) return '_other';
    labels.add(difference.field);
    return difference.field;
  }
}
