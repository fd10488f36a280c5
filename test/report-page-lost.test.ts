import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { type Browser, chromium } from 'playwright-core';
import { openTestDatabase, type TestDatabase } from './support/database.js';
import { startTestProxy, type TestProxy } from './support/proxy.js';
import { listen, type TestServer } from './support/servers.js';
import { until } from './support/until.js';

/**
 * Issue 23: after comparisons were dropped by the store, a group page said both "NOT READY,
 * mismatch rate …" and "No differing fields: every compared response matched". Here the store's
 * queue holds no record at all (store.queue.maxBytes: 1), so every mismatch is counted and none
 * kept: the page says that evidence was lost, next to what was kept.
 */
const CHROMIUM = '/usr/bin/chromium';

describe('report page with evidence lost (real browser, real proxy and store)', function () {
  this.timeout(120_000);
  let database: TestDatabase | undefined;
  let legacy: TestServer | undefined;
  let stack: TestProxy | undefined;
  let browser: Browser | undefined;

  before(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: as root, apt-get install chromium`);
    database = await openTestDatabase();
    const product = (price: number) => JSON.stringify({ data: { type: 'products', id: '2', attributes: { price } } });
    legacy = await listen((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/vnd.api+json' });
      res.end(product(8.99));
    });
    stack = await startTestProxy({
      legacyUrl: legacy.url,
      functions: { catalog: { handler: async (_event: APIGatewayProxyEventV2) => ({ statusCode: 200, headers: { 'content-type': 'application/vnd.api+json' }, body: product(9.99) }) } },
      groups: { catalog: { flag: 'catalog_flag', function: 'catalog', routes: ['GET /products/{id}'] } },
      flags: [{ key: 'catalog_flag', everyoneElse: 'shadow' }],
      extra: { store: { url: database.url, queue: { flushMs: 25, maxBytes: 1 }, sample: { match: 0 } } },
    });
    const groups = async () => ((await (await fetch(`${stack!.proxy.adminUrl}/api/groups`)).json()) as { store: string; groups: Array<{ comparisons?: { mismatch: number }; lostEvidence?: Record<string, number> }> });
    await until(async () => (await groups()).store === 'up', 'the diff store to open', 20_000);
    for (let sent = 0; sent < 2; sent += 1) {
      const response: Response = await fetch(`${stack.proxy.trafficUrl}/products/2`);
      assert.equal(response.status, 200);
      await response.arrayBuffer();
    }
    await until(async () => {
      const [catalog] = (await groups()).groups;
      return catalog?.comparisons?.mismatch === 2 && catalog.lostEvidence?.queue_full === 2;
    }, 'two mismatches counted, both dropped', 20_000);
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'] });
  });

  after(async () => {
    await browser?.close();
    await stack?.close();
    await legacy?.close();
    await database?.close();
  });

  it('shows the evidence lost beside the mismatch rate, and never "every compared response matched"', async () => {
    const page = await browser!.newPage();
    await page.goto(`${stack!.proxy.adminUrl}/#/group?group=catalog`);
    await page.getByTestId('no-fields').waitFor();
    assert.equal(await page.getByTestId('no-fields').textContent(), '2 differing comparisons counted, none stored: evidence lost (queue full 2).');
    assert.equal(await page.getByTestId('lost-evidence').textContent(), 'queue full 2');
    assert.deepEqual(await page.locator('[data-testid="readiness-reason"][data-check="lost_evidence"]').allTextContents(),
      ['failed: GET /products/{id}: evidence lost for 2 of 2 comparisons, 100 % (≤ 5 %): queue_full 2'].map((text) => `✗${text}`));
    assert.equal(await page.getByTestId('readiness').getByTestId('verdict').textContent(), 'insufficient data');
  });
});
