import type { Logger } from '../telemetry/log.js';

/**
 * Runs shadow work in the background, at most `limit` at a time. Work beyond that is dropped,
 * never queued: a queue would turn a slow shadow side into memory growth and stale comparisons.
 */
export class ShadowPool {
  private inFlight = 0;
  private readonly idle = new Set<() => void>();

  constructor(
    private readonly limit: number,
    private readonly onChange: (inFlight: number) => void,
    private readonly log: Logger,
  ) {}

  /** Starts the task unless the pool is full; the pool owns the task's failure. */
  run(task: () => Promise<void>): boolean {
    if (this.full) return false;
    this.inFlight += 1;
    this.onChange(this.inFlight);
    task()
      .catch((error: unknown) => this.log.error({ err: error }, 'shadow: the task failed'))
      .finally(() => {
        this.inFlight -= 1;
        this.onChange(this.inFlight);
        if (this.inFlight === 0) for (const resolve of this.idle) resolve();
      });
    return true;
  }

  /** Whether a task would be dropped now: checked before a body is buffered for nothing. */
  get full(): boolean {
    return this.inFlight >= this.limit;
  }

  /** Resolves when no shadow work is left, so that a shutdown loses no comparison it started. */
  drained(): Promise<void> {
    if (this.inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        this.idle.delete(done);
        resolve();
      };
      this.idle.add(done);
    });
  }
}
