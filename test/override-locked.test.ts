import assert from 'node:assert/strict';
import pg from 'pg';
import { databaseKinds, openTestDatabase, type TestDatabase } from './support/database.js';
import { ADMIN_TOKEN, startTestProxy, type TestProxy, untilReady } from './support/proxy.js';
import { listen, type TestServer } from './support/servers.js';

// Only on a PostgreSQL server: holding a table lock from another session while the proxy waits
// on it needs two sessions, and embedded Postgres (PGlite) runs one, so there the lock would
// block the proxy's own connection and prove nothing. CI sets CUTOVER_TEST_DATABASE_URL.
for (const kind of databaseKinds().filter((one) => one === 'server')) {
  describe('a kill switch while the store\'s override tables are locked (PostgreSQL server)', function () {
    this.timeout(60_000);
    let legacy: TestServer;
    let database: TestDatabase;
    let s: TestProxy;

    before(async () => {
      database = await openTestDatabase(kind);
      legacy = await listen((_req, res) => res.end('{}'));
      s = await startTestProxy({
        legacyUrl: legacy.url,
        functions: { catalog: { handler: async () => ({ statusCode: 200, body: '{}' }) } },
        groups: { catalog: { flag: 'catalog_flag', function: 'catalog', routes: ['GET /price'] } },
        flags: [{ key: 'catalog_flag', everyoneElse: 'shadow' }],
        extra: { store: { url: database.url, queue: { flushMs: 25 } } },
      });
      await untilReady(s.proxy.adminUrl);
    });

    after(async () => {
      await s?.close();
      await legacy?.close();
      await database?.close();
    });

    const force = (stage: string) => fetch(`${s.proxy.adminUrl}/api/overrides/catalog`, {
      method: 'PUT', headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'x-cutover-actor': 'oncall' }, body: JSON.stringify({ stage, reason: 'incident' }),
    });

    it('answers 503 "nothing was changed" by its own 2 s deadline, and nothing was changed', async () => {
      const holder = new pg.Client({ connectionString: database.url });
      await holder.connect();
      let answer: { status: number; error: string; ms: number };
      try {
        await holder.query('BEGIN');
        await holder.query('LOCK TABLE cutover_overrides, cutover_override_history IN ACCESS EXCLUSIVE MODE');
        const started = performance.now();
        const response = await force('legacy');
        answer = { status: response.status, error: ((await response.json()) as { error: string }).error, ms: performance.now() - started };
      } finally {
        await holder.query('ROLLBACK');
        await holder.end();
      }
      assert.equal(answer.status, 503);
      assert.match(answer.error, /^overrides: the store did not take the change within 2 s \(.*\); nothing was changed$/);
      // A bound far above the 2 s the code sets itself, far below the 20 s it took before.
      assert.ok(answer.ms < 10_000, `answered after ${Math.round(answer.ms)} ms`);

      const reader = new pg.Client({ connectionString: database.url });
      await reader.connect();
      try {
        const { rows: [counts] } = await reader.query<{ overrides: string; history: string }>(
          'SELECT (SELECT count(*) FROM cutover_overrides) AS overrides, (SELECT count(*) FROM cutover_override_history) AS history');
        assert.deepEqual(counts, { overrides: '0', history: '0' }, 'rolled back in the store');
      } finally {
        await reader.end();
      }
      const later = await force('shadow');
      assert.equal(later.status, 200, 'the store takes changes again once the lock is gone');
      assert.equal(((await later.json()) as { previous: string | null }).previous, null, 'the refused change never happened');
    });
  });
}
