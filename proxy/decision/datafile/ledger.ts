import { type AppliedDatafile, DATAFILE_ERROR_REASONS, type DatafileError, type DatafileReport } from './source.js';
import { type Split, splitOf, splitText } from '../flag-split.js';
import type { Logger } from '../../telemetry/log.js';
import type { Metrics } from '../../telemetry/metrics.js';

/** The datafile the proxy decides by, with each configured group's split under it. */
export interface LedgerEntry {
  readonly revision: string;
  readonly appliedAt: Date;
  readonly splits: ReadonlyMap<string, Split>;
}

/**
 * What the proxy knows of its datafiles: the one applied, with each group's split, and the last
 * one refused. Each datafile applied is logged once (info) with its revision and the groups whose
 * split it changed; each refused, once (error) with why, and counted. The metrics carry the
 * revision and when it was applied, so that a flip is seen acknowledged (or not) per replica.
 */
export class DatafileLedger implements DatafileReport {
  private entry: LedgerEntry | undefined;
  private readonly listeners: Array<(entry: LedgerEntry) => void> = [];

  constructor(
    private readonly groups: ReadonlyArray<{ readonly name: string; readonly flag: string }>,
    private readonly log: Logger,
    private readonly metrics: Metrics | undefined,
  ) {
    // Every reason at 0 from start, so that a dashboard reads "none refused", not "no data".
    for (const reason of DATAFILE_ERROR_REASONS) metrics?.datafileErrors.inc({ reason }, 0);
  }

  /** The datafile applied now; undefined before the first. */
  current(): LedgerEntry | undefined {
    return this.entry;
  }

  /** Calls `listener` with each datafile applied from now on (and the one applied already, if any). */
  onApplied(listener: (entry: LedgerEntry) => void): void {
    this.listeners.push(listener);
    if (this.entry) listener(this.entry);
  }

  applied(applied: AppliedDatafile, previous: AppliedDatafile | undefined): void {
    const splits = new Map(this.groups.map((group) => [group.name, splitOf(applied.datafile, group.flag)]));
    const before = this.entry?.splits;
    const changed = this.groups.filter((group) => before === undefined || splitText(before.get(group.name)?.shares ?? []) !== splitText(splits.get(group.name)?.shares ?? []));
    this.entry = { revision: applied.revision, appliedAt: applied.appliedAt, splits };
    const described = Object.fromEntries(changed.map((group) => [group.name, splitText(splits.get(group.name)?.shares ?? [])]));
    const what = changed.length === 0 ? 'no group\'s split changed' : `${previous ? 'split changed' : 'split'}: ${changed.map((group) => `${group.name} ${described[group.name]}`).join('; ')}`;
    this.log.info({ revision: applied.revision, previousRevision: previous?.revision ?? null, changed: described }, `flags: datafile revision ${applied.revision} applied; ${what}`);
    const revision = Number(applied.revision);
    if (Number.isFinite(revision)) this.metrics?.datafileRevision.set(revision);
    this.metrics?.datafileAppliedAt.set(applied.appliedAt.getTime() / 1000);
    for (const listener of this.listeners) listener(this.entry);
  }

  refused(error: DatafileError, kept: AppliedDatafile | undefined): void {
    this.metrics?.datafileErrors.inc({ reason: error.reason });
    const consequence = kept
      ? `the datafile applied before (revision ${kept.revision}, at ${kept.appliedAt.toISOString()}) keeps deciding`
      : 'every group is served by legacy until a usable datafile arrives';
    this.log.error({ reason: error.reason, keptRevision: kept?.revision ?? null }, `flags: ${error.message}; ${consequence}`);
  }
}
