import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import pg from 'pg';
import { writeDatafile } from './support/datafile.js';
import { databaseKinds, openTestDatabase, type TestDatabase } from './support/database.js';
import { interpolateSql, variablesOf } from './support/grafana.js';
import { ADMIN_TOKEN, startTestProxy, type TestProxy, untilReady } from './support/proxy.js';
import { listen, type TestServer } from './support/servers.js';
import { until } from './support/until.js';

/**
 * The group dashboard's annotations (stage changes) run against the store's real schema, as the
 * SQL panels are (test/dashboards-prometheus.test.ts): a proxy flips catalog to live 10 % and
 * back, and an override is set; the query, read from the committed JSON and interpolated as
 * Grafana does, returns one annotation per change with the columns Grafana reads.
 */
const GROUP_DASHBOARD = JSON.parse(readFileSync(new URL('../dashboards/cutover-group.json', import.meta.url), 'utf8')) as { annotations: { list: Array<{ name: string; datasource: { type: string }; target: { rawSql: string } }> } };
const split = (variation: 'shadow' | 'live', percent: number) => [{ key: 'catalog_flag', rules: [{ key: 'catalog_stage', variation, percent }], everyoneElse: 'shadow' as const }];

for (const kind of databaseKinds()) {
  describe(`the group dashboard's stage-change annotations against the store (${kind === 'embedded' ? 'embedded Postgres' : 'PostgreSQL server'})`, function () {
    this.timeout(60_000);
    let database: TestDatabase | undefined;
    let legacy: TestServer | undefined;
    let s: TestProxy | undefined;
    after(async () => {
      await s?.close();
      await legacy?.close();
      await database?.close();
    });

    it('annotates each stage change of the group once, with its revision or its actor and reason, tagged by kind', async () => {
      database = await openTestDatabase(kind);
      legacy = await listen((_req, res) => res.end('{}'));
      const groups = { catalog: { flag: 'catalog_flag', function: 'catalog', routes: ['GET /products'] } };
      s = await startTestProxy({ legacyUrl: legacy.url, functions: {}, groups, flags: split('shadow', 100), extra: { store: { url: database.url } } });
      const admin = s.proxy.adminUrl;
      await untilReady(admin);
      const changes = async () => ((await (await fetch(`${admin}/api/groups/catalog/history`)).json()) as { events: unknown[] }).events.length;
      await until(async () => (await changes()) === 1, 'the split at start recorded');
      writeDatafile(s.datafile, split('live', 10), 2);
      await until(async () => (await changes()) === 2, 'revision 2 recorded');
      writeDatafile(s.datafile, split('shadow', 100), 3);
      await until(async () => (await changes()) === 3, 'revision 3 recorded');
      const forced = await fetch(`${admin}/api/overrides/catalog`, { method: 'PUT', headers: { authorization: `Bearer ${ADMIN_TOKEN}` }, body: JSON.stringify({ stage: 'legacy', reason: 'incident 7' }) });
      assert.equal(forced.status, 200);

      const annotations = GROUP_DASHBOARD.annotations.list.filter((annotation) => annotation.datasource.type === 'grafana-postgresql-datasource');
      assert.deepEqual(annotations.map((annotation) => annotation.name), ['Stage changes']);
      const [annotation] = annotations;
      const sql = interpolateSql(annotation!.target.rawSql, { group: ['catalog'] }, variablesOf(GROUP_DASHBOARD), { from: Date.now() / 1000 - 3_600, to: Date.now() / 1000 + 60, rateInterval: '1m' });
      const client = new pg.Client({ connectionString: database.url });
      await client.connect();
      try {
        const answer = await client.query<{ time: Date; text: string; tags: string }>(sql);
        assert.deepEqual(answer.fields.map((field) => field.name), ['time', 'text', 'tags']);
        assert.deepEqual(answer.rows.map((row) => [row.text, row.tags]), [
          ['— → shadow 100 % (datafile revision 1: rule catalog_stage)', 'datafile'],
          ['shadow 100 % → live 10 % · shadow 90 % (datafile revision 2: rule catalog_stage)', 'datafile'],
          ['live 10 % · shadow 90 % → shadow 100 % (datafile revision 3: rule catalog_stage)', 'datafile'],
          ['by flag → forced legacy (by admin token: incident 7)', 'override'],
        ]);
        assert.ok(answer.rows.every((row) => row.time instanceof Date && row.time.getTime() <= Date.now()));
        const otherGroup = interpolateSql(annotation!.target.rawSql, { group: ['orders'] }, variablesOf(GROUP_DASHBOARD), { from: Date.now() / 1000 - 3_600, to: Date.now() / 1000 + 60, rateInterval: '1m' });
        assert.equal((await client.query(otherGroup)).rowCount, 0, 'another group\'s dashboard shows none of them');
      } finally {
        await client.end();
      }
    });
  });
}
