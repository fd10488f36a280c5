import { STAGES } from './stage.js';

interface Variation { key: string; featureEnabled?: boolean }
interface Rule { id: string; variations?: Variation[] }
export interface Datafile {
  featureFlags?: Array<{ key: string; rolloutId?: string; experimentIds?: string[] }>;
  rollouts?: Array<{ id: string; experiments?: Rule[] }>;
  experiments?: Rule[];
  groups?: Array<{ experiments?: Rule[] }>;
}

/**
 * What is wrong with the datafile for these groups: a flag that is missing, a variation that is
 * enabled but names no stage, a stage variation that is disabled (it would serve legacy under
 * another name), or a stage the flag cannot reach because no variation has its key.
 */
export function checkDatafile(datafile: Datafile, groups: ReadonlyArray<{ name: string; flag: string }>): string[] {
  const experiments = new Map<string, Rule>([...(datafile.experiments ?? []), ...(datafile.groups ?? []).flatMap((group) => group.experiments ?? [])].map((rule) => [rule.id, rule]));
  const rollouts = new Map((datafile.rollouts ?? []).map((rollout) => [rollout.id, rollout.experiments ?? []]));
  const problems: string[] = [];
  for (const group of groups) {
    const flag = (datafile.featureFlags ?? []).find((candidate) => candidate.key === group.flag);
    if (!flag) {
      problems.push(`group ${group.name}: flag "${group.flag}" is not in the datafile`);
      continue;
    }
    const rules = [...(flag.rolloutId ? rollouts.get(flag.rolloutId) ?? [] : []), ...(flag.experimentIds ?? []).flatMap((id) => experiments.get(id) ?? [])];
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
