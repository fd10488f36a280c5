import type { Side } from '../stage.js';

/** Latency bucket bounds in milliseconds, roughly 1-2-3-5-7 per decade; the last one is everything slower. */
export const LATENCY_BUCKETS_MS = [1, 2, 3, 5, 7, 10, 15, 20, 30, 50, 70, 100, 150, 200, 300, 500, 700, 1_000, 1_500, 2_000, 3_000, 5_000, 7_000, 10_000, 2_147_483_647] as const;

export function bucketOf(ms: number): number {
  return LATENCY_BUCKETS_MS.find((bound) => ms <= bound) ?? 2_147_483_647;
}

/** Counts of one kind of row, by key, for the minute they fell in; `errors` only for sides. */
export class Counts<Key extends readonly (string | number)[]> {
  private readonly rows = new Map<string, { minute: Date; key: Key; count: number; errors: number }>();

  add(minute: Date, key: Key, errors = 0): void {
    const id = `${minute.getTime()}\t${key.join('\t')}`;
    const row = this.rows.get(id);
    if (row) {
      row.count += 1;
      row.errors += errors;
    } else {
      this.rows.set(id, { minute, key, count: 1, errors });
    }
  }

  get size(): number {
    return this.rows.size;
  }

  /** Hands the counts over and starts again. */
  take(): Array<{ minute: Date; key: Key; count: number; errors: number }> {
    const rows = [...this.rows.values()];
    this.rows.clear();
    return rows;
  }

  /** Puts back counts that could not be written, so that none is lost while the store is away. */
  restore(rows: ReadonlyArray<{ minute: Date; key: Key; count: number; errors: number }>): void {
    for (const row of rows) {
      const id = `${row.minute.getTime()}\t${row.key.join('\t')}`;
      const current = this.rows.get(id);
      if (current) {
        current.count += row.count;
        current.errors += row.errors;
      } else {
        this.rows.set(id, { ...row });
      }
    }
  }
}

/** Every comparison, every routed request and every skipped shadow, counted per minute for the review API. */
export class Tallies {
  readonly comparisons = new Counts<[group: string, route: string, verdict: string]>();
  readonly sides = new Counts<[group: string, side: Side, leMs: number]>();
  readonly requests = new Counts<[group: string, stage: string, servedBy: string]>();
  readonly skips = new Counts<[group: string, reason: string]>();
}

export function minuteOf(at: Date): Date {
  return new Date(at.getTime() - (at.getTime() % 60_000));
}
