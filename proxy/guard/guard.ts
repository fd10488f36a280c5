import { bucketOf, judgeLatency, LATENCY_BUCKETS_MS, type LatencyHistogram } from '../../compare/index.js';
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
  /** Primary answers of the new side, fallbacks included: callers the new side served (or failed). */
  newServed: number;
  newAnswers: number;
  newFailures: number;
  legacyAnswers: number;
  legacyFailures: number;
  /** Comparisons of the reverse shadow (the new side answered, legacy was the shadow), errors aside. */
  compared: number;
  /** Of those, mismatches; noise is not one. */
  mismatched: number;
}

/** A slice's counts, and its answers' latencies by bucket (an array per side, so a window's memory is bounded by its slices). */
interface Slice {
  readonly start: number;
  readonly counts: Counts;
  readonly latency: Record<Side, number[]>;
}

const empty = (): Counts => ({ newServed: 0, newAnswers: 0, newFailures: 0, legacyAnswers: 0, legacyFailures: 0, compared: 0, mismatched: 0 });
const noLatencies = (): number[] => new Array<number>(LATENCY_BUCKETS_MS.length).fill(0);

function isFailure(answer: ComparisonRecord['legacy']): boolean {
  return 'error' in answer.observation || answer.observation.status >= 500;
}

const percent = (part: number, whole: number) => `${(whole === 0 ? 0 : (100 * part) / whole).toFixed(1)} %`;

/** One group's sliding window, in slices of SLICE_MS. */
class Window {
  private slices: Slice[] = [];
  /** When the group's override last changed here (epoch ms): requests received before it are not evidence of what follows. */
  private since = Number.NEGATIVE_INFINITY;

  constructor(private readonly windowMs: number) {}

  private slice(now: number): Slice {
    const start = now - (now % SLICE_MS);
    let last = this.slices.at(-1);
    if (!last || last.start !== start) {
      last = { start, counts: empty(), latency: { legacy: noLatencies(), new: noLatencies() } };
      this.slices.push(last);
    }
    return last;
  }

  add(now: number, change: (counts: Counts) => void): void {
    change(this.slice(now).counts);
  }

  /** An answer's time, by the bucket the store's side minutes use. */
  took(now: number, side: Side, ms: number): void {
    const latencies = this.slice(now).latency[side];
    const bucket = LATENCY_BUCKETS_MS.indexOf(bucketOf(ms) as (typeof LATENCY_BUCKETS_MS)[number]);
    latencies[bucket] = (latencies[bucket] as number) + 1;
  }

  totals(now: number): { counts: Counts; latency: Record<Side, LatencyHistogram> } {
    this.slices = this.slices.filter((slice) => slice.start > now - this.windowMs);
    const sum = empty();
    const latency = { legacy: noLatencies(), new: noLatencies() };
    for (const slice of this.slices) {
      for (const key of Object.keys(sum) as Array<keyof Counts>) sum[key] += slice.counts[key];
      for (const side of ['legacy', 'new'] as const) slice.latency[side].forEach((n, bucket) => { latency[side][bucket] = (latency[side][bucket] as number) + n; });
    }
    const histogram = (counts: number[]): LatencyHistogram => counts.map((count, bucket) => ({ leMs: LATENCY_BUCKETS_MS[bucket] as number, count }));
    return { counts: sum, latency: { legacy: histogram(latency.legacy), new: histogram(latency.new) } };
  }

  /** Whether a request received at `receivedAt` counts: not one received before the override's last change, answered or compared since. */
  admits(receivedAt: number): boolean {
    return receivedAt >= this.since;
  }

  clear(now: number): void {
    this.slices = [];
    this.since = now;
  }
}

/**
 * The guard (issue 24): each replica watches, per group with `guard.enabled`, the new side's
 * answers while it serves callers (primary answers, fallbacks counted as failures, and the new
 * side's shadows) against legacy's: their error rates, their latencies (the latency judge of the
 * readiness verdict, compare/latency.ts), and the mismatches of the reverse shadow (`live`:
 * legacy as the shadow of the new side), over a sliding window with a minimum of samples. It
 * judges only while its window holds primary answers of the new side: a group whose callers are
 * all on legacy (`shadow`) has nothing to roll back, whatever its shadows say. A breach rolls the
 * group back through the shared override (actor `guard`), written only when the group has no
 * override, so that one replica of those that see it writes and an engineer's override is never
 * replaced. It only ever forces `legacy` or `shadow`, so it never moves a group forward; when the
 * store cannot take the rollback it says so (an error line, `cutover_guard_unable`) rather than
 * acting on this replica alone.
 */
export class Guard {
  private readonly windows = new Map<string, Window>();
  private readonly groups: ReadonlyMap<string, Group>;
  private readonly acting = new Set<string>();
  /** Per group, why its last breach could not be rolled back; gone once a rollback is taken. */
  private readonly unable = new Map<string, string>();
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
    // engineer who clears a rollback gets a guard that judges the new side afresh. Nor does a
    // request received before the change and answered or compared after it (a loaded replica's
    // compare pool can hold its comparisons for seconds): it is left out by when it was received.
    overrides.onChange((group) => this.windows.get(group)?.clear(Date.now()));
  }

  /** For `/readyz`: the groups whose breach the guard could not act on. */
  problem(): string | undefined {
    return this.unable.size === 0 ? undefined : [...this.unable.values()].join('; ');
  }

  start(): void {
    if (this.groups.size > 0) this.timer = setInterval(() => void this.look(), CHECK_EVERY_MS).unref();
  }

  close(): void {
    clearInterval(this.timer);
  }

  /**
   * A primary answer, `ms` to its response when it gave one: `failedOver` when the new side failed
   * and legacy answered instead (a failure of the new side, whose time is not an answer's).
   */
  answered(group: string, servedBy: Side, status: number, failedOver: boolean, ms: number | undefined, receivedAt: number): void {
    const window = this.windows.get(group);
    if (window === undefined || !window.admits(receivedAt)) return;
    const now = Date.now();
    const failed = status >= 500;
    window.add(now, (counts) => {
      if (servedBy === 'new' || failedOver) {
        counts.newServed++;
        counts.newAnswers++;
        if (failedOver || failed) counts.newFailures++;
      } else {
        counts.legacyAnswers++;
        if (failed) counts.legacyFailures++;
      }
    });
    if (!failedOver && ms !== undefined) window.took(now, servedBy, ms);
  }

  /** A consumer of `publish`: the shadow side's answer and its time, and the reverse shadow's verdict. */
  consume(record: ComparisonRecord): void {
    const window = this.windows.get(record.group);
    if (window === undefined || !window.admits(record.request.receivedAt)) return;
    const now = Date.now();
    const shadowSide: Side = record.primarySide === 'legacy' ? 'new' : 'legacy';
    window.add(now, (counts) => {
      if (shadowSide === 'new') {
        counts.newAnswers++;
        if (isFailure(record.new)) counts.newFailures++;
      } else {
        counts.legacyAnswers++;
        if (isFailure(record.legacy)) counts.legacyFailures++;
        // Only the reverse shadow's comparisons: what callers on the new side were answered, against what legacy would have said.
        const { verdict } = record.comparison;
        if (verdict === 'match' || verdict === 'noise' || verdict === 'mismatch') counts.compared++;
        if (verdict === 'mismatch') counts.mismatched++;
      }
    });
    window.took(now, shadowSide, record[shadowSide].ms);
  }

  /** Why the group's window breaches its thresholds, with the figures; undefined when it does not. */
  private breach(group: Group, { counts, latency }: ReturnType<Window['totals']>): string | undefined {
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
    const judged = judgeLatency(latency.legacy, latency.new, group.guard.latency);
    if (judged.outcome === 'slower') return judged.text;
    return undefined;
  }

  /** One look at every guarded group's window (every CHECK_EVERY_MS); a breach trips. */
  async look(): Promise<void> {
    const now = Date.now();
    for (const [name, group] of this.groups) {
      const window = this.windows.get(name) as Window;
      const forced = this.overrides.get(name);
      // Forced to a stage where no caller is on the new side: nothing to guard.
      if (forced === 'legacy' || forced === 'shadow') continue;
      const totals = window.totals(now);
      // No caller served by the new side in the window: nothing the guard could roll back.
      if (totals.counts.newServed === 0) continue;
      const reason = this.breach(group, totals);
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
      this.unable.delete(group.name);
      // Lost to another replica, or won: either way the override's change clears the window; this
      // is for the replica that has not heard of the winner's yet.
      window.clear(Date.now());
      if (!wrote) return;
      this.metrics.guardTrips.inc({ group: group.name });
      this.log.error({ group: group.name, stage, figures }, `guard: group ${group.name} rolled back to ${stage} on every replica: ${figures}; clear the override once the new side is fixed`);
    } catch (error) {
      this.metrics.guardUnable.set({ group: group.name }, 1);
      const why = error instanceof OverrideNotShared ? 'the store cannot take the rollback' : 'the rollback failed';
      this.unable.set(group.name, `guard: group ${group.name} breaches its thresholds (${figures}) but ${why}: not rolled back`);
      this.log.error({ group: group.name, figures, err: error }, `guard: group ${group.name} breaches its thresholds (${figures}) but ${why} (${(error as Error).message}); NOT rolled back, not even on this replica`);
    }
  }
}
