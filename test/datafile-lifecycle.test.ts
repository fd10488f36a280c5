import assert from 'node:assert/strict';
import type { ServerResponse } from 'node:http';
import type { Decision } from '../proxy/decision/flags.js';
import { buildDatafile } from './support/datafile.js';
import { sample } from './support/metrics.js';
import { startTestProxy, type TestProxy } from './support/proxy.js';
import { listen, type TestServer } from './support/servers.js';
import { until } from './support/until.js';

/**
 * An Optimizely CDN stand-in that answers each datafile once and holds every later poll of that
 * same datafile until released: whatever the proxy shows while a poll is held, it showed within
 * one poll of the datafile's arrival.
 */
async function heldCdn(first: string) {
  let body = first;
  let answered = 0;
  const held: ServerResponse[] = [];
  const answer = (res: ServerResponse, text: string) => res.writeHead(200, { 'content-type': 'application/json' }).end(text);
  const server: TestServer = await listen((_req, res) => {
    if (answered === 0) {
      answered += 1;
      return answer(res, body);
    }
    held.push(res);
  });
  const release = () => {
    for (const res of held.splice(0)) {
      answered += 1;
      answer(res, body);
    }
  };
  return {
    url: `${server.url}/datafiles/%s.json`,
    /** Serves `next` from the next poll on (the poll held now gets it). */
    serve(next: string) {
      body = next;
      answered = 0;
      const waiting = held.shift();
      if (waiting) {
        answered = 1;
        answer(waiting, body);
      }
    },
    /** How many polls the datafile served now has answered. */
    answers: () => answered,
    /** Whether a poll is held. */
    holding: () => held.length > 0,
    release,
    async close() {
      release();
      await server.close();
    },
  };
}

const CATALOG = (stage: 'shadow' | 'live', percent: number) => [{ key: 'catalog_flag', rules: [{ key: 'catalog_stage', variation: stage, percent }], everyoneElse: 'shadow' as const }];

describe('a flip acknowledged: the polled datafile applied, or refused, is seen within one poll', function () {
  this.timeout(30_000);
  let cdn: Awaited<ReturnType<typeof heldCdn>>;
  let s: TestProxy;
  let legacy: TestServer;
  before(async () => {
    legacy = await listen((_req, res) => res.end('legacy'));
    cdn = await heldCdn(JSON.stringify(buildDatafile(CATALOG('shadow', 100), 1)));
    s = await startTestProxy({
      legacyUrl: legacy.url, functions: {}, flags: [],
      groups: { catalog: { flag: 'catalog_flag', function: 'catalog', routes: ['GET /products'] } },
      flagsConfig: { datafile: undefined, watchIntervalMs: undefined, sdkKey: 'sdk-flip', urlTemplate: cdn.url, pollIntervalMs: 50 },
    });
  });
  after(async () => {
    await s?.close();
    await cdn?.close();
    await legacy?.close();
  });

  type Readyz = { status: string; reasons?: string[]; datafile: { revision: string; appliedAt: string; ageSeconds: number } | null };
  const readyz = async () => (await (await fetch(`${s.proxy.adminUrl}/readyz`)).json()) as Readyz;
  const logged = () => s.logs.map((line) => JSON.parse(line) as { level: number; msg: string; revision?: string; changed?: Record<string, string>; reason?: string });
  const decide = async (caller: string) => (await (await fetch(`${s.proxy.adminUrl}/api/decide?group=catalog&caller=${caller}`)).json()) as Decision;

  it('a new revision is logged once with the split it changed, and is on /readyz and /metrics while the next poll is held', async () => {
    await until(async () => (await readyz()).datafile?.revision === '1', 'revision 1 applied');
    await until(() => cdn.holding(), 'the poll after revision 1 held');
    const before = Date.now();
    cdn.serve(JSON.stringify(buildDatafile(CATALOG('live', 10), 2)));
    await until(async () => (await readyz()).datafile?.revision === '2', 'revision 2 on /readyz');
    assert.equal(cdn.answers(), 1, 'seen before a second poll of revision 2 was answered');
    const metrics = await s.metrics();
    assert.equal(sample(metrics, 'cutover_datafile_revision', {}), 2);
    const appliedAt = sample(metrics, 'cutover_datafile_applied_timestamp_seconds', {});
    assert.ok(appliedAt * 1000 >= before - 1 && appliedAt * 1000 <= Date.now(), `applied at ${appliedAt}`);
    assert.equal(sample(metrics, 'cutover_group_stage_share', { group: 'catalog', stage: 'live' }), 10);
    // More polls of the same revision are no news: still one line.
    cdn.release();
    await until(() => cdn.holding(), 'revision 2 polled again');
    const lines = logged().filter((line) => line.revision === '2');
    assert.equal(lines.length, 1, JSON.stringify(lines));
    assert.equal(lines[0]?.level, 30);
    assert.equal(lines[0]?.msg, 'flags: datafile revision 2 applied; split changed: catalog live 10 % · shadow 90 %');
    assert.deepEqual(lines[0]?.changed, { catalog: 'live 10 % · shadow 90 %' });
  });

  it('a truncated datafile is on /readyz (degraded), in the log (error) and counted while the next poll is held, and decisions keep following the last good one', async () => {
    const callers = Array.from({ length: 200 }, (_, index) => `caller-${index}`);
    const before = await Promise.all(callers.map(async (caller) => (await decide(caller)).stage));
    assert.ok(before.includes('live') && before.includes('shadow'), 'revision 2 splits the callers');
    await until(() => cdn.holding(), 'a poll of revision 2 held');
    cdn.serve(JSON.stringify(buildDatafile(CATALOG('shadow', 100), 3)).slice(0, 200));
    await until(async () => (await readyz()).status === 'degraded', '/readyz degraded');
    assert.equal(cdn.answers(), 1, 'seen before a second poll of the truncated datafile was answered');
    const ready = await readyz();
    assert.equal(ready.datafile?.revision, '2');
    assert.match(ready.reasons?.join('\n') ?? '', /^flags: the datafile of SDK key sdk-flip: the Optimizely datafile is not JSON: .*; revision 2 \(applied .*\) keeps deciding$/m);
    assert.equal(sample(await s.metrics(), 'cutover_datafile_errors_total', { reason: 'invalid_json' }), 1);
    const errors = logged().filter((line) => line.level === 50);
    assert.equal(errors.length, 1, JSON.stringify(errors));
    assert.equal(errors[0]?.reason, 'invalid_json');
    assert.match(errors[0]?.msg ?? '', /the datafile applied before \(revision 2, at .*\) keeps deciding$/);
    assert.deepEqual(await Promise.all(callers.map(async (caller) => (await decide(caller)).stage)), before);
    // Polled again and again: counted and logged once.
    cdn.release();
    await until(() => cdn.holding(), 'the truncated datafile polled again');
    assert.equal(sample(await s.metrics(), 'cutover_datafile_errors_total', { reason: 'invalid_json' }), 1);
    assert.equal(logged().filter((line) => line.level === 50).length, 1);
    // A good datafile ends it.
    cdn.serve(JSON.stringify(buildDatafile(CATALOG('live', 20), 4)));
    await until(async () => (await readyz()).status === 'ready', '/readyz ready again');
    assert.equal((await readyz()).datafile?.revision, '4');
  });
});
