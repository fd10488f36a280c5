import { readFile, stat } from 'node:fs/promises';
import {
  type Client,
  createBatchEventProcessor,
  createInstance,
  createPollingProjectConfigManager,
  createStaticProjectConfigManager,
  type EventDispatcher,
  NOTIFICATION_TYPES,
  OptimizelyDecideOption,
} from '@optimizely/optimizely-sdk';
import type { Logger } from '../telemetry/log.js';

/** Either an Optimizely client ready to decide, or why there is none (then every decision is `legacy`). */
export type ClientState = { readonly ready: true; readonly client: Client } | { readonly ready: false; readonly why: string };

/** Where the Optimizely client comes from, kept current as the datafile changes. */
export interface FlagSource {
  state(): ClientState;
  /** Fetches or re-reads the datafile now (a webhook said it changed); rejects when it could not, the current one serving on. */
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

export class DatafileError extends Error {}

function clientOptions(events: EventOptions | undefined) {
  return {
    defaultDecideOptions: events ? [] : [OptimizelyDecideOption.DISABLE_DECISION_EVENT],
    ...(events ? { eventProcessor: createBatchEventProcessor({ batchSize: events.batchSize, flushInterval: events.flushIntervalMs, ...(events.dispatcher ? { eventDispatcher: events.dispatcher } : {}) }) } : {}),
  };
}

async function clientFor(file: string, events: EventOptions | undefined): Promise<Client> {
  let datafile: string;
  try {
    datafile = await readFile(file, 'utf8');
  } catch (error) {
    throw new DatafileError(`${file}: cannot read the Optimizely datafile (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
  try {
    JSON.parse(datafile);
  } catch (error) {
    throw new DatafileError(`${file}: the Optimizely datafile is not JSON: ${(error as Error).message}`);
  }
  const client = createInstance({ projectConfigManager: createStaticProjectConfigManager({ datafile }), ...clientOptions(events) });
  try {
    await client.onReady({ timeout: 5_000 });
  } catch (error) {
    // Not awaited: the SDK's close() of a client that never became ready does not settle.
    client.close().catch(() => undefined);
    throw new DatafileError(`${file}: Optimizely rejected the datafile: ${(error as Error).message}`);
  }
  return client;
}

/**
 * A local datafile, watched: a changed file takes effect within the watch interval. A file that
 * becomes unreadable or invalid leaves no client, so traffic goes to legacy until it is fixed.
 */
export class WatchedDatafile implements FlagSource {
  private current: ClientState;
  private seen: string;
  private reloading: Promise<void> = Promise.resolve();
  private readonly timer: NodeJS.Timeout;

  private constructor(
    private readonly file: string,
    loaded: { client: Client; version: string },
    private readonly events: EventOptions | undefined,
    private readonly log: Logger,
    watchIntervalMs: number,
  ) {
    this.current = { ready: true, client: loaded.client };
    this.seen = loaded.version;
    this.timer = setInterval(() => {
      this.reloading = this.reloading.then(() => this.reloadIfChanged());
    }, watchIntervalMs);
    this.timer.unref();
  }

  /** The first load must succeed: a proxy that starts on a broken datafile is a configuration error. */
  static async open(file: string, options: { watchIntervalMs: number; events?: EventOptions; log: Logger }): Promise<WatchedDatafile> {
    const version = await versionOf(file);
    const client = await clientFor(file, options.events);
    return new WatchedDatafile(file, { client, version }, options.events, options.log, options.watchIntervalMs);
  }

  state(): ClientState {
    return this.current;
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
    const previous = this.current;
    try {
      this.current = { ready: true, client: await clientFor(this.file, this.events) };
      this.log.info({ datafile: this.file }, 'flags: datafile reloaded');
    } catch (error) {
      this.current = { ready: false, why: (error as Error).message };
      this.log.error({ datafile: this.file }, `flags: ${(error as Error).message}; every group is served by legacy until the datafile is fixed`);
    }
    if (previous.ready) await previous.client.close();
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.reloading;
    if (this.current.ready) await this.current.client.close();
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

/** How long a fetch asked for by a webhook may take before the datafile in use is kept. */
const REFRESH_WITHIN_MS = 10_000;

/** Optimizely's CDN (or any `urlTemplate`), polled by the SDK: the production set-up. */
export class PolledDatafile implements FlagSource {
  private current: ClientState = { ready: false, why: 'the Optimizely datafile has not been fetched yet' };
  private client!: Client;
  private restart: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly readiness: Promise<void>;
  private fetching: Promise<void> = Promise.resolve();
  private nextFetch: Promise<void> | undefined;
  /** The client of a fetch under way, closed with the source. */
  private candidate: Client | undefined;

  constructor(private readonly options: { sdkKey: string; urlTemplate?: string; intervalMs: number; events?: EventOptions; log: Logger }) {
    this.readiness = this.start();
  }

  /**
   * A client whose first datafile is refused (not JSON, say) stops polling for good: that is the
   * SDK's rule. So a client that is not ready within a poll interval (1 to 30 s) is replaced by a
   * new one, until one is: a CDN that serves a bad datafile at start is read again, not forever
   * ignored.
   */
  private start(): Promise<void> {
    const { options } = this;
    const client = this.pollingClient();
    this.client = client;
    return client.onReady({ timeout: Math.min(30_000, Math.max(1_000, options.intervalMs)) }).then(
      () => {
        this.current = { ready: true, client };
        options.log.info('flags: Optimizely datafile loaded');
      },
      (error: unknown) => {
        if (this.current.ready || this.closed) return;
        this.current = { ready: false, why: `the Optimizely datafile could not be fetched: ${(error as Error).message}` };
        options.log.error(`flags: ${this.current.why}; every group is served by legacy, and the datafile is fetched again in ${options.intervalMs} ms`);
        client.close().catch(() => undefined);
        this.restart = setTimeout(() => { this.start().catch(() => undefined); }, options.intervalMs);
      },
    );
  }

  /**
   * A client polling the CDN from now. A datafile that arrives after onReady gave up still makes
   * the client ready; each new datafile is a new state, so that decisions remembered for the
   * previous one are dropped (RememberedDecisions).
   */
  private pollingClient(): Client {
    const { options } = this;
    const client = createInstance({
      projectConfigManager: createPollingProjectConfigManager({
        sdkKey: options.sdkKey,
        autoUpdate: true,
        updateInterval: options.intervalMs,
        ...(options.urlTemplate ? { urlTemplate: options.urlTemplate } : {}),
      }),
      ...clientOptions(options.events),
    });
    client.notificationCenter.addNotificationListener(NOTIFICATION_TYPES.OPTIMIZELY_CONFIG_UPDATE, () => {
      if (this.client === client) this.current = { ready: true, client };
    });
    return client;
  }

  state(): ClientState {
    return this.current;
  }

  /**
   * The SDK's polling manager has no public "fetch now" (its manager is opaque to the client), so
   * a second client polls from now and takes over once its first datafile is in, the way `start`
   * hands over. Fetches come one after another, and a call made while one is under way is served
   * by the next: a webhook never waits on a fetch that began before its change was published.
   */
  refresh(): Promise<void> {
    if (this.nextFetch) return this.nextFetch;
    const next = this.fetching.then(() => {
      this.nextFetch = undefined;
      return this.fetchNow();
    });
    this.nextFetch = next;
    this.fetching = next.catch(() => undefined);
    return next;
  }

  private async fetchNow(): Promise<void> {
    if (this.closed) return;
    const candidate = this.pollingClient();
    this.candidate = candidate;
    try {
      await candidate.onReady({ timeout: REFRESH_WITHIN_MS });
    } catch (error) {
      candidate.close().catch(() => undefined);
      throw new DatafileError(`the Optimizely datafile could not be fetched now (${(error as Error).message}); the one in use serves on`);
    } finally {
      this.candidate = undefined;
    }
    if (this.closed) return void candidate.close().catch(() => undefined);
    const previous = this.client;
    clearTimeout(this.restart);
    this.client = candidate;
    this.current = { ready: true, client: candidate };
    // Not awaited: the SDK's close() of a client that never became ready does not settle.
    previous.close().catch(() => undefined);
  }

  /** Resolves once the first fetch has succeeded or failed. */
  settled(): Promise<void> {
    return this.readiness;
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.restart);
    this.candidate?.close().catch(() => undefined);
    if (this.current.ready) await this.client.close();
    else this.client.close().catch(() => undefined);
  }
}
