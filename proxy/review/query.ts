import type { Request } from 'express';
import type { Verdict } from '../../compare/index.js';
import type { DiffFilter } from '../store/database.js';

/** A parameter the review API cannot use: answered 400 with this one line, which names it. */
export class BadQuery extends Error {}

const VERDICTS: readonly Verdict[] = ['match', 'mismatch', 'noise', 'error'];
const MAX_LIMIT = 500;
/** Longer than any retention worth having; past it a duration is a mistake, not a wish. */
const MAX_DAYS = 3_660;
/** Comparison ids are PostgreSQL bigints. */
const MAX_ID = 2n ** 63n - 1n;
/** Routes and fields are short; a longer value is no filter anyone meant. */
const MAX_TEXT = 1_000;

/**
 * The review API's query parameters, each parsed once here into the value the store is asked
 * with, so that nothing absurd reaches the database (which would answer with a message of its own).
 */
export class ReviewQuery {
  constructor(private readonly query: Request['query'], private readonly groups: ReadonlySet<string>) {}

  /** A filter value: given once, no NUL (PostgreSQL text cannot hold one), of a sensible length. */
  text(name: string): string | undefined {
    const value = this.query[name];
    if (value === undefined || value === '') return undefined;
    if (typeof value !== 'string') throw new BadQuery(`${name} may be given once`);
    if (value.includes('\0')) throw new BadQuery(`${name} must not contain a NUL character`);
    if (value.length > MAX_TEXT) throw new BadQuery(`${name} is longer than ${MAX_TEXT} characters`);
    return value;
  }

  group(): string | undefined {
    const name = this.text('group');
    if (name !== undefined && !this.groups.has(name)) throw new BadQuery(`no group named "${name}"`);
    return name;
  }

  /** "90m", "24h", "7d" as hours, up to MAX_DAYS. */
  hours(name: string): number | undefined {
    const value = this.text(name);
    if (value === undefined) return undefined;
    const found = /^(\d{1,7}(?:\.\d{1,3})?)([mhd])$/.exec(value);
    const hours = found ? Number(found[1]) * { m: 1 / 60, h: 1, d: 24 }[found[2] as 'm' | 'h' | 'd'] : NaN;
    if (!(hours > 0 && hours <= MAX_DAYS * 24)) throw new BadQuery(`${name} must be a duration such as 90m, 24h or 7d, up to ${MAX_DAYS}d, not "${value.slice(0, 40)}"`);
    return hours;
  }

  /** GET /api/diffs's filter. */
  diffs(now: number): DiffFilter {
    const verdict = this.text('verdict');
    if (verdict !== undefined && !(VERDICTS as readonly string[]).includes(verdict)) throw new BadQuery(`verdict must be one of ${VERDICTS.join(', ')}`);
    const limitText = this.text('limit') ?? '50';
    const limit = /^\d{1,3}$/.test(limitText) ? Number(limitText) : NaN;
    if (!(limit >= 1 && limit <= MAX_LIMIT)) throw new BadQuery(`limit must be a whole number from 1 to ${MAX_LIMIT}`);
    const group = this.group();
    const route = this.text('route');
    const field = this.text('field');
    const since = this.hours('since');
    const cursor = this.text('cursor');
    return {
      ...(group ? { group } : {}),
      ...(route ? { route } : {}),
      ...(verdict ? { verdict: verdict as Verdict } : {}),
      ...(field ? { field } : {}),
      ...(since ? { since: new Date(now - since * 3_600_000) } : {}),
      ...(cursor ? { before: comparisonId(cursor, 'cursor') } : {}),
      limit,
    };
  }
}

/** A comparison id, from the path or a cursor. */
export function comparisonId(text: string, name: string): bigint {
  const id = /^[1-9]\d{0,18}$/.test(text) ? BigInt(text) : undefined;
  if (id === undefined || id > MAX_ID) throw new BadQuery(`${name} "${text.slice(0, 40)}" is not a comparison id`);
  return id;
}
