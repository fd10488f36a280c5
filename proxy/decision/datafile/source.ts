import { readFile, stat } from 'node:fs/promises';
import {
  type Client,
  createBatchEventProcessor,
  createInstance,
  createPollingProjectConfigManager,
  createStaticProjectConfigManager,
  type EventDispatcher,
  OptimizelyDecideOption,
} from '@optimizely/optimizely-sdk';
import { type Datafile, rulesOf } from './check.js';
import type { Logger } from '../../telemetry/log.js';

/** A datafile the proxy decides by: its revision, when it was applied here, and its content. */
export interface AppliedDatafile {
  readonly revision: string;
  readonly appliedAt: Date;
  readonly datafile: Datafile;
}

/** An Optimizely client ready to decide with the datafile applied, or why there is none (then every decision is `legacy`). */
export type ClientState =
  | { readonly ready: true; readonly client: Client; readonly applied: AppliedDatafile }
  | { readonly ready: false; readonly why: string };

/** Where the Optimizely client comes from, kept current as the datafile changes. */
export interface FlagSource {
  state(): ClientState;
  /** The last datafile that could not be used, while no usable one has come after it. */
  refusal(): DatafileError | undefined;
  /** Fetches or re-reads the datafile now (a webhook said it changed); rejects when it could not, the current one deciding on. */
  refresh(): Promise<void>;
  close(): Promise<void>;
}

/** A/B events: impressions for decisions and conversions for declared routes, batched by the SDK. */
export interface EventOptions {
  readonly batchSize: number;
  readonly flushIntervalMs: number;
  /** Where batches go; the SDK's own HTTP dispatcher to Optimizely when absent. */
  readonly dispatcher?: EventDispatcher;
}

/** Why a datafile could not be used: the `reason` label of cutover_datafile_errors_total. */
export const DATAFILE_ERROR_REASONS = ['unreadable', 'invalid_json', 'rejected', 'flag_missing'] as const;
export type DatafileErrorReason = (typeof DATAFILE_ERROR_REASONS)[number];

export class DatafileError extends Error {
  constructor(message: string, readonly reason: DatafileErrorReason) {
    super(message);
  }
}

/** What is told of each datafile offered: one applied (with the one before), or one refused. */
export interface DatafileReport {
  applied(applied: AppliedDatafile, previous: AppliedDatafile | undefined): void;
  refused(error: DatafileError, kept: AppliedDatafile | undefined): void;
}

function clientOptions(events: EventOptions | undefined) {
  return {
    defaultDecideOptions: events ? [] : [OptimizelyDecideOption.DISABLE_DECISION_EVENT],
    ...(events ? { eventProcessor: createBatchEventProcessor({ batchSize: events.batchSize, flushInterval: events.flushIntervalMs, ...(events.dispatcher ? { eventDispatcher: events.dispatcher } : {}) }) } : {}),
  };
}

/**
 * Applies datafiles one at a time, whichever source offers them: a datafile is used only once it
 * is JSON, keeps every configured flag the one applied has, and the SDK takes it; otherwise it is
 * refused and the one applied before keeps deciding. The same text offered again is no news (a
 * poll that finds the CDN unchanged, a file touched but not changed).
 */
class DatafileApplier {
  current: ClientState;
  private refused: { text: string | undefined; error: DatafileError } | undefined;
  private appliedText: string | undefined;
  private chain: Promise<void> = Promise.resolve();

  constructor(
    /** Names the datafile in messages: its file, or its SDK key. */
    private readonly origin: string,
    private readonly flags: readonly string[],
    private readonly events: EventOptions | undefined,
    private readonly report: DatafileReport,
    waiting: string,
  ) {
    this.current = { ready: false, why: waiting };
  }

  refusal(): DatafileError | undefined {
    return this.refused?.error;
  }

  /** The datafile's text, or the DatafileError why there is none; settles once it is applied or refused. */
  offer(text: string | DatafileError): Promise<void> {
    this.chain = this.chain.then(() => this.apply(text));
    return this.chain;
  }

  private async apply(offered: string | DatafileError): Promise<void> {
    const text = typeof offered === 'string' ? offered : undefined;
    if (text !== undefined && text === this.appliedText) {
      // Back to the datafile applied: whatever was refused meanwhile is over.
      this.refused = undefined;
      return;
    }
    if (this.refused && (text === undefined ? this.refused.text === undefined && this.refused.error.message === (offered as DatafileError).message : this.refused.text === text)) return;
    try {
      if (text === undefined) throw offered as DatafileError;
      const datafile = this.parse(text);
      const client = await this.clientFor(text);
      const previous = this.current;
      const applied = { revision: String((datafile as { revision?: unknown }).revision ?? ''), appliedAt: new Date(), datafile };
      this.current = { ready: true, client, applied };
      this.appliedText = text;
      this.refused = undefined;
      this.report.applied(applied, previous.ready ? previous.applied : undefined);
      if (previous.ready) await previous.client.close();
    } catch (error) {
      if (!(error instanceof DatafileError)) throw error;
      this.refused = { text, error };
      if (!this.current.ready) this.current = { ready: false, why: error.message };
      this.report.refused(error, this.current.ready ? this.current.applied : undefined);
    }
  }

  private parse(text: string): Datafile {
    let datafile: Datafile;
    try {
      datafile = JSON.parse(text) as Datafile;
    } catch (error) {
      throw new DatafileError(`${this.origin}: the Optimizely datafile is not JSON: ${(error as Error).message}`, 'invalid_json');
    }
    if (this.current.ready) {
      const { applied } = this.current;
      // A flag that vanishes would pin its group to legacy: a datafile published by mistake, not a flip.
      const lost = this.flags.filter((flag) => rulesOf(applied.datafile, flag) !== undefined && rulesOf(datafile, flag) === undefined);
      if (lost.length > 0) throw new DatafileError(`${this.origin}: the Optimizely datafile has no flag ${lost.map((flag) => `"${flag}"`).join(', ')}, which the one applied has`, 'flag_missing');
    }
    return datafile;
  }

  private async clientFor(datafile: string): Promise<Client> {
    const client = createInstance({ projectConfigManager: createStaticProjectConfigManager({ datafile }), ...clientOptions(this.events) });
    try {
      await client.onReady({ timeout: 5_000 });
    } catch (error) {
      // Not awaited: the SDK's close() of a client that never became ready does not settle.
      client.close().catch(() => undefined);
      throw new DatafileError(`${this.origin}: Optimizely rejected the datafile: ${(error as Error).message}`, 'rejected');
    }
    return client;
  }

  async close(): Promise<void> {
    await this.chain;
    if (this.current.ready) await this.current.client.close();
  }
}

export interface SourceOptions {
  /** The configured groups' flags: a datafile that drops one of them is refused. */
  readonly flags: readonly string[];
  readonly events?: EventOptions | undefined;
  readonly report: DatafileReport;
  readonly log: Logger;
}

/**
 * A local datafile, watched: a changed file takes effect within the watch interval. A file that
 * becomes unreadable or unusable is refused, and the datafile applied before keeps deciding.
 */
export class WatchedDatafile implements FlagSource {
  private seen: string;
  private reloading: Promise<void> = Promise.resolve();
  private readonly timer: NodeJS.Timeout;

  private constructor(private readonly file: string, private readonly applier: DatafileApplier, version: string, watchIntervalMs: number) {
    this.seen = version;
    this.timer = setInterval(() => {
      this.reloading = this.reloading.then(() => this.reloadIfChanged());
    }, watchIntervalMs);
    this.timer.unref();
  }

  /** The first load must succeed: a proxy that starts on a broken datafile is a configuration error. */
  static async open(file: string, options: SourceOptions & { watchIntervalMs: number }): Promise<WatchedDatafile> {
    let first: DatafileError | undefined;
    const applier = new DatafileApplier(file, options.flags, options.events, {
      applied: (applied, previous) => options.report.applied(applied, previous),
      refused: (error, kept) => { if (kept) options.report.refused(error, kept); else first = error; },
    }, `${file}: not read yet`);
    const version = await versionOf(file);
    await applier.offer(await read(file));
    if (first) throw first;
    return new WatchedDatafile(file, applier, version, options.watchIntervalMs);
  }

  state(): ClientState {
    return this.applier.current;
  }

  refusal(): DatafileError | undefined {
    return this.applier.refusal();
  }

  refresh(): Promise<void> {
    this.reloading = this.reloading.then(() => this.reloadIfChanged());
    return this.reloading;
  }

  /** Compares the file's identity with the one loaded last, taken before that read, so no write goes unseen. */
  private async reloadIfChanged(): Promise<void> {
    const version = await versionOf(this.file);
    if (version === this.seen) return;
    this.seen = version;
    await this.applier.offer(await read(this.file));
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.reloading;
    await this.applier.close();
  }
}

async function read(file: string): Promise<string | DatafileError> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    return new DatafileError(`${file}: cannot read the Optimizely datafile (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`, 'unreadable');
  }
}

/** What tells one version of a file from the next without reading it; `missing` when it is gone. */
async function versionOf(file: string): Promise<string> {
  try {
    const stats = await stat(file);
    return `${stats.ino}:${stats.size}:${stats.mtimeMs}`;
  } catch {
    return 'missing';
  }
}

/** Why a datafile asked for now could not be fetched: the one applied decides on. */
export class DatafileFetchError extends Error {}

/** How long a fetch asked for by a webhook may take. */
const REFRESH_WITHIN_MS = 10_000;

/** Where the SDK's polling manager fetches a datafile when no `urlTemplate` is configured (its documented default). */
const OPTIMIZELY_CDN = 'https://cdn.optimizely.com/datafiles/%s.json';

/** The `cache` of the SDK's polling manager, as its options type it. */
type DatafileCache = NonNullable<Parameters<typeof createPollingProjectConfigManager>[0]['cache']>;

/**
 * Optimizely's CDN (or any `urlTemplate`), polled by the SDK: the production set-up. The SDK's
 * polling manager fetches; every datafile it fetches is handed to the applier through the
 * manager's `cache` option (its one public hook that sees the body), because the manager itself
 * drops a datafile it cannot use without a word, and would decide with one that lacks a flag.
 * Decisions are made by a client of the datafile applied, never by the polling one.
 */
export class PolledDatafile implements FlagSource {
  private poller!: Client;
  private fetchProblem: string | undefined;
  private restart: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly readiness: Promise<void>;
  private readonly applier: DatafileApplier;

  constructor(private readonly options: SourceOptions & { sdkKey: string; urlTemplate?: string; intervalMs: number }) {
    this.applier = new DatafileApplier(`the datafile of SDK key ${options.sdkKey}`, options.flags, options.events, options.report, 'the Optimizely datafile has not been fetched yet');
    this.readiness = this.start();
  }

  /**
   * A polling client whose first datafile is refused (not JSON, say) stops polling for good: that
   * is the SDK's rule. So a client that is not ready within a poll interval (1 to 30 s) is
   * replaced by a new one, until one is: a CDN that serves a bad datafile at start is read
   * again, not forever ignored.
   */
  private start(): Promise<void> {
    const { options } = this;
    const cache: DatafileCache = {
      operation: 'sync',
      set: (_key: string, datafile: string) => { void this.applier.offer(datafile); },
      get: () => undefined,
      remove: () => undefined,
      getKeys: () => [],
    };
    const poller = createInstance({
      projectConfigManager: createPollingProjectConfigManager({
        sdkKey: options.sdkKey,
        autoUpdate: true,
        updateInterval: options.intervalMs,
        cache,
        ...(options.urlTemplate ? { urlTemplate: options.urlTemplate } : {}),
      }),
      defaultDecideOptions: [OptimizelyDecideOption.DISABLE_DECISION_EVENT],
    });
    this.poller = poller;
    return poller.onReady({ timeout: Math.min(30_000, Math.max(1_000, options.intervalMs)) }).then(
      () => { this.fetchProblem = undefined; },
      (error: unknown) => {
        // A datafile that arrived after onReady gave up: the poller works, and goes on polling.
        if (this.closed || this.applier.current.ready) return;
        poller.close().catch(() => undefined);
        this.fetchProblem = `the Optimizely datafile could not be fetched: ${(error as Error).message}`;
        options.log.error(`flags: ${this.fetchProblem}; every group is served by legacy, and the datafile is fetched again in ${options.intervalMs} ms`);
        this.restart = setTimeout(() => { this.start().catch(() => undefined); }, options.intervalMs);
      },
    );
  }

  state(): ClientState {
    const { current } = this.applier;
    return current.ready || this.fetchProblem === undefined ? current : { ready: false, why: this.fetchProblem };
  }

  refusal(): DatafileError | undefined {
    return this.applier.refusal();
  }

  /**
   * The SDK's polling manager has no public "fetch now", so the datafile is fetched from the
   * address it polls and offered to the same applier: applied, or refused, as a poll's would be.
   */
  async refresh(): Promise<void> {
    const url = (this.options.urlTemplate ?? OPTIMIZELY_CDN).replace('%s', this.options.sdkKey);
    let text: string;
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(REFRESH_WITHIN_MS) });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      text = await response.text();
    } catch (error) {
      throw new DatafileFetchError(`the Optimizely datafile could not be fetched now from ${url} (${(error as Error).message}); the one applied decides on`);
    }
    if (!this.closed) await this.applier.offer(text);
  }

  /** Resolves once the first fetch has succeeded or failed. */
  settled(): Promise<void> {
    return this.readiness;
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.restart);
    this.poller.close().catch(() => undefined);
    await this.applier.close();
  }
}
