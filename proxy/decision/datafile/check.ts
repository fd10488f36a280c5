import { STAGES } from '../stage.js';

interface Variation { id?: string; key: string; featureEnabled?: boolean }
interface Rule { id: string; key?: string; variations?: Variation[]; trafficAllocation?: Array<{ entityId: string; endOfRange: number }> }
export interface Datafile {
  featureFlags?: Array<{ key: string; rolloutId?: string; experimentIds?: string[] }>;
  rollouts?: Array<{ id: string; experiments?: Rule[] }>;
  experiments?: Rule[];
  groups?: Array<{ experiments?: Rule[] }>;
}

/** A flag's rules in the datafile (its rollout's, then its experiments'); undefined when the flag is missing. */
export function rulesOf(datafile: Datafile, flagKey: string): Rule[] | undefined {
  const flag = (datafile.featureFlags ?? []).find((candidate) => candidate.key === flagKey);
  if (!flag) return undefined;
  const experiments = new Map<string, Rule>([...(datafile.experiments ?? []), ...(datafile.groups ?? []).flatMap((group) => group.experiments ?? [])].map((rule) => [rule.id, rule]));
  const rollout = (datafile.rollouts ?? []).find((candidate) => candidate.id === flag.rolloutId);
  return [...(rollout?.experiments ?? []), ...(flag.experimentIds ?? []).flatMap((id) => experiments.get(id) ?? [])];
}

/**
 * What is wrong with the datafile for these groups: a flag that is missing, a variation that is
 * enabled but names no stage, a stage variation that is disabled (it would serve legacy under
 * another name), or a stage the flag cannot reach because no variation has its key.
 */
export function checkDatafile(datafile: Datafile, groups: ReadonlyArray<{ name: string; flag: string }>): string[] {
  const problems: string[] = [];
  for (const group of groups) {
    const rules = rulesOf(datafile, group.flag);
    if (!rules) {
      problems.push(`group ${group.name}: flag "${group.flag}" is not in the datafile`);
      continue;
    }
    const variations = new Map<string, Variation>(rules.flatMap((rule) => rule.variations ?? []).map((variation) => [variation.key, variation]));
    for (const variation of variations.values()) {
      const isStage = (STAGES as readonly string[]).includes(variation.key);
      if (variation.featureEnabled && !isStage) problems.push(`group ${group.name}: variation "${variation.key}" of flag "${group.flag}" is enabled but is not a stage (${STAGES.join(', ')})`);
      if (!variation.featureEnabled && isStage) problems.push(`group ${group.name}: variation "${variation.key}" of flag "${group.flag}" is disabled, so it would serve legacy`);
    }
    const missing = STAGES.filter((stage) => !variations.has(stage));
    if (missing.length > 0) problems.push(`group ${group.name}: flag "${group.flag}" has no variation for stage ${missing.join(', ')}`);
  }
  return problems;
}

/** Stages that serve callers from the new side: moving a caller out of one is moving it back. */
const SERVED_BY_NEW = new Set(['live', 'complete']);

/** Each variation's bucket range in a rule, by variation key: [start, end) out of 10,000. */
function rangesOf(rule: Rule): Map<string, { start: number; end: number }> {
  const keyOf = new Map((rule.variations ?? []).map((variation) => [variation.id, variation.key]));
  const ranges = new Map<string, { start: number; end: number }>();
  let start = 0;
  for (const allocation of rule.trafficAllocation ?? []) {
    const key = keyOf.get(allocation.entityId);
    if (key !== undefined) ranges.set(key, { start, end: allocation.endOfRange });
    start = allocation.endOfRange;
  }
  return ranges;
}

function percent(buckets: number): string {
  return `${buckets / 100} %`;
}

/**
 * What in a new datafile would move callers backwards, from the new side to legacy, compared
 * with the one published now. Optimizely keeps a caller in its bucket while a rule's range for a
 * variation only grows from where it starts; a range that shrinks or moves, or a rule that is
 * removed or re-created (a new id re-buckets everyone), sends some callers of `live` or
 * `complete` back.
 */
export function checkChange(previous: Datafile, next: Datafile, groups: ReadonlyArray<{ name: string; flag: string }>): string[] {
  const problems: string[] = [];
  for (const group of groups) {
    const before = rulesOf(previous, group.flag) ?? [];
    const after = new Map((rulesOf(next, group.flag) ?? []).map((rule) => [rule.id, rule]));
    for (const rule of before) {
      const name = `rule "${rule.key ?? rule.id}" of flag "${group.flag}"`;
      for (const [stage, range] of rangesOf(rule)) {
        if (!SERVED_BY_NEW.has(stage) || range.end <= range.start) continue;
        const kept = after.get(rule.id);
        if (!kept) {
          const recreated = [...after.values()].some((candidate) => candidate.key !== undefined && candidate.key === rule.key);
          problems.push(`group ${group.name}: ${name} is ${recreated ? 're-created with a new id, which re-buckets' : 'removed, which moves'} its ${percent(range.end - range.start)} of callers in ${stage}`);
          continue;
        }
        const now = rangesOf(kept).get(stage);
        if (!now || now.end - now.start < range.end - range.start) {
          problems.push(`group ${group.name}: ${name} shrinks ${stage} from ${percent(range.end - range.start)} to ${percent(now ? now.end - now.start : 0)}, which moves callers back to legacy`);
        } else if (now.start !== range.start) {
          problems.push(`group ${group.name}: ${name} moves the start of ${stage}'s range (bucket ${range.start} to ${now.start}), which re-buckets its callers`);
        }
      }
    }
  }
  return problems;
}
