import { compare, type Comparison, NoiseModel, type NoiseSnapshot, type Observation, type Rules, rulesForRequest, rulesToJson, suggestRules } from '../../compare/index.js';
import type { ComparePool } from './compare-pool.js';
import { bodyBytes, INLINE_BYTES } from '../evidence/size.js';
import { type Group, rulesOfRoute } from '../config/config.js';
import type { NoiseChanges, RouteCountsByGroup } from '../store/database.js';

export interface GroupNoise {
  readonly group: string;
  readonly snapshot: NoiseSnapshot;
  /** The group's rules with the learned noise ignored: for a person to review and adopt, never applied. */
  readonly suggestedRules: Record<string, unknown>;
}

interface Judge { readonly group: Group; readonly noise: NoiseModel }

/** A comparison classified against the noise, with the fields among its differences known as noise. */
export interface Judgement {
  readonly comparison: Comparison;
  readonly noiseFields: ReadonlySet<string>;
  readonly rules: Rules;
}

/** Compares the two sides' observations with each group's rules, and learns noise from A/A pairs. */
export class Comparator {
  private readonly judges: ReadonlyMap<string, Judge>;

  constructor(groups: readonly Group[], private readonly workers: ComparePool) {
    this.judges = new Map(groups.map((group) => [group.name, { group, noise: new NoiseModel({ thresholds: group.shadow.noise }) }]));
  }

  /** The rules one request is compared under: its route's, with the order its query asks for. */
  rulesFor(group: string, route: string, query: string): Rules {
    return rulesForRequest(rulesOfRoute(this.judge(group).group, route), query);
  }

  /** Legacy against new for one request: learned from, and classified against the noise. */
  async recordAB(group: string, route: string, query: string, legacy: Observation, newSide: Observation): Promise<Judgement> {
    const { noise } = this.judge(group);
    const rules = this.rulesFor(group, route, query);
    const comparison = await this.compare(legacy, newSide, rules);
    noise.recordAB(route, comparison);
    const noiseFields = new Set(comparison.differences.filter((difference) => noise.isNoise(route, difference)).map((difference) => difference.field));
    return { comparison: noise.classify(route, comparison), noiseFields, rules };
  }

  /** Two answers of the same side to the same request: what differs here is noise. */
  async recordAA(group: string, route: string, query: string, first: Observation, second: Observation): Promise<void> {
    this.judge(group).noise.recordAA(route, await this.compare(first, second, this.rulesFor(group, route, query)));
  }

  private compare(legacy: Observation, newSide: Observation, rules: Rules): Promise<Comparison> {
    if (bodyBytes(legacy) + bodyBytes(newSide) < INLINE_BYTES) return Promise.resolve(compare(legacy, newSide, rules));
    return this.workers.compare(legacy, newSide, rules);
  }

  /** What every group's noise model counted since the last call, for the shared store. */
  takeNoiseChanges(): NoiseChanges[] {
    return [...this.judges].map(([group, { noise }]) => ({ group, decayEvery: noise.thresholds.decayEvery, routes: noise.takeChanges() }))
      .filter((changes) => changes.routes.length > 0);
  }

  /** Replaces each group's noise counts by the shared ones. */
  loadNoise(totals: RouteCountsByGroup): void {
    for (const [group, { noise }] of this.judges) noise.load(totals.get(group) ?? []);
  }

  noiseOf(group: string): GroupNoise {
    const { group: { rules }, noise } = this.judge(group);
    const snapshot = noise.snapshot();
    return { group, snapshot, suggestedRules: rulesToJson(suggestRules(snapshot.routes.flatMap((route) => route.fields), rules)) };
  }

  private judge(group: string): Judge {
    const judge = this.judges.get(group);
    if (!judge) throw new Error(`no group named "${group}"`);
    return judge;
  }
}
