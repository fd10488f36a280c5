import assert from 'node:assert/strict';
import { switchOff } from './support/datafile.js';
import { sample } from './support/metrics.js';
import { startTestProxy, type TestProxy } from './support/proxy.js';
import { listen } from './support/servers.js';
import { until } from './support/until.js';

interface Current { revision: string; split: Array<{ stage: string; percent: number }> }

/**
 * A variation that is off serves legacy, whatever its key says: the flags decide so, and the stage
 * the proxy shows (`current` in /api/groups, the page, `cutover report`) must say the same, or an
 * operator reads `shadow 100 %` for a group nobody's requests are compared in.
 */
describe('the split of a rule whose variation is off', function () {
  this.timeout(30_000);
  let legacy: Awaited<ReturnType<typeof listen>>;
  let proxy: TestProxy | undefined;
  before(async () => { legacy = await listen((_req, res) => res.end('legacy')); });
  after(async () => {
    await proxy?.close();
    await legacy.close();
  });

  it('shows legacy for the callers the off variation gets, as the requests are served', async () => {
    proxy = await startTestProxy({
      legacyUrl: legacy.url, functions: {},
      groups: { catalog: { flag: 'catalog_flag', function: 'catalog', routes: ['GET /products'] } },
      flags: [{ key: 'catalog_flag', rules: [{ key: 'catalog_stage', variation: 'shadow', percent: 100 }], everyoneElse: 'legacy' }],
    });
    const current = async () => ((await (await fetch(`${proxy?.proxy.adminUrl}/api/groups`)).json()) as { groups: Array<{ name: string; current: Current }> })
      .groups.find((group) => group.name === 'catalog')?.current;
    assert.deepEqual((await current())?.split, [{ stage: 'shadow', percent: 100 }], 'before: the rule serves shadow');

    switchOff(proxy.datafile, 'shadow', '2');
    await until(async () => (await current())?.revision === '2', 'revision 2 applied');

    assert.deepEqual((await current())?.split, [{ stage: 'legacy', percent: 100 }]);
    await (await fetch(`${proxy.proxy.trafficUrl}/products`, { headers: { 'x-customer-id': 'caller-1' } })).arrayBuffer();
    assert.equal(sample(await proxy.metrics(), 'cutover_flag_decisions_total', { group: 'catalog', stage: 'legacy' }), 1, 'the request was decided legacy, as the split says');
  });
});
