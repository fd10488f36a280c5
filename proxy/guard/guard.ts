import type { Group } from '../config/config.js';
import type { ComparisonRecord } from '../evidence/record.js';
import { OverrideNotShared, type Overrides } from '../decision/overrides.js';
import type { Side } from '../decision/stage.js';
import type { Logger } from '../telemetry/log.js';
import type { Metrics } from '../telemetry/metrics.js';

/** How often each replica looks at its window: well inside the 30 s the issue allows a trip. */
const CHECK_EVERY_MS = 1_000;

/** The window is kept in slices this long, dropped whole as they age out. */
const SLICE_MS = 1_000;

interface Counts {
  newAnswers: number;
  newFailures: number;
  legacyAnswers: number;
  legacyFailures: number;
  compared: number;
  mismatched: number;
}

const empty = (): Counts => ({ newAnswers: 0, newFailures: 0, legacyAnswers: 0, legacyFailures: 0, compared: 0, mismatched: 0 });

function isFailure(answer: ComparisonRecord['legacy']): boolean {
  return 'error' in answer.observation || answer.observation.status >= 500;
}

const percent = (part: number, whole: number) => `${(whole === 0 ? 0 : (100 * part) / whole).toFixed(1)} %`;

/** One group's sliding window, in slices of SLICE_MS. */
class Window {
  private slices: Array<{ start: number; counts: Counts }> = [];

  constructor(private readonly windowMs: number) {}

  add(now: number, change: (counts: Counts) => void): void {
    const start = now - (now % SLICE_MS);
    let last = this.slices.at(-1);
    if (!last || last.start !== start) {
      last = { start, counts: empty() };
      this.slices.push(last);
    }
    change(last.counts);
  }

  totals(now: number): Counts {
    this.slices = this.slices.filter((slice) => slice.start > now - this.windowMs);
    const sum = empty();
    for (const { counts } of this.slices) {
      for (const key of Object.keys(sum) as Array<keyof Counts>) sum[key] += counts[key];
    }
    return sum;
  }

  clear(): void {
    this.slices = [];
  }
}

/**
 * The guard (issue 24): each replica watches, per group with `guard.enabled`, the new side's
 * answers while it serves callers (primary answers, fallbacks counted as failures, and the new
 * side's shadows) against legacy's, and the mismatches of the comparisons, over a sliding window
 * with a minimum of samples. A breach rolls the group back through the shared override (actor
 * `guard`), written only when the group has no override, so that one replica of those that see
 * it writes and an engineer's override is never replaced. It only ever forces `legacy` or
 * `shadow`, so it never moves a group forward; when the store cannot take the rollback it says
 * so (an error line, `cutover_guard_unable`) rather than acting on this replica alone.
 * Latency is not judged yet.
 */
export class Guard {
  private readonly windows = new Map<string, Window>();
  private readonly groups: ReadonlyMap<string, Group>;
  private readonly acting = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  readonly name = 'guard';

  constructor(
    groups: readonly Group[],
    private readonly overrides: Pick<Overrides, 'rollBack' | 'get' | 'onChange'>,
    private readonly metrics: Metrics,
    private readonly log: Logger,
  ) {
    this.groups = new Map(groups.filter((group) => group.guard.enabled).map((group) => [group.name, group]));
    for (const group of this.groups.values()) this.windows.set(group.name, new Window(group.guard.windowMs));
    // Present from start for every group (a group without a guard never trips), so that a panel
    // or an alert reads a 0, not a missing series.
    for (const group of groups) {
      metrics.guardTrips.inc({ group: group.name }, 0);
      metrics.guardUnable.set({ group: group.name }, 0);
    }
    // Evidence from before an override was set or cleared says nothing about what follows: an
    // engineer who clears a rollback gets a guard that judges the new side afresh.
    overrides.onChange((group) => this.windows.get(group)?.clear());
  }

  start(): void {
    if (this.groups.size > 0) this.timer = setInterval(() => void this.check(), CHECK_EVERY_MS).unref();
  }

  close(): void {
    clearInterval(this.timer);
  }

  /** A primary answer: `failedOver` when the new side failed and legacy answered instead. */
  answered(group: string, servedBy: Side, status: number, failedOver: boolean): void {
    const failed = status >= 500;
    this.windows.get(group)?.add(Date.now(), (counts) => {
      if (servedBy === 'new' || failedOver) {
        counts.newAnswers++;
        if (failedOver || failed) counts.newFailures++;
      } else {
        counts.legacyAnswers++;
        if (failed) counts.legacyFailures++;
      }
    });
  }

  /** A consumer of `publish`: the shadow side's answer, and the verdict. */
  consume(record: ComparisonRecord): void {
    this.windows.get(record.group)?.add(Date.now(), (counts) => {
      if (record.primarySide === 'legacy') {
        counts.newAnswers++;
        if (isFailure(record.new)) counts.newFailures++;
      } else {
        counts.legacyAnswers++;
        if (isFailure(record.legacy)) counts.legacyFailures++;
      }
      const { verdict } = record.comparison;
      if (verdict === 'match' || verdict === 'noise' || verdict === 'mismatch') counts.compared++;
      if (verdict === 'mismatch') counts.mismatched++;
    });
  }

  /** Why the group's window breaches its thresholds, with the figures; undefined when it does not. */
  private breach(group: Group, counts: Counts): string | undefined {
    const { minSamples, maxErrorRateIncrease, maxMismatchRate } = group.guard;
    if (counts.newAnswers >= minSamples) {
      const newRate = counts.newFailures / counts.newAnswers;
      const legacyRate = counts.legacyAnswers === 0 ? 0 : counts.legacyFailures / counts.legacyAnswers;
      if (newRate - legacyRate > maxErrorRateIncrease) {
        return `new 5xx ${percent(counts.newFailures, counts.newAnswers)} vs legacy ${percent(counts.legacyFailures, counts.legacyAnswers)} over ${counts.newAnswers + counts.legacyAnswers} requests`;
      }
    }
    if (counts.compared >= minSamples && counts.mismatched / counts.compared > maxMismatchRate) {
      return `mismatches ${percent(counts.mismatched, counts.compared)} over ${counts.compared} comparisons`;
    }
    return undefined;
  }

  private async check(): Promise<void> {
    const now = Date.now();
    for (const [name, group] of this.groups) {
      const window = this.windows.get(name) as Window;
      const forced = this.overrides.get(name);
      // Forced to a stage where no caller is on the new side: nothing to guard.
      if (forced === 'legacy' || forced === 'shadow') continue;
      const reason = this.breach(group, window.totals(now));
      if (reason === undefined || this.acting.has(name)) continue;
      this.acting.add(name);
      await this.trip(group, window, reason).finally(() => this.acting.delete(name));
    }
  }

  private async trip(group: Group, window: Window, figures: string): Promise<void> {
    const stage = group.guard.rollbackTo;
    const reason = `guard: ${figures}`;
    try {
      const wrote = await this.overrides.rollBack({ group: group.name, stage, reason, actor: 'guard' });
      this.metrics.guardUnable.set({ group: group.name }, 0);
      // Lost to another replica, or won: either way the override's change clears the window; this
      // is for the replica that has not heard of the winner's yet.
      window.clear();
      if (!wrote) return;
      this.metrics.guardTrips.inc({ group: group.name });
      this.log.error({ group: group.name, stage, figures }, `guard: group ${group.name} rolled back to ${stage} on every replica: ${figures}; clear the override once the new side is fixed`);
    } catch (error) {
      this.metrics.guardUnable.set({ group: group.name }, 1);
      const why = error instanceof OverrideNotShared ? 'the store cannot take the rollback' : 'the rollback failed';
      this.log.error({ group: group.name, figures, err: error }, `guard: group ${group.name} breaches its thresholds (${figures}) but ${why} (${(error as Error).message}); NOT rolled back, not even on this replica`);
    }
  }
}
