import assert from 'node:assert/strict';
import { identifyCaller } from '../proxy/decision/caller.js';
import { startTestProxy } from './support/proxy.js';
import { listen } from './support/servers.js';

const config = { header: 'x-customer-id', cookie: 'cutover_caller' };

describe('the caller key', function () {
  this.timeout(20_000);

  it('comes from the configured header first, then the cookie', () => {
    assert.deepEqual(identifyCaller({ 'x-customer-id': 'cust-1', cookie: 'cutover_caller=browser-9' }, config), { id: 'cust-1', setCookie: undefined });
    assert.deepEqual(identifyCaller({ cookie: 'theme=dark; cutover_caller=browser-9' }, config), { id: 'browser-9', setCookie: undefined });
  });

  it('is a new random id in a long-lived cookie when there is none, or when it is malformed', () => {
    for (const headers of [{}, { 'x-customer-id': 'has spaces; and=semicolons' }]) {
      const caller = identifyCaller(headers, config);
      assert.match(caller.id, /^[0-9a-f-]{36}$/);
      assert.equal(caller.setCookie, `cutover_caller=${caller.id}; Path=/; Max-Age=31536000; HttpOnly; SameSite=Lax`);
    }
  });

  it('keeps a browser on one side: the cookie it is given brings it back to the same stage on every route of the group', async () => {
    const legacy = await listen((_req, res) => res.end('legacy'));
    const stack = await startTestProxy({
      legacyUrl: legacy.url,
      functions: { catalog: { handler: async () => ({ statusCode: 200, body: 'new' }) } },
      groups: { catalog: { flag: 'catalog_flag', function: 'catalog', routes: ['GET /products', 'GET /categories'] } },
      flags: [{ key: 'catalog_flag', rules: [{ key: 'half', variation: 'live', percent: 50 }], everyoneElse: 'legacy' }],
    });
    try {
      const sides = new Set<string>();
      for (let browser = 0; browser < 20; browser++) {
        const first = await fetch(`${stack.proxy.trafficUrl}/products`);
        const cookie = first.headers.getSetCookie()[0]?.split(';')[0] ?? '';
        assert.match(cookie, /^cutover_caller=/);
        const side = await first.text();
        sides.add(side);
        for (const path of ['/products', '/categories', '/products']) {
          const again = await fetch(`${stack.proxy.trafficUrl}${path}`, { headers: { cookie } });
          assert.equal(again.headers.getSetCookie().length, 0, 'no new cookie once it has one');
          assert.equal(await again.text(), side);
        }
      }
      assert.deepEqual([...sides].sort(), ['legacy', 'new'], 'a 50 % rule puts some browsers on each side');
    } finally {
      await stack.close();
      await legacy.close();
    }
  });
});
