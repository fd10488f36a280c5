import { randomUUID } from 'node:crypto';
import type { StoreDatabase } from '../../store/database.js';
import type { Logger } from '../../telemetry/log.js';

/** How often a replica that does not listen checks for an open store: it listens as soon as one opens. */
const STORE_CHECK_MS = 50;
/** How long after a failed attempt to listen (the store down, a connection broken) it tries again. */
const LISTEN_RETRY_MS = 2_000;

/** What fetches the datafile now: the flags' source. */
export interface Refreshable { refresh(): Promise<void> }

/** What a published datafile came to on this replica: fetched, and told to the others or why not. */
export interface FanoutResult {
  readonly fetched: { readonly ok: true } | { readonly ok: false; readonly why: string };
  readonly announced: { readonly ok: true } | { readonly ok: false; readonly why: string };
}

/**
 * A published datafile, obeyed fleet-wide: the replica Optimizely's webhook reached fetches it at
 * once and announces it through the store (NOTIFY on `cutover_datafile`); every other replica
 * listening fetches it when told. Polling stays the safety net: a replica whose notification
 * connection broke, or one with an embedded store (only its own process uses it), obeys the
 * change at its next poll.
 */
export class DatafileFanout {
  /** Names this replica in its announcements, so that it does not fetch twice for its own. */
  private readonly id = randomUUID();
  private unlisten: (() => Promise<void>) | undefined;
  private listening: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private failedAt = -Infinity;
  private closed = false;

  constructor(
    private readonly flags: Refreshable,
    private readonly store: () => StoreDatabase | undefined,
    private readonly log: Logger,
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.listen(), STORE_CHECK_MS).unref();
    void this.listen();
  }

  /** Optimizely published a datafile: fetch it here and tell the other replicas, at the same time. */
  async published(): Promise<FanoutResult> {
    const [fetched, announced] = await Promise.allSettled([this.flags.refresh(), this.announce()]);
    return { fetched: outcome(fetched), announced: outcome(announced) };
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    await this.listening;
    await this.unlisten?.();
  }

  private async announce(): Promise<void> {
    const store = this.store();
    if (!store) throw new Error('no store is open, so no other replica was told (they obey it at their next poll)');
    await store.announceDatafile(this.id);
  }

  private listen(): Promise<void> {
    if (this.unlisten || this.listening || this.closed) return this.listening ?? Promise.resolve();
    const store = this.store();
    if (!store || performance.now() - this.failedAt < LISTEN_RETRY_MS) return Promise.resolve();
    this.listening = store.listenForDatafile((from) => this.heard(from), (error) => this.lost(error)).then(
      async (unlisten) => {
        if (this.closed) return unlisten();
        this.unlisten = unlisten;
        this.log.info('flags: listening for datafile notices from the other replicas (a published datafile is fetched when one hears the webhook)');
      },
      (error: unknown) => {
        this.failedAt = performance.now();
        this.log.debug({ err: error }, 'flags: cannot listen for datafile notices yet');
      },
    ).finally(() => { this.listening = undefined; });
    return this.listening;
  }

  private heard(from: string): void {
    if (from === this.id) return;
    this.flags.refresh().then(
      () => this.log.info('flags: datafile fetched now: another replica received Optimizely\'s webhook'),
      (error: unknown) => this.log.error({ err: error }, `flags: another replica received Optimizely's webhook, but ${(error as Error).message}`),
    );
  }

  private lost(error: Error): void {
    this.log.warn({ err: error }, `flags: the connection for datafile notices broke (${error.message}); polling goes on, and listening again is tried every ${LISTEN_RETRY_MS / 1000} s`);
    this.unlisten = undefined;
    this.failedAt = performance.now();
  }
}

function outcome(settled: PromiseSettledResult<void>): FanoutResult['fetched'] {
  return settled.status === 'fulfilled' ? { ok: true } : { ok: false, why: (settled.reason as Error).message };
}
