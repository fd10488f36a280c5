import { type Datafile, rulesOf } from './datafile/check.js';
import { BUCKETS, type Share, splitOf } from './flag-split.js';
import type { Stage } from './stage.js';

export class RolloutError extends Error {}

/** What a rollout change did, for the one line the command prints. */
export interface Rollout {
  readonly datafile: Datafile;
  readonly rule: string;
  /** The split after the change: each stage with its share of callers, in percent. */
  readonly split: readonly Share[];
  /** Callers the change moves from the new side back to legacy's stages, in percent (0 when it only grows). */
  readonly movedBack: number;
}

/**
 * The group's flag with its first rule giving `stage` to `percent` of callers and the stage the
 * rule gives the rest now (its last range) to the others. The share starts at bucket 0, so a
 * share that grows only extends its range: every caller it served stays where it is (Optimizely
 * buckets a caller by its key, which does not change). The datafile's revision goes up by one.
 */
export function withStageShare(datafile: Datafile, flag: string, stage: Stage, percent: number): Rollout {
  if (!Number.isInteger(percent * 100) || percent <= 0 || percent > 100) throw new RolloutError(`the share must be above 0 and at most 100 %, in steps of 0.01: ${percent}`);
  const rules = rulesOf(datafile, flag);
  const rule = rules?.[0];
  if (!rule) throw new RolloutError(`flag "${flag}" is not in the datafile, or has no rule`);
  const variations = rule.variations ?? [];
  const idOf = (key: string) => variations.find((variation) => variation.key === key)?.id;
  const keyOf = (id: string) => variations.find((variation) => variation.id === id)?.key ?? id;
  const target = idOf(stage);
  if (target === undefined) throw new RolloutError(`rule "${rule.key ?? rule.id}" of flag "${flag}" has no variation "${stage}"`);
  const before = rule.trafficAllocation ?? [];
  const rest = before.at(-1)?.entityId ?? target;
  const end = Math.round(percent * 100);
  const allocation = end === BUCKETS || rest === target
    ? [{ entityId: target, endOfRange: BUCKETS }]
    : [{ entityId: target, endOfRange: end }, { entityId: rest, endOfRange: BUCKETS }];
  const served = (ranges: ReadonlyArray<{ entityId: string; endOfRange: number }>, bucket: number) => ranges.find((range) => bucket < range.endOfRange)?.entityId;
  const onNew = (id: string | undefined) => id !== undefined && ['live', 'complete'].includes(keyOf(id));
  let movedBack = 0;
  // Ranges are few: walking their edges, not the 10,000 buckets, finds the callers moved back.
  const edges = [...new Set([0, ...before.map((range) => range.endOfRange), ...allocation.map((range) => range.endOfRange)])].filter((edge) => edge < BUCKETS).sort((a, b) => a - b);
  edges.forEach((edge, index) => {
    const next = edges[index + 1] ?? BUCKETS;
    if (onNew(served(before, edge)) && !onNew(served(allocation, edge))) movedBack += next - edge;
  });
  const changed = structuredClone(datafile) as Datafile & { revision?: string };
  const changedRule = rulesOf(changed, flag)?.[0];
  if (changedRule) changedRule.trafficAllocation = allocation;
  changed.revision = String(Number((datafile as { revision?: string }).revision ?? '0') + 1);
  return { datafile: changed, rule: rule.key ?? rule.id, split: splitOf(changed, flag).shares, movedBack: movedBack / 100 };
}
