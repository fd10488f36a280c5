import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { flagsSet } from '../proxy/commands/flags-set.js';
import { report } from '../proxy/commands/report.js';
import { type StageEvent, StoreDatabase } from '../proxy/store/database.js';
import { openTestDatabase, databaseKinds, type TestDatabase } from './support/database.js';
import { sample } from './support/metrics.js';
import { ADMIN_TOKEN, startTestProxy, type TestProxy, untilReady } from './support/proxy.js';
import { listen } from './support/servers.js';
import { until } from './support/until.js';

const GROUPS = { catalog: { flag: 'catalog_flag', function: 'catalog', routes: ['GET /products'] }, orders: { flag: 'orders_flag', function: 'orders', routes: ['GET /orders'] } };
const FLAGS = [
  { key: 'catalog_flag', rules: [{ key: 'catalog_stage', variation: 'shadow' as const, percent: 100 }], everyoneElse: 'legacy' as const },
  { key: 'orders_flag', everyoneElse: 'legacy' as const },
];

interface GroupsAnswer {
  groups: Array<{
    name: string;
    current: { revision: string; rule: string; split: Array<{ stage: string; percent: number }>; splitText: string; override: { stage: string; actor: string; reason: string } | null; serving: Array<{ stage: string; percent: number }> };
    changes: StageEvent[] | null;
  }>;
}

for (const kind of databaseKinds()) {
  describe(`stage history: every stage change recorded once (${kind === 'embedded' ? 'embedded Postgres' : 'PostgreSQL server'})`, function () {
    this.timeout(60_000);
    let database: TestDatabase;
    let legacy: Awaited<ReturnType<typeof listen>>;
    const proxies: TestProxy[] = [];
    before(async () => {
      database = await openTestDatabase(kind);
      legacy = await listen((_req, res) => res.end('legacy'));
    });
    after(async () => {
      for (const proxy of proxies.splice(0)) await proxy.close();
      await legacy.close();
      await database.close();
    });

    const history = async (proxy: TestProxy, group = 'catalog'): Promise<StageEvent[]> => {
      const response = await fetch(`${proxy.proxy.adminUrl}/api/groups/${group}/history`);
      assert.equal(response.status, 200, await response.clone().text());
      return ((await response.json()) as { events: StageEvent[] }).events;
    };
    const groupsOf = async (proxy: TestProxy) => ((await (await fetch(`${proxy.proxy.adminUrl}/api/groups`)).json()) as GroupsAnswer).groups.find((group) => group.name === 'catalog');
    const set = async (stage: string, share: string, config: string, datafile: string) => {
      const out: string[] = [];
      const code = await flagsSet('catalog', stage, share, { config, datafile }, { stdout: (text) => out.push(text), stderr: (text) => out.push(text) });
      assert.equal(code, 0, out.join(''));
    };
    const revisionOf = async (proxy: TestProxy) => ((await (await fetch(`${proxy.proxy.adminUrl}/readyz`)).json()) as { datafile: { revision: string } | null }).datafile?.revision;

    it('flipping catalog to live 10 % and back shows two events with their revisions, once with two replicas; overrides set and cleared show with actor and reason', async () => {
      const store = { url: database.url, queue: { flushMs: 25 } };
      const one = await startTestProxy({ legacyUrl: legacy.url, functions: {}, groups: GROUPS, flags: FLAGS, extra: { store } });
      proxies.push(one);
      // The second replica watches the same datafile: both apply every revision, the store keeps one event.
      const two = await startTestProxy({ legacyUrl: legacy.url, functions: {}, groups: GROUPS, flags: FLAGS, extra: { store }, flagsConfig: { datafile: one.datafile } });
      proxies.push(two);
      await untilReady(one.proxy.adminUrl);
      await untilReady(two.proxy.adminUrl);
      await until(async () => (await history(one)).length === 1, 'the split at start recorded');

      const config = path.join(path.dirname(one.datafile), 'cutover.json');
      writeFileSync(config, JSON.stringify({ legacy: { url: legacy.url }, flags: { datafile: one.datafile }, groups: GROUPS }));
      await set('live', '10%', config, one.datafile);
      await until(async () => (await revisionOf(one)) === '2' && (await revisionOf(two)) === '2', 'both replicas on revision 2');
      const atTen = await groupsOf(one);
      assert.deepEqual(atTen?.current.split, [{ stage: 'live', percent: 10 }, { stage: 'shadow', percent: 90 }]);
      assert.deepEqual([atTen?.current.splitText, atTen?.current.revision, atTen?.current.rule, atTen?.current.override], ['live 10 % · shadow 90 %', '2', 'catalog_stage', null]);
      assert.equal(sample(await two.metrics(), 'cutover_group_stage_share', { group: 'catalog', stage: 'live' }), 10);
      assert.equal(sample(await two.metrics(), 'cutover_group_stage_share', { group: 'catalog', stage: 'shadow' }), 90);

      await set('shadow', '100%', config, one.datafile);
      await until(async () => (await revisionOf(one)) === '3' && (await revisionOf(two)) === '3', 'both replicas on revision 3');
      await until(async () => (await history(two)).length === 3, 'the flip back recorded');
      assert.deepEqual((await history(two)).map(({ kind: k, from, to, revision, actor, reason }) => ({ kind: k, from, to, revision, actor, reason })), [
        { kind: 'datafile', from: 'live 10 % · shadow 90 %', to: 'shadow 100 %', revision: '3', actor: null, reason: 'rule catalog_stage' },
        { kind: 'datafile', from: 'shadow 100 %', to: 'live 10 % · shadow 90 %', revision: '2', actor: null, reason: 'rule catalog_stage' },
        { kind: 'datafile', from: null, to: 'shadow 100 %', revision: '1', actor: null, reason: 'rule catalog_stage' },
      ]);

      const forced = await fetch(`${one.proxy.adminUrl}/api/overrides/catalog`, { method: 'PUT', headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'x-cutover-actor': 'ana' }, body: JSON.stringify({ stage: 'legacy', reason: 'incident 7' }) });
      assert.equal(forced.status, 200, await forced.text());
      await until(async () => (await groupsOf(two))?.current.override !== null, 'the override seen by the second replica');
      const overridden = await groupsOf(two);
      assert.deepEqual([overridden?.current.override?.stage, overridden?.current.override?.actor, overridden?.current.override?.reason], ['legacy', 'admin token (ana)', 'incident 7']);
      assert.deepEqual(overridden?.current.serving, [{ stage: 'legacy', percent: 100 }], 'the override wins over the split');
      assert.equal(overridden?.current.splitText, 'shadow 100 %', 'the split is still shown');
      assert.equal(sample(await two.metrics(), 'cutover_group_stage_share', { group: 'catalog', stage: 'legacy' }), 100);
      assert.equal(sample(await two.metrics(), 'cutover_group_stage_share', { group: 'catalog', stage: 'shadow' }), 0);
      const cleared = await fetch(`${two.proxy.adminUrl}/api/overrides/catalog?reason=resolved`, { method: 'DELETE', headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
      assert.equal(cleared.status, 200, await cleared.text());

      const events = await history(one);
      assert.deepEqual(events.slice(0, 2).map(({ kind: k, from, to, revision, actor, reason }) => ({ kind: k, from, to, revision, actor, reason })), [
        { kind: 'override', from: 'forced legacy', to: 'by flag', revision: null, actor: 'admin token', reason: 'resolved' },
        { kind: 'override', from: 'by flag', to: 'forced legacy', revision: null, actor: 'admin token (ana)', reason: 'incident 7' },
      ]);
      assert.equal(events.length, 5, JSON.stringify(events));
      // Three revisions applied by two replicas, none changing orders' split: recorded once, at start.
      assert.deepEqual((await history(one, 'orders')).map(({ from, to, revision }) => ({ from, to, revision })), [{ from: null, to: 'legacy 100 %', revision: '1' }]);
      assert.deepEqual((await groupsOf(one))?.changes?.map((event) => event.kind), ['override', 'override', 'datafile', 'datafile', 'datafile']);
    });

    it('cutover report shows the stage now, the override that wins over it, the guard\'s last trip with its figures, and the latest changes', async () => {
      const [one] = proxies;
      assert.ok(one);
      // The guard's rollback as the guard writes it (its conditional write to the shared override).
      const store = await StoreDatabase.open(database.url, () => undefined);
      try {
        const written = await store.guardOverride({ group: 'catalog', stage: 'shadow', reason: 'guard: new 5xx 4.1 % vs legacy 0.2 % over 312 requests', actor: 'guard' }, 2_000);
        assert.ok(written);
      } finally {
        await store.close();
      }
      await until(async () => (await groupsOf(one))?.current.override?.actor === 'guard', 'the guard\'s override read');
      let stdout = '';
      const code = await report({ admin: one.proxy.adminUrl, group: 'catalog' }, { stdout: (text) => { stdout += text; }, stderr: () => undefined, fetch, env: {}, stderrIsTTY: false });
      assert.equal(code, 1, 'no evidence: not ready');
      const lines = stdout.split('\n');
      const start = lines.findIndex((line) => line.startsWith('stage of catalog: '));
      assert.match(lines[start] ?? '', /^stage of catalog: override shadow \(wins over the split shadow 100 %\) · rule catalog_stage · datafile revision 3, applied \S+$/);
      assert.match(lines[start + 1] ?? '', /^ {2}override {5}shadow, set by guard: guard: new 5xx 4\.1 % vs legacy 0\.2 % over 312 requests at \S+$/);
      assert.match(lines[start + 2] ?? '', /^ {2}guard {8}last trip \S+: by flag → forced shadow · guard: new 5xx 4\.1 % vs legacy 0\.2 % over 312 requests$/);
      assert.equal(lines[start + 3], '  changes      newest first');
      assert.deepEqual(lines.slice(start + 4, start + 10).map((line) => line.replace(/^ {4}\S+ {2}/, '    <at>  ')), [
        '    <at>  by flag → forced shadow  (by guard: guard: new 5xx 4.1 % vs legacy 0.2 % over 312 requests)',
        '    <at>  forced legacy → by flag  (by admin token: resolved)',
        '    <at>  by flag → forced legacy  (by admin token (ana): incident 7)',
        '    <at>  live 10 % · shadow 90 % → shadow 100 %  (datafile revision 3: rule catalog_stage)',
        '    <at>  shadow 100 % → live 10 % · shadow 90 %  (datafile revision 2: rule catalog_stage)',
        '',
      ]);
    });
  });
}
