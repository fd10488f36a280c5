import type { StoreConfig } from '../config/config.js';
import { UnknownGroupError } from './flags.js';
import type { Logger } from '../telemetry/log.js';
import { isStage, type Stage } from './stage.js';
import { type StoreDatabase, type OverrideRecord, StoreUnavailable } from '../store/database.js';

/** How long a change may wait for the store (its locks, a connection) before it is refused: the documented 2 s. */
const CHANGE_WITHIN_MS = 2_000;

/**
 * How often a starting proxy tries its first read: matched requests wait for it, so it is made as
 * soon as the store opens rather than at the next re-read.
 */
const FIRST_READ_TRY_MS = 20;

/** Changes kept in memory without a store. */
const MEMORY_HISTORY = 1_000;

export interface OverrideChange {
  readonly group: string;
  readonly stage: Stage | null;
  readonly reason: string;
  /** Who asked: the name of the credential used, never the credential. */
  readonly actor: string;
}

/** The store could not take an override change: nothing changed anywhere. */
export class OverrideNotShared extends Error {}

/**
 * The kill switch: a stage forced for every caller of a group, beating Optimizely. Without a
 * store the overrides live in this process. With one they live in the store: a change is
 * written there first (with its history) and reaches every proxy through a notification, or at
 * the latest through the re-read every second. When the store does not answer, a proxy keeps the
 * overrides it last read and says so; a change is refused rather than applied to one replica.
 *
 * At start, with a store that is opening or answers, no matched request is decided before the
 * overrides are read (`settle`): a replica restarted during an incident would otherwise serve the
 * side the kill switch turned away from. A store that failed at start leaves the proxy deciding
 * by the flags alone, loudly (the documented behaviour: traffic does not depend on the store).
 */
export class Overrides {
  private current = new Map<string, Stage>();
  private readonly history: OverrideRecord[] = [];
  private lastRead: number | undefined;
  private timer: NodeJS.Timeout | undefined;
  private unlisten: (() => Promise<void>) | undefined;
  private reading: Promise<void> | undefined;
  /** Whether a read failed before any succeeded: the store does not answer at start. */
  private firstReadFailed = false;
  private firstTry: NodeJS.Timeout | undefined;
  private readonly settledOnce: Promise<void>;
  private markSettled: () => void = () => undefined;
  private readonly listeners: Array<(group: string) => void> = [];
  /** The level the current staleness was logged at, so that each is logged once. */
  private reported: 'info' | 'error' | undefined;

  /**
   * @param store The open diff store when there is one; undefined while it opens or is off.
   * @param shared Whether a store is configured, so that overrides must come from it.
   * @param timing How often they are read again whatever the notifications say (at most 2 s,
   * the promise), and how long without a read makes this proxy say they may be stale.
   */
  constructor(
    private readonly groups: ReadonlySet<string>,
    private readonly store: () => StoreDatabase | undefined,
    readonly shared: boolean,
    private readonly log: Logger,
    private readonly timing: StoreConfig['overrides'],
    private readonly onStale: (stale: boolean) => void = () => undefined,
    /** Whether the store is still opening for the first time, within its expected opening time. */
    private readonly opening: () => boolean = () => false,
    /** Whether the store is new with this process (embedded, in memory), so that it holds no override yet. */
    private readonly fresh = false,
  ) {
    this.settledOnce = new Promise((resolve) => { this.markSettled = resolve; });
  }

  start(): void {
    if (!this.shared) return;
    if (this.timing.rereadMs > CHANGE_WITHIN_MS) this.log.warn(`overrides: store.overrides.rereadMs is ${this.timing.rereadMs} ms, so a change reaches this proxy within ${CHANGE_WITHIN_MS / 1000} s only through its notification (a PostgreSQL server; not embedded Postgres, nor a connection that broke)`);
    this.timer = setInterval(() => void this.refresh(), this.timing.rereadMs).unref();
    this.firstTry = setInterval(() => {
      if (this.settled()) this.endFirstTries();
      else void this.refresh();
    }, FIRST_READ_TRY_MS).unref();
    void this.refresh();
  }

  /**
   * Whether the overrides are known (or live in this process), or the store failed at start, so
   * that the flags alone decide, as documented.
   */
  settled(): boolean {
    if (!this.shared || this.lastRead !== undefined) return true;
    return !this.opening() && (this.store() === undefined || this.firstReadFailed);
  }

  /** Whether a matched request may be decided now: settled, or no override can be in the store yet. */
  decidable(): boolean {
    return this.fresh || this.settled();
  }

  /** Waits for `decidable`, at most `startWaitMs`; false when still not then. */
  async settle(): Promise<boolean> {
    if (this.decidable()) return true;
    let timer: NodeJS.Timeout | undefined;
    const waited = new Promise<false>((resolve) => { timer = setTimeout(() => resolve(false), this.timing.startWaitMs); });
    try {
      return await Promise.race([this.settledOnce.then(() => true), waited]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Calls `listener` with a group whose override was set, changed or cleared here or elsewhere. */
  onChange(listener: (group: string) => void): void {
    this.listeners.push(listener);
  }

  get(group: string): Stage | undefined {
    return this.current.get(group);
  }

  all(): ReadonlyMap<string, Stage> {
    return this.current;
  }

  /** For /readyz: why this proxy's overrides may not be the fleet's. */
  problem(): string | undefined {
    if (!this.shared) return undefined;
    if (this.lastRead === undefined) {
      return this.settled()
        // Said at once: the proxy decides by the flags alone meanwhile.
        ? 'overrides: the store has not answered since start, so no override is known (a kill switch set elsewhere is NOT obeyed here)'
        : this.fresh ? 'overrides: not read from the store yet (a new embedded store: it holds none)' : 'overrides: not read from the store yet; requests on the routes wait for them';
    }
    if (Date.now() - this.lastRead <= this.timing.staleAfterMs) return undefined;
    return `overrides: not read from the store for ${Math.round((Date.now() - this.lastRead) / 1000)} s; obeying the last ones read`;
  }

  async change(change: OverrideChange): Promise<OverrideRecord> {
    if (!this.groups.has(change.group)) throw new UnknownGroupError(`no group named "${change.group}"`);
    if (!this.shared) return this.changeInMemory(change);
    const store = this.store();
    if (!store) throw new OverrideNotShared('the store is not open, so the override would reach this proxy only; nothing was changed');
    let record: OverrideRecord;
    try {
      record = await store.changeOverride(change, CHANGE_WITHIN_MS);
    } catch (error) {
      if (error instanceof StoreUnavailable) throw new OverrideNotShared(`the store did not take the change within ${CHANGE_WITHIN_MS / 1000} s (${error.message}); nothing was changed`);
      throw error;
    }
    this.apply(change.group, change.stage);
    return record;
  }

  /**
   * The guard's rollback: taken only when the group has no override anywhere (one replica of
   * those that see a breach writes it; an engineer's override stands). False when one was there.
   * Throws OverrideNotShared when the store cannot take it: never applied to this replica only.
   */
  async rollBack(change: OverrideChange & { readonly stage: Stage }): Promise<boolean> {
    if (!this.shared) {
      if (this.current.has(change.group)) return false;
      this.changeInMemory(change);
      return true;
    }
    const store = this.store();
    if (!store) throw new OverrideNotShared('the store is not open');
    let record: OverrideRecord | undefined;
    try {
      record = await store.guardOverride(change, CHANGE_WITHIN_MS);
    } catch (error) {
      if (error instanceof StoreUnavailable) throw new OverrideNotShared(error.message);
      throw error;
    }
    if (record) this.apply(change.group, change.stage);
    return record !== undefined;
  }

  async changes(limit = 100): Promise<readonly OverrideRecord[]> {
    if (!this.shared) return this.history.slice(0, limit);
    const store = this.store();
    if (!store) throw new StoreUnavailable('the store is not open');
    return store.overrideHistory(limit);
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    this.endFirstTries();
    await this.reading;
    await this.unlisten?.();
  }

  private changeInMemory(change: OverrideChange): OverrideRecord {
    const record = { ...change, previous: this.current.get(change.group) ?? null, at: new Date().toISOString() };
    this.apply(change.group, change.stage);
    this.history.unshift(record);
    this.history.length = Math.min(this.history.length, MEMORY_HISTORY);
    return record;
  }

  private apply(group: string, stage: Stage | null): void {
    const next = new Map(this.current);
    if (stage === null) next.delete(group);
    else next.set(group, stage);
    this.current = next;
    for (const listener of this.listeners) listener(group);
  }

  private refresh(): Promise<void> {
    if (!this.reading) this.reading = this.read().finally(() => { this.reading = undefined; });
    return this.reading;
  }

  private async read(): Promise<void> {
    const store = this.store();
    if (!store) return this.staleness();
    try {
      if (!this.unlisten) this.unlisten = await store.listenForOverrides(() => void this.refresh(), (error) => this.lost(error));
      const stored = await store.overrides();
      this.replace(stored);
      this.lastRead = Date.now();
    } catch (error) {
      if (this.lastRead === undefined) this.firstReadFailed = true;
      this.log.debug({ err: error }, 'overrides: the store did not answer');
    }
    this.staleness();
  }

  private endFirstTries(): void {
    clearInterval(this.firstTry);
    this.markSettled();
  }

  private lost(error: Error): void {
    this.log.warn({ err: error }, `overrides: the notification connection broke (${error.message}); the re-read every second goes on`);
    this.unlisten = undefined;
  }

  private replace(stored: ReadonlyMap<string, string>): void {
    const next = new Map<string, Stage>();
    for (const [group, stage] of stored) {
      if (this.groups.has(group) && isStage(stage)) next.set(group, stage);
    }
    const changed = [...new Set([...next.keys(), ...this.current.keys()])].filter((group) => next.get(group) !== this.current.get(group));
    for (const group of changed) this.log.warn({ group, stage: next.get(group) ?? null }, `overrides: group ${group} is ${next.has(group) ? `forced to ${next.get(group)}` : 'back to its flag'} (from the store)`);
    this.current = next;
    for (const group of changed) for (const listener of this.listeners) listener(group);
  }

  private staleness(): void {
    const problem = this.problem();
    // While the store opens for the first time, within its expected time, not knowing the
    // overrides yet is part of a normal start (info); past that, or once it failed, it is an error.
    const level = problem === undefined ? undefined : this.lastRead === undefined && !this.settled() ? 'info' : 'error';
    if (level !== undefined && level !== this.reported) this.log[level](problem);
    this.reported = level;
    this.onStale(problem !== undefined);
  }
}
