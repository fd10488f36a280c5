import { readFileSync, writeFileSync } from 'node:fs';
import { STAGES, type Stage } from '../../proxy/decision/stage.js';

/** A variation key of a migration flag: a stage, or Optimizely's disabled `off`. */
export type VariationKey = Stage | 'off';

export interface RuleSpec { key: string; variation: VariationKey; percent: number }

export interface FlagSpec {
  key: string;
  /** Delivery rules, evaluated in order; a caller outside a rule's traffic falls through to "everyone else". */
  rules?: RuleSpec[];
  everyoneElse?: VariationKey;
  /** Variations to leave out, to test datafiles that lack a stage. */
  without?: VariationKey[];
  /** The `shadowPercent` variable: its value in every enabled variation (the flag's default is 0). */
  shadowPercent?: number;
}

const VARIATIONS: VariationKey[] = [...STAGES, 'off'];

/** An Optimizely datafile (version 4) with one rollout per migration flag, as the Optimizely UI exports it. */
export function buildDatafile(flags: FlagSpec[], revision = 1, events: string[] = []): Record<string, unknown> {
  const featureFlags: unknown[] = [];
  const rollouts: unknown[] = [];
  flags.forEach((flag, flagIndex) => {
    const base = 10_000 * (flagIndex + 1);
    const variationIds = new Map(VARIATIONS.filter((key) => !flag.without?.includes(key)).map((key, index) => [key, String(base + 100 + index)]));
    const variation = (key: VariationKey) => {
      const id = variationIds.get(key);
      if (!id) throw new Error(`flag ${flag.key} has no variation ${key}`);
      const variables = flag.shadowPercent === undefined || key === 'off' ? [] : [{ id: `${base}7`, value: String(flag.shadowPercent) }];
      return { id, key, featureEnabled: key !== 'off', variables };
    };
    const rollout = String(base + 1);
    const rule = (id: string, key: string, variationKey: VariationKey, percent: number) => ({
      id, key, layerId: rollout, status: 'Running', audienceIds: [], audienceConditions: [], forcedVariations: {},
      // Every rule lists all of the flag's variations, as the flag defines them; the allocation picks one.
      variations: [...variationIds.keys()].map(variation),
      trafficAllocation: [{ entityId: variation(variationKey).id, endOfRange: Math.round(percent * 100) }],
    });
    const variables = flag.shadowPercent === undefined ? [] : [{ id: `${base}7`, key: 'shadowPercent', type: 'integer', defaultValue: '0' }];
    featureFlags.push({ id: String(base), key: flag.key, rolloutId: rollout, experimentIds: [], variables });
    rollouts.push({
      id: rollout,
      experiments: [
        ...(flag.rules ?? []).map((spec, index) => rule(String(base + 10 + index), spec.key, spec.variation, spec.percent)),
        rule(String(base + 99), `default-rollout-${base}`, flag.everyoneElse ?? 'off', 100),
      ],
    });
  });
  return {
    version: '4',
    accountId: '10000',
    projectId: '20000',
    revision: String(revision),
    environmentKey: 'production',
    sdkKey: 'cutover-local',
    anonymizeIP: true,
    botFiltering: false,
    sendFlagDecisions: true,
    attributes: [],
    audiences: [],
    typedAudiences: [],
    events: events.map((key, index) => ({ id: String(90_000 + index), key, experimentIds: [] })),
    experiments: [],
    groups: [],
    integrations: [],
    featureFlags,
    rollouts,
  };
}

/**
 * Turns off, in a datafile file on disk, every variation keyed `key` of every rule (at `revision`,
 * when given): a datafile Optimizely could publish, in which that stage serves legacy.
 */
export function switchOff(file: string, key: VariationKey, revision?: string): void {
  const datafile = JSON.parse(readFileSync(file, 'utf8')) as { revision: string; rollouts: Array<{ experiments: Array<{ variations: Array<{ key: string; featureEnabled: boolean }> }> }> };
  for (const rollout of datafile.rollouts) for (const rule of rollout.experiments) for (const variation of rule.variations) if (variation.key === key) variation.featureEnabled = false;
  if (revision !== undefined) datafile.revision = revision;
  writeFileSync(file, JSON.stringify(datafile));
}

export function writeDatafile(file: string, flags: FlagSpec[], revision = 1, events: string[] = []): string {
  writeFileSync(file, `${JSON.stringify(buildDatafile(flags, revision, events), null, 2)}\n`);
  return file;
}
