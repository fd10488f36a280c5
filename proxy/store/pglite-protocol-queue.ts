import type { PGlite } from '@electric-sql/pglite';

interface Job {
  readonly handlerId: number;
  readonly message: Uint8Array;
  readonly onData: (data: Uint8Array) => void;
  resolve(bytes: number): void;
  reject(error: Error): void;
}

/** Frontend messages after which a connection has finished what it asked: Sync, simple Query, Terminate. */
const ENDS_A_REQUEST = new Set([0x53, 0x51, 0x58]);

/**
 * One PGlite session shared by many wire connections, serialised so that their protocol
 * exchanges never interleave. pglite-socket's own queue (0.2.17) keeps a connection's messages
 * together only inside a transaction, so Parse/Bind/Execute of two connections can mix
 * ("unnamed prepared statement does not exist", parameters in the wrong query; pglite issue
 * #1046), and a failed message leaves it stalled. This queue lets one connection hold the session
 * from its first message until its request ends (Sync, Query, Terminate or a startup message) and
 * for as long as it is inside a transaction; a connection that goes away gives it up.
 */
export class ProtocolQueue {
  private readonly queue: Job[] = [];
  private holder: number | undefined;
  private processing = false;

  constructor(private readonly db: PGlite) {}

  enqueue(handlerId: number, message: Uint8Array, onData: (data: Uint8Array) => void): Promise<number> {
    return new Promise((resolve, reject) => {
      this.queue.push({ handlerId, message, onData, resolve, reject });
      void this.process();
    });
  }

  getQueueLength(): number {
    return this.queue.length;
  }

  clearQueueForHandler(handlerId: number): void {
    for (let index = this.queue.length - 1; index >= 0; index--) {
      const job = this.queue[index];
      if (job?.handlerId !== handlerId) continue;
      this.queue.splice(index, 1);
      job.reject(new Error('Handler disconnected'));
    }
  }

  async clearTransactionIfNeeded(handlerId: number): Promise<void> {
    if (this.holder !== handlerId) return;
    if (this.db.isInTransaction()) await this.db.exec('ROLLBACK');
    this.holder = undefined;
    await this.process();
  }

  private next(): Job | undefined {
    const index = this.holder === undefined ? 0 : this.queue.findIndex((job) => job.handlerId === this.holder);
    return index === -1 ? undefined : this.queue.splice(index, 1)[0];
  }

  private async process(): Promise<void> {
    if (this.processing) return;
    this.processing = true;
    try {
      for (let job = this.next(); job; job = this.next()) {
        let bytes = 0;
        const current = job;
        try {
          await this.db.runExclusive(() => this.db.execProtocolRawStream(current.message, {
            onRawData: (data: Uint8Array) => {
              bytes += data.length;
              current.onData(data);
            },
          }));
        } catch (error) {
          this.holder = undefined;
          current.reject(error as Error);
          continue;
        }
        const type = current.message[0] ?? 0;
        const ended = type === 0 || ENDS_A_REQUEST.has(type);
        this.holder = ended && !this.db.isInTransaction() ? undefined : current.handlerId;
        current.resolve(bytes);
      }
    } finally {
      this.processing = false;
    }
  }
}
