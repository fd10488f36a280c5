import { type Client, type EventDispatcher, OptimizelyDecideOption } from '@optimizely/optimizely-sdk';
import type { FlagsConfig } from '../config/config.js';
import { checkDatafile, type Datafile } from './datafile/check.js';
import { DatafileLedger, type LedgerEntry } from './datafile/ledger.js';
import { type DatafileError, type FlagSource, PolledDatafile, WatchedDatafile } from './datafile/source.js';
import type { Logger } from '../telemetry/log.js';
import type { Metrics } from '../telemetry/metrics.js';
import { isStage, type Stage } from './stage.js';

/** Where a stage came from: the flag, the admin API's kill switch, or the safe default. */
export type DecisionSource = 'optimizely' | 'override' | 'fallback';

/** The stage one caller gets for one group, and why. */
export interface Decision {
  readonly group: string;
  readonly caller: string;
  readonly stage: Stage;
  readonly source: DecisionSource;
  readonly flag: string;
  readonly variation: string | null;
  readonly rule: string | null;
  readonly reasons: readonly string[];
  /** The share of this caller's requests to mirror, from the flag variable `shadowPercent`, when it has one. */
  readonly shadowPercent: number | undefined;
}

export class UnknownGroupError extends Error {}

export interface DecideOptions {
  readonly remember?: boolean;
  readonly explain?: boolean;
  /**
   * The decision serves a caller, so Optimizely is told of it (an impression, with A/B events
   * configured). Off unless asked: a lookup (/api/decide, the report page, recheck) that does
   * not serve anyone must not count as an exposure in Optimizely's results.
   */
  readonly impression?: boolean;
}

/** The SDK's options for a decision, by whether it is explained and whether it is an impression. */
const SDK_OPTIONS: Readonly<Record<'explained' | 'unexplained', Readonly<Record<'impression' | 'lookup', OptimizelyDecideOption[]>>>> = {
  explained: { impression: [OptimizelyDecideOption.INCLUDE_REASONS], lookup: [OptimizelyDecideOption.INCLUDE_REASONS, OptimizelyDecideOption.DISABLE_DECISION_EVENT] },
  unexplained: { impression: [], lookup: [OptimizelyDecideOption.DISABLE_DECISION_EVENT] },
};

/** The stages forced through the admin API (the kill switch), which beat Optimizely. */
export interface ForcedStages { get(group: string): Stage | undefined }

const NO_OVERRIDES: ForcedStages = { get: () => undefined };

function problemsOf(client: Client, groups: ReadonlyArray<{ name: string; flag: string }>): string[] {
  let datafile: Datafile;
  try {
    datafile = JSON.parse(client.getOptimizelyConfig()?.getDatafile() ?? '{}') as Datafile;
  } catch {
    return ['the Optimizely client gave no readable datafile to check'];
  }
  return checkDatafile(datafile, groups);
}

/** A decision without its caller: what every caller bucketed alike gets. */
type Outcome = Omit<Decision, 'caller'>;

function outcomeKey(decision: Decision): string {
  return [decision.group, decision.stage, decision.source, decision.variation, decision.rule, decision.shadowPercent, ...decision.reasons].join('\u0000');
}

/**
 * One datafile's decisions, by group and caller: the SDK's bucketing is a pure function of the
 * datafile and the caller's id, and it costs about 15 µs a request. Bounded; a new datafile
 * starts afresh (a flag source gives a new state object for each datafile it loads). Each caller
 * keeps only a reference to its outcome, which the callers bucketed alike share: about 50 bytes
 * of heap a caller, where a decision object of its own each held about 560 (10,000 returning
 * callers: 0.5 MB, not 5.6; `bench/remembered.ts`).
 */
export class RememberedDecisions {
  private datafile: object | undefined;
  private readonly callersByGroup = new Map<string, Map<string, Outcome>>();
  private readonly outcomes = new Map<string, Outcome>();
  private size = 0;

  constructor(private readonly limit = 10_000) {}

  get(datafile: object, group: string, caller: string, decide: () => Decision): Decision {
    if (datafile !== this.datafile) {
      this.datafile = datafile;
      this.callersByGroup.clear();
      this.outcomes.clear();
      this.size = 0;
    }
    let callers = this.callersByGroup.get(group);
    if (!callers) {
      callers = new Map();
      this.callersByGroup.set(group, callers);
    }
    const known = callers.get(caller);
    // The caller before the outcome's fields: a key added after a spread costs Node 20's V8 a new hidden class each time (upstream.ts, exchangeOf).
    if (known) return { caller, ...known };
    const decision = decide();
    if (this.size >= this.limit) this.forgetOldest(callers);
    callers.set(caller, this.shared(decision));
    this.size += 1;
    return decision;
  }

  private shared(decision: Decision): Outcome {
    const key = outcomeKey(decision);
    let outcome = this.outcomes.get(key);
    if (!outcome) {
      const { group, stage, source, flag, variation, rule, reasons, shadowPercent } = decision;
      outcome = { group, stage, source, flag, variation, rule, reasons, shadowPercent };
      this.outcomes.set(key, outcome);
    }
    return outcome;
  }

  /** The oldest of the group's callers goes first (a Map iterates in insertion order); of the largest group's when this one has none. */
  private forgetOldest(callers: Map<string, Outcome>): void {
    let from = callers;
    if (from.size === 0) for (const other of this.callersByGroup.values()) if (other.size > from.size) from = other;
    const oldest = from.keys().next();
    if (oldest.done === true) return;
    from.delete(oldest.value);
    this.size -= 1;
  }
}

/**
 * Decides each group's stage per caller from its Optimizely flag. The stage is the key of the
 * variation the caller is bucketed into; a disabled flag means `legacy`. Variables are never
 * read for the stage, because a variation with `featureEnabled: false` answers the flag's
 * default variables, which could otherwise send a caller to the new side unnoticed.
 * Anything wrong with the flags themselves decides `legacy`, never an error.
 */
export class Flags {
  private readonly flagOf: ReadonlyMap<string, string>;
  private readonly groups: ReadonlyArray<{ name: string; flag: string }>;
  /** The problems of the datafile last checked, and the client it was checked for. */
  private checked: { client: Client; problems: readonly string[] } | undefined;

  /**
   * @param remembered Decisions kept per datafile, or undefined when every decision must reach the
   * SDK (with A/B events configured, each one is an impression).
   * @param ledger What was applied and refused; the source reports to it.
   */
  constructor(
    private readonly source: FlagSource,
    groups: ReadonlyArray<{ name: string; flag: string }>,
    private readonly log: Logger | undefined,
    private readonly remembered: RememberedDecisions | undefined,
    private readonly overrides: ForcedStages = NO_OVERRIDES,
    private readonly ledger?: DatafileLedger,
  ) {
    this.groups = groups.map(({ name, flag }) => ({ name, flag }));
    this.flagOf = new Map(groups.map((group) => [group.name, group.flag]));
  }

  /**
   * Opens the configured datafile source; a local datafile that cannot be loaded is a DatafileError.
   * Each datafile applied is checked (warnings for its problems) as soon as it is applied.
   */
  static async open(config: FlagsConfig, groups: ReadonlyArray<{ name: string; flag: string }>, options: { log: Logger; dispatcher?: EventDispatcher; overrides?: ForcedStages; metrics?: Metrics }): Promise<Flags> {
    const events = config.events ? { ...config.events, ...(options.dispatcher ? { dispatcher: options.dispatcher } : {}) } : undefined;
    const ledger = new DatafileLedger(groups, options.log, options.metrics);
    // Set once the Flags exist: a polled datafile applied later is checked at once.
    const opened: { flags?: Flags } = {};
    const report = {
      applied: (...args: Parameters<DatafileLedger['applied']>) => { ledger.applied(...args); opened.flags?.problems(); },
      refused: (...args: Parameters<DatafileLedger['refused']>) => ledger.refused(...args),
    };
    const sourceOptions = { flags: groups.map((group) => group.flag), events, report, log: options.log };
    const source = config.source.kind === 'file'
      ? await WatchedDatafile.open(config.source.path, { ...sourceOptions, watchIntervalMs: config.source.watchIntervalMs })
      : new PolledDatafile({ ...config.source, ...sourceOptions });
    const flags = new Flags(source, groups, options.log, config.events ? undefined : new RememberedDecisions(), options.overrides, ledger);
    opened.flags = flags;
    // The start-up check of a datafile applied before the Flags existed (a local one).
    flags.problems();
    return flags;
  }

  /** The datafile decided by now, with each group's split; undefined before the first. */
  datafile(): LedgerEntry | undefined {
    return this.ledger?.current();
  }

  /** The last datafile that could not be used, while no usable one came after it: /readyz says degraded. */
  refusal(): DatafileError | undefined {
    return this.source.refusal();
  }

  /** Calls `listener` with each datafile applied (and the current one at once). */
  onApplied(listener: (entry: LedgerEntry) => void): void {
    this.ledger?.onApplied(listener);
  }

  /**
   * What keeps a configured group from moving through its stages with the current datafile: a
   * flag key the datafile does not have (a typo pins the group to legacy), or a flag that cannot
   * express the four stages. Empty while there is no datafile (`ready` says why). Each new
   * datafile is checked once, and its problems are logged as warnings then.
   */
  problems(): readonly string[] {
    const state = this.source.state();
    if (!state.ready) return [];
    if (this.checked?.client !== state.client) {
      const problems = problemsOf(state.client, this.groups);
      this.checked = { client: state.client, problems };
      for (const problem of problems) this.log?.warn({ check: 'flags' }, `start-up check: ${problem}; /readyz says degraded until the datafile is fixed (cutover flags check)`);
    }
    return this.checked.problems;
  }

  /** Why there is no usable datafile; undefined when there is one. */
  get unavailable(): string | undefined {
    const state = this.source.state();
    return state.ready ? undefined : state.why;
  }

  get ready(): boolean {
    return this.source.state().ready;
  }

  /**
   * The stage of a group for a caller. `remember: false` for a caller the proxy has just named:
   * it may never come back (a client without cookies), and would only push returning callers out.
   * `explain` adds the SDK's own reasons (which rule, which bucket): they cost about 3.5 µs a
   * decision, so the request path goes without them, and an explained decision is never remembered.
   */
  decide(group: string, caller: string, { remember = true, explain = false, impression = false }: DecideOptions = {}): Decision {
    const flag = this.flagOf.get(group);
    if (flag === undefined) throw new UnknownGroupError(`no group named "${group}"`);
    const base = { group, caller, flag, variation: null, rule: null, shadowPercent: undefined };

    const forced = this.overrides.get(group);
    if (forced) return { ...base, stage: forced, source: 'override', reasons: [`stage ${forced} forced through the admin API`] };

    const state = this.source.state();
    if (!state.ready) return { ...base, stage: 'legacy', source: 'fallback', reasons: [state.why] };
    const { client } = state;
    const options = SDK_OPTIONS[explain ? 'explained' : 'unexplained'][impression ? 'impression' : 'lookup'];
    if (explain || !this.remembered || !remember) return this.fromOptimizely(client, base, options);
    return this.remembered.get(state, group, caller, () => this.fromOptimizely(client, base, options));
  }

  private fromOptimizely(client: Client, base: Omit<Decision, 'stage' | 'source' | 'reasons'>, options: OptimizelyDecideOption[]): Decision {
    const { flag } = base;
    const decision = client.createUserContext(base.caller)?.decide(flag, options);
    if (!decision) return { ...base, stage: 'legacy', source: 'fallback', reasons: ['the Optimizely client refused the caller'] };

    const found = { ...base, variation: decision.variationKey, rule: decision.ruleKey };
    if (decision.variationKey === null) {
      return { ...found, stage: 'legacy', source: 'fallback', reasons: [`flag "${flag}" gave no variation`, ...decision.reasons] };
    }
    if (!decision.enabled) {
      return { ...found, stage: 'legacy', source: 'optimizely', reasons: [`flag "${flag}" is disabled for this caller`, ...decision.reasons] };
    }
    if (!isStage(decision.variationKey)) {
      return { ...found, stage: 'legacy', source: 'fallback', reasons: [`variation "${decision.variationKey}" of flag "${flag}" is not a stage`, ...decision.reasons] };
    }
    // Variables are read only here, from an enabled variation, where they are the variation's own.
    const shadowPercent = decision.variables.shadowPercent;
    return {
      ...found, stage: decision.variationKey, source: 'optimizely', reasons: decision.reasons,
      shadowPercent: typeof shadowPercent === 'number' && shadowPercent >= 0 && shadowPercent <= 100 ? shadowPercent : undefined,
    };
  }

  /** Records a conversion for an A/B test; batched by the SDK, and a no-op while flags are not ready. */
  track(caller: string, event: string): void {
    const state = this.source.state();
    if (state.ready) state.client.createUserContext(caller)?.trackEvent(event);
  }

  /** Fetches or re-reads the datafile now: a webhook or another replica said it changed. */
  refresh(): Promise<void> {
    return this.source.refresh();
  }

  close(): Promise<void> {
    return this.source.close();
  }
}
