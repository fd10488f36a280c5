import { type Datafile, rulesOf } from './datafile/check.js';
import { isStage, type Stage } from './stage.js';

/** Optimizely's buckets: a rule's traffic allocation ranges over 10,000 of them. */
export const BUCKETS = 10_000;

/** A stage with its share of a group's callers, in percent. */
export interface Share { readonly stage: Stage; readonly percent: number }

/** How a flag's datafile splits a group's callers among the stages. */
export interface Split {
  /** The first rule's key: the rule a rollout changes (`cutover flags set`); null when the flag has none. */
  readonly rule: string | null;
  /** Each stage served, with its share, in the order of the buckets; empty when the flag is missing. */
  readonly shares: readonly Share[];
}

type Range = { readonly entityId: string; readonly endOfRange: number };

/**
 * The stages a list of bucket ranges gives, with their shares, in percent: consecutive ranges of
 * one stage are one share. A variation that is off or names no stage serves `legacy`, as the
 * decision does. The one computation of a split: the rollout command and the current stage both
 * read it here.
 */
export function sharesOf(ranges: readonly Range[], stageOf: (entityId: string) => Stage, of = BUCKETS): Share[] {
  const shares: Array<{ stage: Stage; percent: number }> = [];
  let start = 0;
  for (const range of ranges) {
    const stage = stageOf(range.entityId);
    const buckets = Math.min(range.endOfRange, BUCKETS) - start;
    start = Math.max(start, Math.min(range.endOfRange, BUCKETS));
    if (buckets <= 0) continue;
    const percent = (buckets * (of / BUCKETS)) / 100;
    const last = shares.at(-1);
    if (last?.stage === stage) last.percent += percent;
    else shares.push({ stage, percent });
  }
  return shares;
}

/**
 * The split of a group's callers under its flag: the first rule's ranges, and the callers it
 * leaves out fall through to the flag's last rule ("everyone else"), as Optimizely buckets them.
 * Rules in between (targeted by audience) are not part of it: they serve whom they target.
 */
export function splitOf(datafile: Datafile, flag: string): Split {
  const rules = rulesOf(datafile, flag) ?? [];
  const first = rules[0];
  if (!first) return { rule: null, shares: [] };
  const stageOf = (rule: typeof first) => (id: string): Stage => {
    const variation = (rule.variations ?? []).find((candidate) => candidate.id === id);
    return variation?.featureEnabled && isStage(variation.key) ? variation.key : 'legacy';
  };
  const ranges = first.trafficAllocation ?? [];
  const covered = Math.min(BUCKETS, ranges.at(-1)?.endOfRange ?? 0);
  const shares = sharesOf(ranges, stageOf(first));
  const rest = rules.length > 1 ? rules[rules.length - 1] : undefined;
  const everyoneElse = rest && covered < BUCKETS ? sharesOf(rest.trafficAllocation ?? [], stageOf(rest), BUCKETS - covered) : [];
  const merged = new Map<Stage, number>();
  for (const share of [...shares, ...everyoneElse]) merged.set(share.stage, (merged.get(share.stage) ?? 0) + share.percent);
  return { rule: first.key ?? first.id, shares: [...merged].map(([stage, percent]) => ({ stage, percent: Math.round(percent * 100) / 100 })) };
}

/** "live 10 % · shadow 90 %": a split as the page, the command and the log show it. */
export function splitText(shares: readonly Share[]): string {
  return shares.length === 0 ? 'no split (the flag is not in the datafile)' : shares.map((share) => `${share.stage} ${share.percent} %`).join(' · ');
}
