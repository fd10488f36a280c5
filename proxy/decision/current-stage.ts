import type { LedgerEntry } from './datafile/ledger.js';
import type { Flags } from './flags.js';
import { type Share, splitText } from './flag-split.js';
import type { Overrides } from './overrides.js';
import { STAGES, type Stage } from './stage.js';
import type { Metrics } from '../telemetry/metrics.js';

/** An override in force, with who set it and why. */
export interface ForcedStage {
  readonly stage: Stage;
  readonly actor: string | null;
  readonly reason: string | null;
  readonly at: string | null;
}

/** A group's stage as this proxy serves it now: the flag's split under the datafile applied, unless an override wins. */
export interface CurrentStage {
  readonly revision: string | null;
  readonly appliedAt: string | null;
  readonly rule: string | null;
  /** The flag's split, whether or not an override beats it. */
  readonly split: readonly Share[];
  readonly splitText: string;
  readonly override: ForcedStage | null;
  /** What callers get: the override's stage for all, else the split. */
  readonly serving: readonly Share[];
}

export function currentStage(entry: LedgerEntry | undefined, group: string, override: ForcedStage | null): CurrentStage {
  const split = entry?.splits.get(group);
  const shares = split?.shares ?? [];
  return {
    revision: entry?.revision ?? null,
    appliedAt: entry?.appliedAt.toISOString() ?? null,
    rule: split?.rule ?? null,
    split: shares,
    splitText: entry ? splitText(shares) : 'no datafile applied yet: every caller is served by legacy',
    override,
    serving: override ? [{ stage: override.stage, percent: 100 }] : entry ? shares : [{ stage: 'legacy', percent: 100 }],
  };
}

/**
 * Keeps cutover_group_stage_share current: each group's share per stage as served, set again
 * whenever a datafile is applied or an override changes. Every stage has a sample (0 when not
 * served), so that a dashboard reads a stage leaving as 0, not as a series gone.
 */
export function publishStageShares(metrics: Metrics, groups: readonly string[], flags: Flags, overrides: Overrides): void {
  const publish = () => {
    const entry = flags.datafile();
    for (const group of groups) {
      const forced = overrides.get(group);
      const { serving } = currentStage(entry, group, forced ? { stage: forced, actor: null, reason: null, at: null } : null);
      for (const stage of STAGES) metrics.groupStageShare.set({ group, stage }, serving.filter((share) => share.stage === stage).reduce((sum, share) => sum + share.percent, 0));
    }
  };
  publish();
  flags.onApplied(publish);
  overrides.onChange(publish);
}
