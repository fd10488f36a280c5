import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { type Browser, chromium, type Page } from 'playwright-core';
import { openTestDatabase, type TestDatabase } from './support/database.js';
import { writeDatafile } from './support/datafile.js';
import { ADMIN_TOKEN, startTestProxy, type TestProxy, untilReady } from './support/proxy.js';
import { listen, type TestServer } from './support/servers.js';
import { until } from './support/until.js';

/**
 * Issue 23: the report page never showed a group's current stage ("stage by flag", and a
 * 24-hour mix of stages). Here catalog flips to live 10 % and back, then an override forces it:
 * the page shows the split now with its revision, the override winning over it with who set it
 * and why, and the timeline of every change, newest first.
 */
const CHROMIUM = '/usr/bin/chromium';
const CATALOG = { flag: 'catalog_flag', function: 'catalog', routes: ['GET /products/{id}'] };
const split = (variation: 'shadow' | 'live', percent: number) => [{ key: 'catalog_flag', rules: [{ key: 'catalog_stage', variation, percent }], everyoneElse: 'shadow' as const }];

describe('report page: the stage now and its timeline (real browser, real proxy and store)', function () {
  this.timeout(120_000);
  let database: TestDatabase | undefined;
  let legacy: TestServer | undefined;
  let stack: TestProxy | undefined;
  let browser: Browser | undefined;
  let page: Page;

  const revision = async () => ((await (await fetch(`${stack!.proxy.adminUrl}/readyz`)).json()) as { datafile: { revision: string } | null }).datafile?.revision;
  const changes = async () => ((await (await fetch(`${stack!.proxy.adminUrl}/api/groups/catalog/history`)).json()) as { events: unknown[] }).events.length;

  before(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: as root, apt-get install chromium`);
    database = await openTestDatabase();
    legacy = await listen((_req, res) => res.end('{}'));
    stack = await startTestProxy({ legacyUrl: legacy.url, functions: {}, groups: { catalog: CATALOG }, flags: split('shadow', 100), extra: { store: { url: database.url, queue: { flushMs: 25 } } } });
    await untilReady(stack.proxy.adminUrl);
    await until(async () => (await changes()) === 1, 'the split at start recorded');
    for (const [next, file] of [[2, split('live', 10)], [3, split('shadow', 100)]] as const) {
      writeDatafile(stack.datafile, [...file], next);
      await until(async () => (await revision()) === String(next) && (await changes()) === next, `revision ${next} applied and recorded`);
    }
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'] });
    page = await browser.newPage();
  });

  after(async () => {
    await browser?.close();
    await stack?.close();
    await legacy?.close();
    await database?.close();
  });

  it('shows the split now, its rule and revision, and the flip to live 10 % and back as two changes with their revisions', async () => {
    await page.goto(`${stack!.proxy.adminUrl}/#/group?group=catalog`);
    await page.getByTestId('timeline').waitFor();
    assert.equal(await page.getByTestId('stage').textContent(), 'shadow 100 %');
    assert.equal(await page.getByTestId('split').textContent(), 'shadow 100 %');
    assert.match(await page.getByTestId('revision').textContent() ?? '', /^revision 3, applied /);
    assert.equal(await page.getByTestId('split-overridden').count(), 0);
    assert.deepEqual(await page.getByTestId('stage-move').allTextContents(), ['live 10 % · shadow 90 % → shadow 100 %', 'shadow 100 % → live 10 % · shadow 90 %', '— → shadow 100 %']);
    assert.deepEqual(await page.getByTestId('stage-who').allTextContents(), ['datafile revision 3', 'datafile revision 2', 'datafile revision 1']);
  });

  it('shows an override winning over the split, with its actor and reason, and in the timeline', async () => {
    const forced = await fetch(`${stack!.proxy.adminUrl}/api/overrides/catalog`, { method: 'PUT', headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'x-cutover-actor': 'ana' }, body: JSON.stringify({ stage: 'legacy', reason: 'incident 7' }) });
    assert.equal(forced.status, 200, await forced.text());
    await page.goto(`${stack!.proxy.adminUrl}/#/`);
    await page.goto(`${stack!.proxy.adminUrl}/#/group?group=catalog`);
    await page.getByTestId('override').waitFor();
    assert.equal(await page.getByTestId('stage').textContent(), 'override: legacy');
    assert.equal(await page.getByTestId('split').textContent(), 'shadow 100 % (not served: the override to legacy wins)');
    assert.match(await page.getByTestId('override').textContent() ?? '', /^legacy, set by admin token \(ana\): incident 7 \(/);
    const newest = page.getByTestId('stage-change').first();
    assert.equal(await newest.getAttribute('data-kind'), 'override');
    assert.equal(await newest.getByTestId('stage-move').textContent(), 'by flag → forced legacy');
    assert.equal(await newest.getByTestId('stage-who').textContent(), 'by admin token (ana)');
    assert.equal(await newest.getByTestId('stage-why').textContent(), ' · incident 7');
  });
});
