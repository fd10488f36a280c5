import type { StoreConfig } from '../config/config.js';
import type { ComparisonRecord } from '../evidence/record.js';
import type { Tally } from '../evidence/tally.js';
import type { Logger } from '../telemetry/log.js';
import type { Metrics } from '../telemetry/metrics.js';
import { type Side, SIDES } from '../decision/stage.js';
import { bodyBytes, INLINE_BYTES } from '../evidence/size.js';
import { startEmbeddedStore, type EmbeddedStore } from './embedded-process.js';
import { preparedRow, type Redaction } from './prepare.js';
import type { ComparisonRow } from './row.js';
import { StoreDatabase, type NoiseChanges, type RouteCountsByGroup } from './database.js';
import { bucketOf, minuteOf, Tallies } from './tally.js';
import { mergeNoise } from './unwritten-noise.js';

/**
 * The longest a first opening is part of a normal start: embedded Postgres opens in about 3 s on
 * an idle machine and 6 to 8 s on a loaded one (issue 25), a PostgreSQL server in well under 1 s.
 */
const EXPECTED_OPEN_MS = 30_000;

/** How often a store that could not be opened is tried again. */
const REOPEN_MS = 2_000;

export type StoreState = 'opening' | 'up' | 'down';


/** The noise models, whose counts the store adds up over every proxy and hands back. */
export interface SharedNoise {
  takeNoiseChanges(): NoiseChanges[];
  loadNoise(totals: RouteCountsByGroup): void;
}

/** The worker threads that prepare the records of large bodies (the compare pool's). */
export interface RowWorkers {
  preparedRow(record: ComparisonRecord, redaction: Redaction, maxBodyBytes: number): Promise<ComparisonRow>;
}

type DropReason = 'store_down' | 'queue_full' | 'invalid_record';


function isError(side: ComparisonRecord['legacy']): boolean {
  return 'error' in side.observation || side.observation.status >= 500;
}

/** What a record holds in memory until it is prepared: its bodies as received. */
function heldBytes({ request, legacy, new: newSide }: ComparisonRecord): number {
  const held = ({ observation }: ComparisonRecord['legacy']) => {
    if (!('body' in observation)) return 0;
    const { body } = observation;
    return body instanceof Uint8Array ? body.byteLength : typeof body === 'string' ? body.length : bodyBytes(observation);
  };
  return request.body.length + held(legacy) + held(newSide);
}

/** Whether preparing the record costs the event loop as little as comparing it there would. */
function isSmall({ request, legacy, new: newSide }: ComparisonRecord): boolean {
  return request.body.length + bodyBytes(legacy.observation) + bodyBytes(newSide.observation) < INLINE_BYTES;
}

/**
 * The diff store as the proxy runs it: opens the database (embedded Postgres or a server) and
 * opens it again when it went away, prunes it, shares the noise counts through it, and hands
 * comparisons to it without ever making traffic wait: records are prepared
 * (redacted, serialised; in a worker thread when large), queued (bounded by count and by bytes),
 * then written in batches by a timer. A full queue, a store that does not answer, or a record
 * the database refuses drops records, counted by reason; counts (every comparison, request and
 * skipped shadow, per minute, and the noise counts) are kept in memory until a write succeeds,
 * so readiness loses nothing.
 */
export class Store implements Tally {
  private readonly tallies = new Tallies();
  private queue: ComparisonRow[] = [];
  private queuedBytes = 0;
  /** Records in a worker thread, and the bytes they hold meanwhile, counted against the queue's bounds. */
  private readonly preparing = new Set<Promise<void>>();
  private preparingBytes = 0;
  /** Noise counts of a write that failed, written with the next one. */
  private unwrittenNoise: NoiseChanges[] = [];
  private db: StoreDatabase | undefined;
  private redaction: Redaction | undefined;
  private embedded: EmbeddedStore | undefined;
  private state: StoreState = 'opening';
  private lastProblem = '';
  private flushing: Promise<void> | undefined;
  private closed = false;
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly createdAt = Date.now();

  readonly name = 'store';

  constructor(
    private readonly config: StoreConfig,
    private readonly caller: { header: string | undefined },
    private readonly noise: SharedNoise,
    private readonly workers: RowWorkers,
    private readonly metrics: Metrics,
    private readonly log: Logger,
    private readonly random: () => number,
  ) {}

  /** Opens the store in the background: traffic starts at once, whatever the database does. */
  start(): void {
    void this.open();
    this.timers.push(setInterval(() => void this.flush(), this.config.queue.flushMs).unref());
    this.timers.push(setInterval(() => void this.prune(), this.config.retention.everyMs).unref());
  }

  /**
   * Whether the store is opening for the first time and may still be expected to: it has not
   * failed yet, and EXPECTED_OPEN_MS have not passed since start.
   */
  get opening(): boolean {
    return this.state === 'opening' && this.lastProblem === '' && Date.now() - this.createdAt < EXPECTED_OPEN_MS;
  }

  /** The store for the review API, once it is open. */
  get database(): StoreDatabase | undefined {
    return this.db;
  }

  /** For /readyz: what is wrong with the store, if anything. */
  problem(): string | undefined {
    if (this.state === 'up') return undefined;
    return this.state === 'opening' ? `the diff store is not open yet${this.lastProblem ? `: ${this.lastProblem}` : ''}` : `the diff store does not answer: ${this.lastProblem}`;
  }

  /** A consumer of `publish`: counts the comparison, and keeps it when it is evidence worth keeping. */
  consume(record: ComparisonRecord): void {
    const minute = minuteOf(record.at);
    this.tallies.comparisons.add(minute, [record.group, record.route, record.comparison.verdict]);
    for (const side of SIDES) {
      this.tallies.sides.add(minute, [record.group, side, bucketOf(record[side].ms)], isError(record[side]) ? 1 : 0);
    }
    if (!this.keeps(record.comparison.verdict)) return;
    if (this.state !== 'up' || !this.redaction) return this.drop('store_down', [record]);
    const held = heldBytes(record);
    const { max, maxBytes } = this.config.queue;
    if (this.queue.length + this.preparing.size >= max || this.queuedBytes + this.preparingBytes + held > maxBytes) return this.drop('queue_full', [record]);
    if (isSmall(record)) {
      try {
        return this.enqueue(preparedRow(record, this.redaction, this.config.bodyBytes));
      } catch (error) {
        return this.unprepared(record, error as Error);
      }
    }
    this.preparingBytes += held;
    const preparing: Promise<void> = this.workers.preparedRow(record, this.redaction, this.config.bodyBytes).then(
      (row) => { this.preparingBytes -= held; this.enqueue(row); },
      (error: Error) => { this.preparingBytes -= held; this.unprepared(record, error); },
    ).finally(() => this.preparing.delete(preparing));
    this.preparing.add(preparing);
  }

  /** A prepared row measured against the byte bound: its size is known only now. */
  private enqueue(row: ComparisonRow): void {
    if (this.queuedBytes + row.bytes > this.config.queue.maxBytes) return this.drop('queue_full', [row]);
    this.queue.push(row);
    this.queuedBytes += row.bytes;
    if (this.queue.length >= this.config.queue.batch) void this.flush();
  }

  private unprepared(record: ComparisonRecord, error: Error): void {
    this.drop('invalid_record', [record]);
    this.log.warn({ err: error, requestId: record.request.requestId, group: record.group }, `diff store: a comparison could not be prepared for the store (${error.message}); it is left out`);
  }

  countRequest(group: string, route: string, stage: string, servedBy: Side): void {
    this.tallies.requests.add(minuteOf(new Date()), [group, route, stage, servedBy]);
  }

  countSkip(group: string, route: string, reason: string): void {
    this.tallies.skips.add(minuteOf(new Date()), [group, route, reason]);
  }

  countLost(group: string, route: string, reason: string): void {
    this.tallies.lost.add(minuteOf(new Date()), [group, route, reason]);
  }

  /** Writes what is queued, then closes the store (and stops embedded Postgres). */
  async close(): Promise<void> {
    for (const timer of this.timers) clearInterval(timer);
    await Promise.all(this.preparing);
    await this.flushing;
    if (this.state === 'up') await this.flush();
    this.closed = true;
    await this.db?.close().catch(() => undefined);
    await this.embedded?.close();
  }

  private keeps(verdict: string): boolean {
    if (verdict === 'match') return this.random() * 100 < this.config.sample.match;
    if (verdict === 'noise') return this.random() * 100 < this.config.sample.noise;
    return true;
  }

  /** Counts the comparisons not kept, in the metric and against their routes' evidence. */
  private drop(reason: DropReason, dropped: ReadonlyArray<{ readonly group: string; readonly route: string }>): void {
    this.metrics.storeDropped.inc({ reason }, dropped.length);
    for (const { group, route } of dropped) this.countLost(group, route, reason);
  }

  private async open(): Promise<void> {
    const { location } = this.config;
    if (location.kind === 'off') return;
    try {
      if (location.kind === 'embedded' && !this.embedded) this.embedded = await startEmbeddedStore(location);
      if (this.closed) return;
      const url = location.kind === 'server' ? location.url : (this.embedded as EmbeddedStore).url;
      const store = await StoreDatabase.open(url, (error) => this.log.warn({ err: error }, `diff store: an idle connection broke: ${error.message}`));
      if (this.closed) return void store.close();
      // What other proxies (or this one before a restart) learned is where calibration resumes.
      this.noise.loadNoise(await store.noise());
      this.db = store;
      this.redaction = [this.config.redact, { hash: this.config.hashCallers, key: store.callerKey, header: this.caller.header }];
      if (this.embedded) this.log.info({ store: this.embedded.url }, `diff store: embedded Postgres at ${this.embedded.url}${location.kind === 'embedded' && location.dataDir ? `, files in ${location.dataDir}` : ', in memory'}`);
      this.up();
    } catch (error) {
      this.lastProblem = (error as Error).message;
      this.log.warn({ err: error }, `diff store: cannot open it (${this.lastProblem}); trying again every ${REOPEN_MS / 1000} s, traffic goes on`);
      if (!this.closed) setTimeout(() => void this.open(), REOPEN_MS).unref();
    }
  }

  private up(): void {
    if (this.state !== 'up') this.log.info(this.state === 'down' ? 'diff store: it answers again; writing resumes' : 'diff store: open');
    this.state = 'up';
    this.lastProblem = '';
  }

  private flush(): Promise<void> {
    if (!this.flushing) this.flushing = this.write().finally(() => { this.flushing = undefined; });
    return this.flushing;
  }

  private async write(): Promise<void> {
    const store = this.db;
    if (!store) return;
    const comparisons = this.queue.splice(0, this.config.queue.batch);
    this.queuedBytes -= comparisons.reduce((sum, row) => sum + row.bytes, 0);
    const tallies = this.tallies.take();
    const noise = mergeNoise(this.unwrittenNoise, this.noise.takeNoiseChanges());
    this.unwrittenNoise = [];
    // With nothing to write, a store that is down is still probed (an empty transaction), so that it is seen coming back.
    if (this.state === 'up' && comparisons.length === 0 && noise.length === 0 && Object.values(tallies).every((rows) => rows.length === 0)) return;
    try {
      const { refused } = await store.write({ comparisons, tallies, noise });
      this.metrics.storeWritten.inc(comparisons.length - refused.length);
      if (refused.length > 0) {
        this.drop('invalid_record', refused);
        this.log.warn({ requestIds: refused.map((row) => row.requestId) }, `diff store: the database refused ${refused.length} comparison(s) as data; they are left out, the rest of the batch is written`);
      }
      this.up();
      this.noise.loadNoise(await store.noise());
    } catch (error) {
      this.drop('store_down', [...comparisons, ...this.queue]);
      this.queue = [];
      this.queuedBytes = 0;
      this.tallies.restore(tallies);
      this.unwrittenNoise = noise;
      this.lastProblem = (error as Error).message;
      if (this.state !== 'down') this.log.error({ err: error }, `diff store: a write failed (${this.lastProblem}); comparisons are dropped and counted until it answers, traffic goes on`);
      this.state = 'down';
    }
  }

  private async prune(): Promise<void> {
    if (!this.db || this.state !== 'up') return;
    try {
      const removed = await this.db.prune(this.config.retention.maxAgeHours, this.config.retention.maxRows);
      if (removed > 0) this.log.info({ removed }, `diff store: retention removed ${removed} comparisons`);
    } catch (error) {
      this.log.warn({ err: error }, `diff store: retention failed: ${(error as Error).message}`);
    }
  }
}
