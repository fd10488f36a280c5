import type { Side } from '../decision/stage.js';

// The bounds are the latency judge's (compare/latency.ts), which reads these buckets back.
export { bucketOf } from '../../compare/index.js';

/** A count of one key in one minute; `errors` only for sides. */
export interface CountRow<Key> { readonly minute: Date; readonly key: Key; count: number; errors: number }

/** Counts of one kind of row, by key, for the minute they fell in. */
export class Counts<Key extends readonly (string | number)[]> {
  private rows = new Map<string, CountRow<Key>>();

  add(minute: Date, key: Key, errors = 0): void {
    this.merge(minute, key, 1, errors);
  }

  /** Hands the counts over and starts again. */
  take(): Array<CountRow<Key>> {
    const rows = [...this.rows.values()];
    this.rows = new Map();
    return rows;
  }

  /** Puts back counts that could not be written, so that none is lost while the store is away. */
  restore(rows: ReadonlyArray<CountRow<Key>>): void {
    for (const row of rows) this.merge(row.minute, row.key, row.count, row.errors);
  }

  /** Called for every request: a key already counted this minute makes no new row. */
  private merge(minute: Date, key: Key, count: number, errors: number): void {
    const id = `${minute.getTime()}\t${key.join('\t')}`;
    const current = this.rows.get(id);
    if (!current) return void this.rows.set(id, { minute, key, count, errors });
    current.count += count;
    current.errors += errors;
  }
}

type CountsOf<T> = T extends Counts<infer Key> ? Array<CountRow<Key>> : never;

/** Every comparison, every routed request, every skipped shadow and all evidence lost, counted per minute for the review API. */
export class Tallies {
  readonly comparisons = new Counts<[group: string, route: string, verdict: string]>();
  readonly sides = new Counts<[group: string, side: Side, leMs: number]>();
  readonly requests = new Counts<[group: string, route: string, stage: string, servedBy: string]>();
  readonly skips = new Counts<[group: string, route: string, reason: string]>();
  readonly lost = new Counts<[group: string, route: string, reason: string]>();

  /** Everything counted since the last take, for one write. */
  take(): TallyBatch {
    return { comparisons: this.comparisons.take(), sides: this.sides.take(), requests: this.requests.take(), skips: this.skips.take(), lost: this.lost.take() };
  }

  /** Puts back a batch the store did not take. */
  restore(batch: TallyBatch): void {
    this.comparisons.restore(batch.comparisons);
    this.sides.restore(batch.sides);
    this.requests.restore(batch.requests);
    this.skips.restore(batch.skips);
    this.lost.restore(batch.lost);
  }
}

export interface TallyBatch {
  readonly comparisons: CountsOf<Tallies['comparisons']>;
  readonly sides: CountsOf<Tallies['sides']>;
  readonly requests: CountsOf<Tallies['requests']>;
  readonly skips: CountsOf<Tallies['skips']>;
  readonly lost: CountsOf<Tallies['lost']>;
}

export function minuteOf(at: Date): Date {
  return new Date(at.getTime() - (at.getTime() % 60_000));
}
