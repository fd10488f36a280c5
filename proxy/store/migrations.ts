import type pg from 'pg';

/**
 * The diff store's schema as versioned migrations, recorded in cutover_store_migrations. Every
 * table is prefixed `cutover_` because the store may share a database with other schemas (the
 * demo keeps it beside the pet store's own tables).
 */
interface Migration { readonly version: number; readonly name: string; readonly sql: string }

const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'comparisons, their fields, and per-minute tallies',
    sql: `
-- One row per stored comparison: every mismatch and error, and a sample of matches and noise.
CREATE TABLE cutover_comparisons (
  id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  at            timestamptz NOT NULL,
  request_id    text NOT NULL,
  group_name    text NOT NULL,
  route         text NOT NULL,
  stage         text NOT NULL,
  primary_side  text NOT NULL,
  verdict       text NOT NULL,
  reason        text,
  method        text NOT NULL,
  path          text NOT NULL,
  query         text NOT NULL,
  caller        text NOT NULL,
  rule          text,
  variation     text,
  request_headers jsonb NOT NULL,
  request_body  jsonb NOT NULL,
  legacy        jsonb NOT NULL,
  new           jsonb NOT NULL,
  differences   jsonb NOT NULL,
  hidden        jsonb NOT NULL,
  fields        text[] NOT NULL
);
CREATE INDEX cutover_comparisons_group_id ON cutover_comparisons (group_name, id DESC);
CREATE INDEX cutover_comparisons_at ON cutover_comparisons (at);
CREATE INDEX cutover_comparisons_fields ON cutover_comparisons USING gin (fields);

-- Every comparison counted, stored or not: what match rates and readiness are computed from.
CREATE TABLE cutover_comparison_minutes (
  minute      timestamptz NOT NULL,
  group_name  text NOT NULL,
  route       text NOT NULL,
  verdict     text NOT NULL,
  count       bigint NOT NULL,
  PRIMARY KEY (minute, group_name, route, verdict)
);

-- Both sides of every comparison: answers, errors (a failure or a 5xx) and latency by bucket.
CREATE TABLE cutover_side_minutes (
  minute      timestamptz NOT NULL,
  group_name  text NOT NULL,
  side        text NOT NULL,
  le_ms       integer NOT NULL,
  count       bigint NOT NULL,
  errors      bigint NOT NULL,
  PRIMARY KEY (minute, group_name, side, le_ms)
);

-- Every routed request: the stage mix and the side that served it, and the shadows skipped.
CREATE TABLE cutover_request_minutes (
  minute      timestamptz NOT NULL,
  group_name  text NOT NULL,
  stage       text NOT NULL,
  served_by   text NOT NULL,
  count       bigint NOT NULL,
  PRIMARY KEY (minute, group_name, stage, served_by)
);
CREATE TABLE cutover_skip_minutes (
  minute      timestamptz NOT NULL,
  group_name  text NOT NULL,
  reason      text NOT NULL,
  count       bigint NOT NULL,
  PRIMARY KEY (minute, group_name, reason)
);

-- The key of the callers' keyed hash: one per store, so that every replica hashes alike.
CREATE TABLE cutover_store_secret (
  only_row  boolean PRIMARY KEY DEFAULT true CHECK (only_row),
  caller_key text NOT NULL
);
INSERT INTO cutover_store_secret (caller_key) VALUES (md5(random()::text || clock_timestamp()::text) || md5(random()::text));`,
  },
  {
    version: 2,
    name: 'the noise model, shared by every proxy',
    // Counts are fractional once halved by decay.
    sql: `
CREATE TABLE cutover_noise_routes (
  group_name      text NOT NULL,
  route           text NOT NULL,
  comparisons_ab  double precision NOT NULL,
  comparisons_aa  double precision NOT NULL,
  PRIMARY KEY (group_name, route)
);
CREATE TABLE cutover_noise_fields (
  group_name      text NOT NULL,
  route           text NOT NULL,
  target          text NOT NULL,
  field           text NOT NULL,
  differences_ab  double precision NOT NULL,
  differences_aa  double precision NOT NULL,
  PRIMARY KEY (group_name, route, target, field)
);`,
  },
  {
    version: 3,
    name: 'overrides shared by every proxy, and their history',
    sql: `
CREATE TABLE cutover_overrides (
  group_name  text PRIMARY KEY,
  stage       text NOT NULL,
  reason      text NOT NULL,
  actor       text NOT NULL,
  set_at      timestamptz NOT NULL
);
-- Who changed what and when: the token's name, never the token. stage is null when cleared.
CREATE TABLE cutover_override_history (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  group_name  text NOT NULL,
  stage       text,
  previous    text,
  reason      text NOT NULL,
  actor       text NOT NULL,
  at          timestamptz NOT NULL
);`,
  },
  {
    version: 4,
    name: 'comparisons that held what PostgreSQL cannot store, marked',
    sql: `
-- True when a NUL or a lone surrogate was stored as the text of its escape (a backslash, "u"
-- and four hex digits): PostgreSQL's text and jsonb cannot hold them, and a reviewer must know
-- that the text was not sent so.
ALTER TABLE cutover_comparisons ADD COLUMN escaped boolean NOT NULL DEFAULT false;`,
  },
  {
    version: 5,
    name: 'requests and skipped shadows by route, and the evidence lost',
    // Readiness judges route by route. Rows counted before this have route '': they still count
    // in a group's totals, and are never taken for a route's.
    sql: `
ALTER TABLE cutover_request_minutes ADD COLUMN route text NOT NULL DEFAULT '';
ALTER TABLE cutover_request_minutes DROP CONSTRAINT cutover_request_minutes_pkey;
ALTER TABLE cutover_request_minutes ADD PRIMARY KEY (minute, group_name, route, stage, served_by);
ALTER TABLE cutover_skip_minutes ADD COLUMN route text NOT NULL DEFAULT '';
ALTER TABLE cutover_skip_minutes DROP CONSTRAINT cutover_skip_minutes_pkey;
ALTER TABLE cutover_skip_minutes ADD PRIMARY KEY (minute, group_name, route, reason);
-- Evidence a route did not get: comparisons the store dropped, shadows that timed out.
CREATE TABLE cutover_lost_minutes (
  minute      timestamptz NOT NULL,
  group_name  text NOT NULL,
  route       text NOT NULL,
  reason      text NOT NULL,
  count       bigint NOT NULL,
  PRIMARY KEY (minute, group_name, route, reason)
);`,
  },
  {
    version: 6,
    name: 'stage changes by datafile, and one history of every stage change',
    // A table for what the datafiles did, beside the override history (kept as it is): a view
    // reads both as one history, so a stage change is written in one place only.
    sql: `
-- A group's split changed by a datafile revision: one row however many replicas apply it.
CREATE TABLE cutover_stage_events (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  at          timestamptz NOT NULL,
  group_name  text NOT NULL,
  revision    text NOT NULL,
  rule        text,
  split_from  text,
  split_to    text NOT NULL,
  UNIQUE (group_name, revision)
);
-- Every stage change of a group: a datafile's split (with its revision) or an override set or
-- cleared (with its actor and reason). from_stage is null for the first split recorded.
CREATE VIEW cutover_stage_history AS
  SELECT at, group_name, 'datafile'::text AS kind, split_from AS from_stage, split_to AS to_stage,
         revision, NULL::text AS actor, COALESCE('rule ' || rule, '') AS reason
    FROM cutover_stage_events
  UNION ALL
  SELECT at, group_name, 'override'::text, COALESCE('forced ' || previous, 'by flag'), COALESCE('forced ' || stage, 'by flag'),
         NULL::text, actor, reason
    FROM cutover_override_history;`,
  },
];

/** Any fixed number: the advisory lock that lets one proxy at a time migrate a shared store. */
const MIGRATION_LOCK = 7_342_001;

/**
 * Applies the migrations not yet applied, in one transaction under an advisory lock: two proxies
 * starting at once against one database take turns, and the second finds nothing left to do.
 */
export async function migrateStore(pool: pg.Pool): Promise<number[]> {
  const client = await pool.connect();
  let failed: Error | undefined;
  try {
    await client.query('BEGIN');
    await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
    await client.query(`CREATE TABLE IF NOT EXISTS cutover_store_migrations (
      version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`);
    const { rows } = await client.query<{ version: number }>('SELECT version FROM cutover_store_migrations');
    const applied = new Set(rows.map((row) => row.version));
    const now: number[] = [];
    for (const migration of MIGRATIONS) {
      if (applied.has(migration.version)) continue;
      await client.query(migration.sql);
      await client.query('INSERT INTO cutover_store_migrations (version, name) VALUES ($1, $2)', [migration.version, migration.name]);
      now.push(migration.version);
    }
    await client.query('COMMIT');
    return now;
  } catch (error) {
    failed = error as Error;
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release(failed);
  }
}
