import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import type { FieldTarget, RouteCounts, Verdict } from '../../compare/index.js';
import type { Side } from '../decision/stage.js';
import { migrateStore } from './migrations.js';
import { COMPARISON_CASTS, COMPARISON_COLUMNS, type ComparisonRow } from './row.js';
import { storableText } from './storable.js';
import type { StoredComparison } from './stored.js';
import type { TallyBatch } from './tally.js';

/** The store did not answer (down, unreachable, or too slow): what the writer counts as `store_down`. */
export class StoreUnavailable extends Error {}


/** Shared noise counts by group. */
export type RouteCountsByGroup = ReadonlyMap<string, readonly RouteCounts[]>;

/** One change of an override, as the history keeps it; stage null is a cleared override. */
export interface OverrideRecord {
  readonly group: string;
  readonly stage: string | null;
  readonly previous: string | null;
  readonly reason: string;
  readonly actor: string;
  readonly at: string;
}

/** One stage change of a group: a datafile's split (with its revision) or an override (with its actor). */
export interface StageEvent {
  readonly at: string;
  readonly kind: 'datafile' | 'override';
  readonly from: string | null;
  readonly to: string;
  readonly revision: string | null;
  readonly actor: string | null;
  readonly reason: string;
}

const OVERRIDES_CHANNEL = 'cutover_overrides';
/** A replica told Optimizely's webhook that the datafile changed; the payload is that replica's id. */
const DATAFILE_CHANNEL = 'cutover_datafile';
/** Any fixed number: serialises override changes, so each records the stage it really replaced. */
const OVERRIDE_LOCK = 7_342_002;

/** What a group's noise model counted since the last flush, and when its routes' counts halve. */
export interface NoiseChanges { readonly group: string; readonly decayEvery: number; readonly routes: readonly RouteCounts[] }

/** What one flush writes: the stored comparisons, every tally and noise count taken since the last flush. */
export interface Batch {
  readonly comparisons: readonly ComparisonRow[];
  readonly tallies: TallyBatch;
  readonly noise: readonly NoiseChanges[];
}

export interface Window { readonly hours: number }

export interface VerdictCounts { readonly total: number; readonly match: number; readonly mismatch: number; readonly noise: number; readonly error: number }

export interface SideSummary { readonly answers: number; readonly errors: number; readonly buckets: ReadonlyArray<{ leMs: number; count: number }> }

/** What a route was asked, and the evidence it did not get, by reason. */
export interface RouteTraffic {
  readonly requests: number;
  readonly skips: Readonly<Record<string, number>>;
  readonly lost: Readonly<Record<string, number>>;
}

export interface GroupEvidence {
  readonly routes: ReadonlyMap<string, VerdictCounts>;
  readonly sides: { readonly [S in Side]: SideSummary };
  readonly requests: ReadonlyArray<{ route: string; stage: string; servedBy: string; count: number }>;
  readonly skips: Readonly<Record<string, number>>;
  /** By route key; counts from before routes were tallied are under ''. */
  readonly traffic: ReadonlyMap<string, RouteTraffic>;
}

export interface DiffFilter {
  readonly group?: string;
  readonly route?: string;
  readonly verdict?: Verdict;
  readonly field?: string;
  readonly since?: Date;
  readonly limit: number;
  /** The id below which to continue, from the previous page. */
  readonly before?: bigint;
}

export interface DiffSummary {
  readonly id: string;
  readonly at: string;
  readonly requestId: string;
  readonly group: string;
  readonly route: string;
  readonly method: string;
  readonly path: string;
  /** The query string without its "?", as received (redacted as stored): samples of one route differ by it. */
  readonly query: string;
  readonly verdict: string;
  readonly legacyStatus: number | null;
  readonly newStatus: number | null;
  readonly fields: string[];
}

export interface FieldSummary {
  readonly group: string;
  readonly route: string;
  readonly field: string;
  readonly count: number;
  readonly firstSeen: string;
  readonly lastSeen: string;
  readonly exampleId: string;
}

const EMPTY_COUNTS: VerdictCounts = { total: 0, match: 0, mismatch: 0, noise: 0, error: 0 };

/** `VALUES ($1, $2), ($3, $4)…` for rows of `width` parameters. */
function placeholders(rows: number, width: number, casts: readonly string[] = []): string {
  return Array.from({ length: rows }, (_, row) =>
    `(${Array.from({ length: width }, (_, column) => `$${row * width + column + 1}${casts[column] ?? ''}`).join(', ')})`).join(', ');
}

/**
 * The diff store's SQL over a pg pool: writes batches, prunes, and answers the review API. Every
 * statement has a deadline, so a store that hangs fails like one that is down.
 */
export class StoreDatabase {
  private constructor(private readonly pool: pg.Pool, readonly callerKey: string) {}

  /** Connects, migrates and reads the callers' hash key; throws StoreUnavailable when the database does not answer. */
  static async open(url: string, onIdleError: (error: Error) => void): Promise<StoreDatabase> {
    // Five: the notifications of overrides and of the datafile each hold one for good.
    const pool = new pg.Pool({ connectionString: url, max: 5, connectionTimeoutMillis: 3_000, query_timeout: 10_000, idleTimeoutMillis: 10_000 });
    // A connection that breaks must not end the process: the pool hears an idle one break, and
    // each connection is given a listener of its own for when it breaks while in use (the pool
    // listens only to idle ones); the statement under way fails, and its caller counts the drop.
    pool.on('error', onIdleError);
    pool.on('connect', (client) => client.on('error', () => undefined));
    try {
      await migrateStore(pool);
      const { rows } = await pool.query<{ caller_key: string }>('SELECT caller_key FROM cutover_store_secret');
      return new StoreDatabase(pool, rows[0]?.caller_key ?? '');
    } catch (error) {
      await pool.end().catch(() => undefined);
      throw new StoreUnavailable((error as Error).message);
    }
  }

  /**
   * Writes a batch in one transaction. A row the database refuses as data (SQLSTATE class 22,
   * data exception, or 54, a limit such as nesting depth) is left out and handed back, and the
   * rest of the batch, tallies and noise counts are written: one record never sinks the others.
   * Anything else fails the whole write with StoreUnavailable.
   */
  async write(batch: Batch): Promise<{ readonly refused: readonly ComparisonRow[] }> {
    return this.transaction(async (client) => {
      const refused = await insertIsolating(client, batch.comparisons);
      const { comparisons, sides, requests, skips, lost } = batch.tallies;
      if (comparisons.length > 0) await client.query(...upsert('cutover_comparison_minutes', ['group_name', 'route', 'verdict'], comparisons, false));
      if (sides.length > 0) await client.query(...upsert('cutover_side_minutes', ['group_name', 'side', 'le_ms'], sides, true));
      if (requests.length > 0) await client.query(...upsert('cutover_request_minutes', ['group_name', 'route', 'stage', 'served_by'], requests, false));
      if (skips.length > 0) await client.query(...upsert('cutover_skip_minutes', ['group_name', 'route', 'reason'], skips, false));
      if (lost.length > 0) await client.query(...upsert('cutover_lost_minutes', ['group_name', 'route', 'reason'], lost, false));
      for (const changes of batch.noise) await addNoise(client, changes);
      return { refused };
    });
  }

  /** Runs `work` in a transaction; a connection on which it failed is closed rather than handed out again. */
  private async transaction<T>(work: (client: pg.PoolClient) => Promise<T>, connect = () => this.connect()): Promise<T> {
    const client = await connect();
    let failed: Error | undefined;
    try {
      await client.query('BEGIN');
      const result = await work(client);
      await client.query('COMMIT');
      return result;
    } catch (error) {
      failed = error as Error;
      await client.query('ROLLBACK').catch(() => undefined);
      throw new StoreUnavailable(failed.message);
    } finally {
      client.release(failed);
    }
  }

  /**
   * Deletes comparisons older than the age limit or beyond the row limit, a thousand rows a
   * statement so that no lock is held for long, and tallies older than the age limit.
   */
  async prune(maxAgeHours: number, maxRows: number): Promise<number> {
    let removed = 0;
    const { rows } = await this.query<{ id: string }>('SELECT id FROM cutover_comparisons ORDER BY id DESC OFFSET $1 LIMIT 1', [maxRows]);
    const beyond = rows[0]?.id ?? '0';
    for (;;) {
      const result = await this.query(`DELETE FROM cutover_comparisons WHERE id IN (
        SELECT id FROM cutover_comparisons WHERE id <= $1 OR at < now() - $2 * interval '1 hour' ORDER BY id LIMIT 1000)`, [beyond, maxAgeHours]);
      removed += result.rowCount ?? 0;
      if ((result.rowCount ?? 0) < 1000) break;
    }
    for (const table of ['cutover_comparison_minutes', 'cutover_side_minutes', 'cutover_request_minutes', 'cutover_skip_minutes', 'cutover_lost_minutes']) {
      await this.query(`DELETE FROM ${table} WHERE minute < now() - $1 * interval '1 hour'`, [maxAgeHours]);
    }
    return removed;
  }

  async evidence(group: string, window: Window): Promise<GroupEvidence> {
    const since = [group, window.hours];
    const where = `group_name = $1 AND minute >= now() - $2 * interval '1 hour'`;
    const [verdicts, sides, requests, skips, lost] = await Promise.all([
      this.query<{ route: string; verdict: Verdict; count: string }>(`SELECT route, verdict, sum(count) AS count FROM cutover_comparison_minutes WHERE ${where} GROUP BY route, verdict`, since),
      this.query<{ side: Side; le_ms: number; count: string; errors: string }>(`SELECT side, le_ms, sum(count) AS count, sum(errors) AS errors FROM cutover_side_minutes WHERE ${where} GROUP BY side, le_ms ORDER BY le_ms`, since),
      this.query<{ route: string; stage: string; served_by: string; count: string }>(`SELECT route, stage, served_by, sum(count) AS count FROM cutover_request_minutes WHERE ${where} GROUP BY route, stage, served_by`, since),
      this.query<{ route: string; reason: string; count: string }>(`SELECT route, reason, sum(count) AS count FROM cutover_skip_minutes WHERE ${where} GROUP BY route, reason`, since),
      this.query<{ route: string; reason: string; count: string }>(`SELECT route, reason, sum(count) AS count FROM cutover_lost_minutes WHERE ${where} GROUP BY route, reason`, since),
    ]);
    const traffic = new Map<string, { requests: number; skips: Record<string, number>; lost: Record<string, number> }>();
    const ofRoute = (route: string) => {
      const found = traffic.get(route) ?? { requests: 0, skips: {}, lost: {} };
      traffic.set(route, found);
      return found;
    };
    for (const row of requests.rows) ofRoute(row.route).requests += Number(row.count);
    for (const row of skips.rows) ofRoute(row.route).skips[row.reason] = Number(row.count);
    for (const row of lost.rows) ofRoute(row.route).lost[row.reason] = Number(row.count);
    const groupSkips: Record<string, number> = {};
    for (const row of skips.rows) groupSkips[row.reason] = (groupSkips[row.reason] ?? 0) + Number(row.count);
    const routes = new Map<string, VerdictCounts>();
    for (const row of verdicts.rows) {
      const counts = routes.get(row.route) ?? EMPTY_COUNTS;
      routes.set(row.route, { ...counts, total: counts.total + Number(row.count), [row.verdict]: counts[row.verdict] + Number(row.count) });
    }
    const side = (name: Side): SideSummary => {
      const rows = sides.rows.filter((row) => row.side === name);
      return {
        answers: rows.reduce((sum, row) => sum + Number(row.count), 0),
        errors: rows.reduce((sum, row) => sum + Number(row.errors), 0),
        buckets: rows.map((row) => ({ leMs: row.le_ms, count: Number(row.count) })),
      };
    };
    return {
      routes,
      sides: { legacy: side('legacy'), new: side('new') },
      requests: requests.rows.map((row) => ({ route: row.route, stage: row.stage, servedBy: row.served_by, count: Number(row.count) })),
      skips: groupSkips,
      traffic,
    };
  }

  /** Newest first; one more row than asked tells whether there is a next page. */
  async diffs(filter: DiffFilter): Promise<{ diffs: DiffSummary[]; more: boolean }> {
    const conditions: string[] = [];
    const values: unknown[] = [];
    const add = (sql: string, value: unknown) => {
      values.push(value);
      conditions.push(sql.replace('?', `$${values.length}`));
    };
    if (filter.group !== undefined) add('group_name = ?', filter.group);
    if (filter.route !== undefined) add('route = ?', filter.route);
    if (filter.verdict !== undefined) add('verdict = ?', filter.verdict);
    if (filter.field !== undefined) add('fields @> ARRAY[?]::text[]', filter.field);
    if (filter.since !== undefined) add('at >= ?', filter.since);
    if (filter.before !== undefined) add('id < ?', filter.before.toString());
    values.push(filter.limit + 1);
    const { rows } = await this.query<{ id: string; at: Date; request_id: string; group_name: string; route: string; method: string; path: string; query: string; verdict: string; legacy_status: number | null; new_status: number | null; fields: string[] }>(
      `SELECT id, at, request_id, group_name, route, method, path, query, verdict,
              (legacy->>'status')::int AS legacy_status, (new->>'status')::int AS new_status, fields
         FROM cutover_comparisons ${conditions.length > 0 ? `WHERE ${conditions.join(' AND ')}` : ''}
        ORDER BY id DESC LIMIT $${values.length}`, values);
    return {
      more: rows.length > filter.limit,
      diffs: rows.slice(0, filter.limit).map((row) => ({
        id: row.id, at: row.at.toISOString(), requestId: row.request_id, group: row.group_name, route: row.route,
        method: row.method, path: row.path, query: row.query, verdict: row.verdict, legacyStatus: row.legacy_status, newStatus: row.new_status, fields: row.fields,
      })),
    };
  }

  async diff(id: bigint): Promise<(StoredComparison & { id: string; escaped: boolean }) | undefined> {
    const { rows } = await this.query<Record<string, unknown>>('SELECT * FROM cutover_comparisons WHERE id = $1', [id.toString()]);
    const row = rows[0];
    if (!row) return undefined;
    return {
      id: String(row.id), at: row.at as Date, requestId: row.request_id as string, group: row.group_name as string, route: row.route as string,
      stage: row.stage as string, primarySide: row.primary_side as string, verdict: row.verdict as string, reason: row.reason as string | null,
      method: row.method as string, path: row.path as string, query: row.query as string, caller: row.caller as string,
      rule: row.rule as string | null, variation: row.variation as string | null,
      requestHeaders: row.request_headers as StoredComparison['requestHeaders'], requestBody: row.request_body as StoredComparison['requestBody'],
      legacy: row.legacy as StoredComparison['legacy'], new: row.new as StoredComparison['new'],
      differences: row.differences as StoredComparison['differences'], hidden: row.hidden as StoredComparison['hidden'], fields: row.fields as string[],
      escaped: row.escaped as boolean,
    };
  }

  /** The fields that differed in stored mismatches, most frequent first. */
  async fields(group: string | undefined, route: string | undefined): Promise<FieldSummary[]> {
    const { rows } = await this.query<{ group_name: string; route: string; field: string; count: string; first_seen: Date; last_seen: Date; example_id: string }>(
      `SELECT group_name, route, field, count(*) AS count, min(at) AS first_seen, max(at) AS last_seen, max(id) AS example_id
         FROM cutover_comparisons, unnest(fields) AS field
        WHERE verdict IN ('mismatch', 'noise') AND ($1::text IS NULL OR group_name = $1) AND ($2::text IS NULL OR route = $2)
        GROUP BY group_name, route, field ORDER BY count(*) DESC, field LIMIT 500`, [group ?? null, route ?? null]);
    return rows.map((row) => ({
      group: row.group_name, route: row.route, field: row.field, count: Number(row.count),
      firstSeen: row.first_seen.toISOString(), lastSeen: row.last_seen.toISOString(), exampleId: String(row.example_id),
    }));
  }

  /** Every group's shared noise counts, what each proxy's model loads. */
  async noise(): Promise<RouteCountsByGroup> {
    const [routes, fields] = await Promise.all([
      this.query<{ group_name: string; route: string; comparisons_ab: number; comparisons_aa: number }>('SELECT * FROM cutover_noise_routes', []),
      this.query<{ group_name: string; route: string; target: FieldTarget; field: string; differences_ab: number; differences_aa: number }>('SELECT * FROM cutover_noise_fields', []),
    ]);
    const groups = new Map<string, RouteCounts[]>();
    for (const row of routes.rows) {
      const ofRoute = fields.rows.filter((field) => field.group_name === row.group_name && field.route === row.route);
      const list = groups.get(row.group_name) ?? [];
      list.push({
        route: row.route, comparisonsAB: row.comparisons_ab, comparisonsAA: row.comparisons_aa,
        fields: ofRoute.map((field) => ({ target: field.target, field: field.field, differencesAB: field.differences_ab, differencesAA: field.differences_aa })),
      });
      groups.set(row.group_name, list);
    }
    return groups;
  }

  /** The overrides every proxy obeys. */
  async overrides(): Promise<Map<string, string>> {
    const { rows } = await this.query<{ group_name: string; stage: string }>('SELECT group_name, stage FROM cutover_overrides', []);
    return new Map(rows.map((row) => [row.group_name, row.stage]));
  }

  /**
   * Sets (or, with stage null, clears) a group's override, records it in the history with the
   * stage it replaced, and notifies the other proxies; one transaction, so that two admins at
   * once each see the right previous stage.
   */
  changeOverride(change: { group: string; stage: string | null; reason: string; actor: string }, withinMs: number): Promise<OverrideRecord> {
    const deadline = performance.now() + withinMs;
    return this.transaction(async (client) => {
      // The deadline is PostgreSQL's, so that a change given up is one it rolled back: a client
      // that merely stopped waiting could not say that nothing was changed.
      const left = String(Math.max(1, Math.floor(deadline - performance.now())));
      await client.query("SELECT set_config('lock_timeout', $1, true), set_config('statement_timeout', $1, true)", [left]);
      await client.query('SELECT pg_advisory_xact_lock($1)', [OVERRIDE_LOCK]);
      const { rows } = await client.query<{ stage: string }>('SELECT stage FROM cutover_overrides WHERE group_name = $1', [change.group]);
      const previous = rows[0]?.stage ?? null;
      if (change.stage === null) await client.query('DELETE FROM cutover_overrides WHERE group_name = $1', [change.group]);
      else {
        await client.query(`INSERT INTO cutover_overrides VALUES ($1, $2, $3, $4, now())
          ON CONFLICT (group_name) DO UPDATE SET stage = EXCLUDED.stage, reason = EXCLUDED.reason, actor = EXCLUDED.actor, set_at = EXCLUDED.set_at`,
        [change.group, change.stage, change.reason, change.actor]);
      }
      const { rows: [recorded] } = await client.query<{ at: Date }>(`INSERT INTO cutover_override_history (group_name, stage, previous, reason, actor, at)
        VALUES ($1, $2, $3, $4, $5, now()) RETURNING at`, [change.group, change.stage, previous, change.reason, change.actor]);
      await client.query(`NOTIFY ${OVERRIDES_CHANNEL}`);
      return { ...change, previous, at: (recorded?.at ?? new Date()).toISOString() };
    }, () => this.connectWithin(deadline - performance.now()));
  }

  /**
   * The guard's rollback: written only when the group has no override, so that of replicas that
   * see the same breach one writes (the rest find its override), and an engineer's override is
   * never replaced. Undefined when one was there.
   */
  guardOverride(change: { group: string; stage: string; reason: string; actor: string }, withinMs: number): Promise<OverrideRecord | undefined> {
    const deadline = performance.now() + withinMs;
    return this.transaction(async (client) => {
      const left = String(Math.max(1, Math.floor(deadline - performance.now())));
      await client.query("SELECT set_config('lock_timeout', $1, true), set_config('statement_timeout', $1, true)", [left]);
      await client.query('SELECT pg_advisory_xact_lock($1)', [OVERRIDE_LOCK]);
      const { rowCount } = await client.query(`INSERT INTO cutover_overrides VALUES ($1, $2, $3, $4, now()) ON CONFLICT (group_name) DO NOTHING`,
        [change.group, change.stage, change.reason, change.actor]);
      if (rowCount === 0) return undefined;
      const { rows: [recorded] } = await client.query<{ at: Date }>(`INSERT INTO cutover_override_history (group_name, stage, previous, reason, actor, at)
        VALUES ($1, $2, NULL, $3, $4, now()) RETURNING at`, [change.group, change.stage, change.reason, change.actor]);
      await client.query(`NOTIFY ${OVERRIDES_CHANNEL}`);
      return { ...change, previous: null, at: (recorded?.at ?? new Date()).toISOString() };
    }, () => this.connectWithin(deadline - performance.now()));
  }

  async overrideHistory(limit: number): Promise<OverrideRecord[]> {
    const { rows } = await this.query<{ group_name: string; stage: string | null; previous: string | null; reason: string; actor: string; at: Date }>(
      'SELECT group_name, stage, previous, reason, actor, at FROM cutover_override_history ORDER BY id DESC LIMIT $1', [limit]);
    return rows.map((row) => ({ group: row.group_name, stage: row.stage, previous: row.previous, reason: row.reason, actor: row.actor, at: row.at.toISOString() }));
  }

  /**
   * Records a group's split under a datafile revision, when it differs from the last recorded:
   * once however many replicas apply the revision (unique on group and revision). True when
   * this call recorded it.
   */
  async recordSplit(event: { group: string; revision: string; rule: string | null; split: string }): Promise<boolean> {
    const { rowCount } = await this.query(`INSERT INTO cutover_stage_events (at, group_name, revision, rule, split_from, split_to)
      SELECT now(), $1, $2, $3, last.split_to, $4
        FROM (SELECT 1) AS one LEFT JOIN LATERAL (
          SELECT split_to FROM cutover_stage_events WHERE group_name = $1 ORDER BY id DESC LIMIT 1) AS last ON true
       WHERE last.split_to IS DISTINCT FROM $4
      ON CONFLICT (group_name, revision) DO NOTHING`, [event.group, event.revision, event.rule, event.split]);
    return rowCount === 1;
  }

  /** A group's stage changes, newest first: datafile splits and overrides (cutover_stage_history). */
  async stageHistory(group: string, limit: number): Promise<StageEvent[]> {
    const { rows } = await this.query<{ at: Date; kind: 'datafile' | 'override'; from_stage: string | null; to_stage: string; revision: string | null; actor: string | null; reason: string }>(
      'SELECT at, kind, from_stage, to_stage, revision, actor, reason FROM cutover_stage_history WHERE group_name = $1 ORDER BY at DESC LIMIT $2', [group, limit]);
    return rows.map((row) => ({ at: row.at.toISOString(), kind: row.kind, from: row.from_stage, to: row.to_stage, revision: row.revision, actor: row.actor, reason: row.reason }));
  }

  /**
   * Calls `onChange` when another proxy changes an override, on a connection of its own; the
   * returned function stops listening. A connection that breaks calls `onLost`: notifications
   * are a shortcut, the periodic re-read is what guarantees convergence.
   */
  listenForOverrides(onChange: () => void, onLost: (error: Error) => void): Promise<() => Promise<void>> {
    return this.listen(OVERRIDES_CHANNEL, onChange, onLost);
  }

  /** Tells every proxy listening that the datafile changed, naming the one that heard it. */
  async announceDatafile(from: string): Promise<void> {
    await this.query('SELECT pg_notify($1, $2)', [DATAFILE_CHANNEL, from]);
  }

  /**
   * Calls `onNotice` with the announcing proxy's id when one says the datafile changed; as for
   * overrides, a shortcut: polling the datafile is what guarantees convergence.
   */
  listenForDatafile(onNotice: (from: string) => void, onLost: (error: Error) => void): Promise<() => Promise<void>> {
    return this.listen(DATAFILE_CHANNEL, (message) => onNotice(message.payload ?? ''), onLost);
  }

  private async listen(channel: string, onNotice: (message: pg.Notification) => void, onLost: (error: Error) => void): Promise<() => Promise<void>> {
    const client = await this.connect();
    let released = false;
    const onNotification = (message: pg.Notification) => { if (message.channel === channel) onNotice(message); };
    const release = () => {
      if (released) return;
      released = true;
      client.removeListener('notification', onNotification);
      client.release(true);
    };
    client.on('notification', onNotification);
    client.on('error', (error: Error) => {
      release();
      onLost(error);
    });
    try {
      await client.query(`LISTEN ${channel}`);
    } catch (error) {
      release();
      throw new StoreUnavailable((error as Error).message);
    }
    return async () => {
      if (!released) await client.query(`UNLISTEN ${channel}`).catch(() => undefined);
      release();
    };
  }

  async close(): Promise<void> {
    await this.pool.end();
  }

  private async connect(): Promise<pg.PoolClient> {
    try {
      return await this.pool.connect();
    } catch (error) {
      throw new StoreUnavailable((error as Error).message);
    }
  }

  /** A connection within `ms`, or StoreUnavailable; one that comes later goes back to the pool. */
  private async connectWithin(ms: number): Promise<pg.PoolClient> {
    const connecting = this.pool.connect();
    const stop = new AbortController();
    const late = sleep(Math.max(0, ms), 'late' as const, { signal: stop.signal }).catch(() => 'stopped' as const);
    try {
      const first = await Promise.race([connecting, late]);
      if (typeof first !== 'string') return first;
      connecting.then((client) => client.release(), () => undefined);
      throw new StoreUnavailable(`no connection to the store within ${Math.round(ms)} ms`);
    } catch (error) {
      throw error instanceof StoreUnavailable ? error : new StoreUnavailable((error as Error).message);
    } finally {
      stop.abort();
    }
  }

  private async query<Row extends pg.QueryResultRow>(sql: string, values: unknown[]): Promise<pg.QueryResult<Row>> {
    try {
      return await this.pool.query<Row>(sql, values);
    } catch (error) {
      throw new StoreUnavailable((error as Error).message);
    }
  }
}

/**
 * Adds a model's counts to the shared ones, then halves the routes that reached `decayEvery`
 * A/B comparisons: the row lock makes a second proxy doing the same see the halved count, so a
 * route is never halved twice for one crossing.
 */
async function addNoise(client: pg.PoolClient, { group, decayEvery, routes }: NoiseChanges): Promise<void> {
  for (const route of routes) {
    await client.query(`INSERT INTO cutover_noise_routes AS t VALUES ($1, $2, $3, $4)
      ON CONFLICT (group_name, route) DO UPDATE SET comparisons_ab = t.comparisons_ab + EXCLUDED.comparisons_ab, comparisons_aa = t.comparisons_aa + EXCLUDED.comparisons_aa`,
    [group, route.route, route.comparisonsAB, route.comparisonsAA]);
    if (route.fields.length > 0) {
      // A field is named by a member of a body, which may hold a NUL: stored escaped, like the comparison that showed it.
      const values = route.fields.flatMap((field) => [group, route.route, field.target, storableText(field.field).text, field.differencesAB, field.differencesAA]);
      await client.query(`INSERT INTO cutover_noise_fields AS t VALUES ${placeholders(route.fields.length, 6)}
        ON CONFLICT (group_name, route, target, field) DO UPDATE SET differences_ab = t.differences_ab + EXCLUDED.differences_ab, differences_aa = t.differences_aa + EXCLUDED.differences_aa`, values);
    }
    const halved = await client.query(`UPDATE cutover_noise_routes SET comparisons_ab = comparisons_ab / 2, comparisons_aa = comparisons_aa / 2
      WHERE group_name = $1 AND route = $2 AND comparisons_ab >= $3`, [group, route.route, decayEvery]);
    if ((halved.rowCount ?? 0) > 0) {
      await client.query('UPDATE cutover_noise_fields SET differences_ab = differences_ab / 2, differences_aa = differences_aa / 2 WHERE group_name = $1 AND route = $2', [group, route.route]);
    }
  }
}

function insertComparisons(rows: readonly ComparisonRow[]): [string, unknown[]] {
  return [`INSERT INTO cutover_comparisons (${COMPARISON_COLUMNS.join(', ')}) VALUES ${placeholders(rows.length, COMPARISON_COLUMNS.length, COMPARISON_CASTS)}`,
    rows.flatMap((row) => row.values)];
}

/** Data the database refuses, rather than a database that fails: a row's fault, so only that row is left out. */
function isRefusedData(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' && (code.startsWith('22') || code.startsWith('54'));
}

/**
 * Inserts the rows, or, when the database refuses their data, each half of them in turn (under
 * a savepoint, so the transaction goes on): a refused row costs about 2·log2(batch) statements,
 * and the others are kept. Returns the rows refused.
 */
async function insertIsolating(client: pg.PoolClient, rows: readonly ComparisonRow[]): Promise<ComparisonRow[]> {
  if (rows.length === 0) return [];
  await client.query('SAVEPOINT comparisons');
  try {
    await client.query(...insertComparisons(rows));
    await client.query('RELEASE SAVEPOINT comparisons');
    return [];
  } catch (error) {
    if (!isRefusedData(error)) throw error;
    await client.query('ROLLBACK TO SAVEPOINT comparisons');
    await client.query('RELEASE SAVEPOINT comparisons');
    if (rows.length === 1) return [...rows];
    const half = Math.ceil(rows.length / 2);
    return [...await insertIsolating(client, rows.slice(0, half)), ...await insertIsolating(client, rows.slice(half))];
  }
}

function upsert(table: string, keys: readonly string[], rows: ReadonlyArray<{ minute: Date; key: readonly (string | number)[]; count: number; errors: number }>, withErrors: boolean): [string, unknown[]] {
  const columns = ['minute', ...keys, 'count', ...(withErrors ? ['errors'] : [])];
  const values = rows.flatMap((row) => [row.minute, ...row.key, row.count, ...(withErrors ? [row.errors] : [])]);
  const update = withErrors ? 'count = t.count + EXCLUDED.count, errors = t.errors + EXCLUDED.errors' : 'count = t.count + EXCLUDED.count';
  return [`INSERT INTO ${table} AS t (${columns.join(', ')}) VALUES ${placeholders(rows.length, columns.length)}
    ON CONFLICT (minute, ${keys.join(', ')}) DO UPDATE SET ${update}`, values];
}
