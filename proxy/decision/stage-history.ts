import type { LedgerEntry } from './datafile/ledger.js';
import type { Flags } from './flags.js';
import { splitText } from './flag-split.js';
import type { Logger } from '../telemetry/log.js';
import type { StoreDatabase } from '../store/database.js';

/** How often a split not yet recorded (the store not open, or not answering) is tried again. */
const RETRY_MS = 1_000;

/**
 * Records in the store each group's split under every datafile applied, where it changed: the
 * datafile half of the stage history (the overrides record theirs as they change). The store
 * makes it once for the fleet; a split the store could not take is tried again until it is, so
 * that the datafile applied at start is recorded once the store opens.
 */
export class StageRecorder {
  private pending: LedgerEntry | undefined;
  private writing: Promise<void> | undefined;
  private readonly timer: NodeJS.Timeout;

  constructor(flags: Flags, private readonly store: () => StoreDatabase | undefined, private readonly log: Logger) {
    this.timer = setInterval(() => void this.flush(), RETRY_MS).unref();
    flags.onApplied((entry) => {
      this.pending = entry;
      void this.flush();
    });
  }

  private flush(): Promise<void> {
    if (!this.writing && this.pending) this.writing = this.write().finally(() => { this.writing = undefined; });
    return this.writing ?? Promise.resolve();
  }

  private async write(): Promise<void> {
    const entry = this.pending;
    const store = this.store();
    if (!entry || !store) return;
    try {
      for (const [group, split] of entry.splits) await store.recordSplit({ group, revision: entry.revision, rule: split.rule, split: splitText(split.shares) });
      // A newer datafile applied meanwhile stays pending.
      if (this.pending === entry) this.pending = undefined;
    } catch (error) {
      this.log.debug({ err: error }, `stage history: revision ${entry.revision} not recorded yet (${(error as Error).message}); tried again in ${RETRY_MS} ms`);
    }
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.writing;
  }
}
