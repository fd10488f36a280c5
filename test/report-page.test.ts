import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { openTestDatabase, type TestDatabase } from './support/database.js';
import { sampleAll } from './support/metrics.js';
import { startTestProxy, type TestProxy } from './support/proxy.js';
import { listen, type TestServer } from './support/servers.js';
import { until } from './support/until.js';

/**
 * The report page of the admin port in a real browser (Debian's Chromium, driven by
 * playwright-core), against a real proxy: a legacy server and a Lambda function that differ on one
 * field of one route, a real diff store, and real requests through the traffic port.
 */

const CHROMIUM = '/usr/bin/chromium';
const SCREENSHOT = fileURLToPath(new URL('./artifacts/report-page.png', import.meta.url));
const PRICE = '/data/attributes/price';
const PRODUCTS = 'GET /products/{id}';
const CATEGORIES = 'GET /categories/{id}';

interface DiffRow { id: string; path: string; verdict: string; fields: string[] }

// The two sides agree on everything but the price of every product other than 1, and on a
// per-response request id that the group's rules ignore.
let served = 0;
const resource = (type: string, id: string, attributes: Record<string, unknown>, side: string) => JSON.stringify({
  data: { type, id, attributes },
  meta: { requestId: `${side}-${++served}` },
});
const product = (id: string, side: 'legacy' | 'new') => resource('products', id, { name: 'Rope Tug Toy', price: side === 'new' && id !== '1' ? 9.99 : 8.99, stock: 12 }, side);
const category = (id: string, side: 'legacy' | 'new') => resource('categories', id, { name: 'Toys' }, side);

describe('report page (real browser, real proxy and store)', function () {
  this.timeout(120_000);
  let database: TestDatabase | undefined;
  let legacy: TestServer | undefined;
  let stack: TestProxy | undefined;
  let browser: Browser | undefined;
  let context: BrowserContext | undefined;
  let page: Page;
  const problems: string[] = [];
  const foreign: string[] = [];

  const admin = async <T>(pathAndQuery: string): Promise<T> => {
    const response = await fetch(`${stack!.proxy.adminUrl}${pathAndQuery}`);
    const body = await response.json() as T & { error?: string };
    if (!response.ok) throw new Error(`${pathAndQuery}: ${response.status} ${body.error}`);
    return body;
  };

  before(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: as root, apt-get install chromium`);
    database = await openTestDatabase();
    legacy = await listen((req, res) => {
      const [, kind, id = '0'] = /^\/(products|categories)\/(\w+)/.exec(req.url ?? '') ?? [];
      res.writeHead(kind ? 200 : 404, { 'content-type': 'application/vnd.api+json' });
      res.end(kind === 'categories' ? category(id, 'legacy') : kind ? product(id, 'legacy') : '{"errors":[]}');
    });
    stack = await startTestProxy({
      legacyUrl: legacy.url,
      functions: {
        catalog: {
          handler: async (event: APIGatewayProxyEventV2) => {
            const id = event.pathParameters?.id ?? '0';
            const body = event.rawPath.startsWith('/categories/') ? category(id, 'new') : product(id, 'new');
            return { statusCode: 200, headers: { 'content-type': 'application/vnd.api+json' }, body };
          },
        },
      },
      groups: { catalog: { flag: 'catalog_flag', function: 'catalog', routes: [PRODUCTS, CATEGORIES], rules: { ignore: ['/meta/requestId'] } } },
      flags: [{ key: 'catalog_flag', everyoneElse: 'shadow' }],
      // No sampled matches: the page's lists hold exactly the two mismatches (1 % of matches are kept by default).
      extra: { store: { url: database.url, queue: { flushMs: 50 }, sample: { match: 0 } } },
    });
    // Comparisons made before the store is open are dropped (counted), by design: traffic never waits for it.
    await until(async () => (await admin<{ store?: string }>('/api/groups')).store === 'up', 'the diff store to open', 20_000);
    const compared = async () => sampleAll(await stack!.metrics(), 'cutover_comparisons_total', { group: 'catalog' });
    for (const [index, target] of ['/products/1', '/products/2', '/categories/7', '/products/3?color=red'].entries()) {
      const response: Response = await fetch(`${stack.proxy.trafficUrl}${target}`, { headers: { 'x-customer-id': 'reviewer-1' } });
      assert.equal(response.status, 200, target);
      await response.arrayBuffer();
      // One comparison at a time, so that the store's order (newest first) is the order sent.
      await until(async () => (await compared()) === index + 1, `the comparison of ${target}`);
    }
    await until(async () => (await admin<{ diffs: DiffRow[] }>('/api/diffs?group=catalog')).diffs.length === 2, 'the two mismatches in /api/diffs', 20_000);
    await until(async () => {
      const { groups } = await admin<{ groups: Array<{ name: string; comparisons?: { total: number } }> }>('/api/groups');
      return groups.find((group) => group.name === 'catalog')?.comparisons?.total === 4;
    }, 'four comparisons counted in /api/groups', 20_000);

    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: stack.proxy.adminUrl });
    page = await context.newPage();
    page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
    page.on('console', (message) => { if (message.type() === 'error') problems.push(`console: ${message.text()}`); });
    page.on('request', (request) => { if (!request.url().startsWith(`${stack!.proxy.adminUrl}/`)) foreign.push(request.url()); });
  });

  after(async () => {
    // Each is closed even when one before it fails; the first failure is reported.
    const closers = [() => context?.close(), () => browser?.close(), () => stack?.close(), () => legacy?.close(), () => database?.close()];
    let first: unknown;
    for (const close of closers) {
      try {
        await close();
      } catch (error) {
        first ??= error;
      }
    }
    if (first) throw first;
  });

  it('serves the page and its assets from the admin port, typed and cached', async () => {
    const index = await fetch(`${stack!.proxy.adminUrl}/`);
    assert.equal(index.status, 200);
    assert.equal(index.headers.get('content-type'), 'text/html; charset=utf-8');
    assert.equal(index.headers.get('cache-control'), 'no-cache');
    assert.match(index.headers.get('content-security-policy') ?? '', /default-src 'none'; script-src 'self' 'sha256-/);
    const html = await index.text();
    const map = /<script type="importmap">(.*?)<\/script>/s.exec(html);
    assert.ok(map, 'an inline import map');
    const imports = (JSON.parse(map[1]!) as { imports: Record<string, string> }).imports;
    const vendor = imports['jsondiffpatch/formatters/html']!;
    assert.match(vendor, /^\/assets\/vendor\/jsondiffpatch@\d+\.\d+\.\d+\/formatters\/html\.js$/);

    const revalidated = await fetch(`${stack!.proxy.adminUrl}/`, {
      // fetch adds "cache-control: no-cache" to a conditional request unless told otherwise, and that is never answered 304.
      headers: { 'if-none-match': index.headers.get('etag')!, 'cache-control': 'max-age=0' },
    });
    assert.equal(revalidated.status, 304);
    const app = await fetch(`${stack!.proxy.adminUrl}/assets/app.js`);
    assert.equal(app.headers.get('content-type'), 'text/javascript; charset=utf-8');
    assert.equal(app.headers.get('cache-control'), 'no-cache');
    const css = await fetch(`${stack!.proxy.adminUrl}/assets/app.css`);
    assert.equal(css.headers.get('content-type'), 'text/css; charset=utf-8');
    const library = await fetch(`${stack!.proxy.adminUrl}${vendor}`);
    assert.equal(library.status, 200);
    assert.equal(library.headers.get('content-type'), 'text/javascript; charset=utf-8');
    assert.equal(library.headers.get('cache-control'), 'public, max-age=31536000, immutable');
    const typings = await fetch(`${stack!.proxy.adminUrl}${vendor.replace(/\.js$/, '.d.ts')}`);
    assert.equal(typings.status, 404, 'only .js and .css leave node_modules');
    const escape = await fetch(`${stack!.proxy.adminUrl}/assets/vendor/jsondiffpatch@0.0.0/index.js`);
    assert.equal(escape.status, 404, 'another version is not served');
  });

  it('walks group → field → sample, showing the evidence of the price mismatch', async () => {
    const { diffs } = await admin<{ diffs: DiffRow[] }>(`/api/diffs?group=catalog&route=${encodeURIComponent(PRODUCTS)}&field=${encodeURIComponent(PRICE)}`);
    assert.deepEqual(diffs.map((diff) => diff.path), ['/products/3', '/products/2'], 'newest first');
    const newest = diffs[0]!;

    await page.goto(`${stack!.proxy.adminUrl}/`);
    const card = page.locator('[data-testid="group-card"][data-group="catalog"]');
    await card.waitFor();
    assert.equal(await card.getByTestId('match-rate').textContent(), '50.0%', 'two of four comparisons matched');
    assert.equal(await card.getByTestId('stage').textContent(), 'shadow 100 %');
    assert.ok(await card.getByTestId('readiness').getByTestId('verdict').isVisible());
    assert.ok((await card.getByTestId('readiness-reason').count()) > 0, 'the verdict comes with its reasons');
    assert.match((await card.getByTestId('traffic').textContent()) ?? '', /Requests4/);

    await card.getByTestId('group-link').click();
    const routes = page.getByTestId('routes');
    await routes.waitFor();
    assert.equal(await routes.locator(`[data-route="${CATEGORIES}"]`).getByTestId('route-match-rate').textContent(), '100.0%');
    assert.equal(await routes.locator(`[data-route="${PRODUCTS}"]`).getByTestId('route-match-rate').textContent(), '33.3%');
    const fields = page.getByTestId('field-row');
    assert.deepEqual(await fields.evaluateAll((rows) => rows.map((row) => (row as HTMLElement).dataset.field)), [PRICE], 'the ignored request id is no differing field');
    const priceRow = page.locator(`[data-testid="field-row"][data-field="${PRICE}"]`);
    assert.equal(await priceRow.getByTestId('field-count').textContent(), '2');
    assert.equal(await priceRow.getAttribute('class'), null, 'a real difference is not greyed as noise');

    await priceRow.getByTestId('field-link').click();
    await page.getByTestId('samples').waitFor();
    assert.equal(await page.getByTestId('field-name').textContent(), PRICE);
    assert.equal(await page.getByTestId('field-stats').getByTestId('field-count').textContent(), '2 times');
    assert.deepEqual(await page.getByTestId('sample-row').evaluateAll((rows) => rows.map((row) => (row as HTMLElement).dataset.id)), diffs.map((diff) => diff.id));
    assert.deepEqual(await page.getByTestId('sample-row').locator('code').first().textContent(), 'GET /products/3?color=red', 'samples of one route told apart by their query');

    await page.locator(`[data-testid="sample-row"][data-id="${newest.id}"]`).getByTestId('sample-link').click();
    await page.getByTestId('sides').waitFor();
    assert.equal(await page.getByTestId('sample-id').textContent(), newest.id);
    assert.equal(await page.getByTestId('verdict').first().textContent(), 'mismatch');
    assert.equal(await page.getByTestId('request-line').textContent(), 'GET /products/3?color=red');
    assert.equal(await page.getByTestId('legacy-status').textContent(), '200');
    assert.equal(await page.getByTestId('new-status').textContent(), '200');

    // The body diff: the price changed from 8.99 to 9.99, each value highlighted by jsondiffpatch's stylesheet.
    const price = page.getByTestId('body-diff').locator('li.jsondiffpatch-modified[data-key="price"]');
    assert.equal(await price.locator('.jsondiffpatch-left-value').textContent(), '8.99');
    assert.equal(await price.locator('.jsondiffpatch-right-value').textContent(), '9.99');
    assert.equal(await price.locator('.jsondiffpatch-left-value pre').evaluate((node) => getComputedStyle(node).backgroundColor), 'rgb(255, 187, 187)');
    assert.equal(await price.locator('.jsondiffpatch-right-value pre').evaluate((node) => getComputedStyle(node).backgroundColor), 'rgb(187, 255, 187)');
    // The request id differs too, but the rule hid it: marked in the tree and listed greyed with its rule.
    const ignoredInTree = page.getByTestId('body-diff').locator('li.cv-hidden[data-key="requestId"]');
    assert.equal(await ignoredInTree.getAttribute('title'), 'hidden by the rule ignore: /meta/requestId');

    const differences = page.getByTestId('difference');
    assert.deepEqual(await differences.evaluateAll((rows) => rows.map((row) => (row as HTMLElement).dataset.path)), [PRICE]);
    assert.match((await differences.first().textContent()) ?? '', /8\.99.*9\.99/);
    const hidden = page.locator('[data-testid="hidden-difference"][data-path="/meta/requestId"]');
    assert.equal(await hidden.getByTestId('hidden-rule').textContent(), 'ignore: /meta/requestId');
    assert.equal(await hidden.evaluate((row) => getComputedStyle(row).color), 'rgb(107, 114, 128)', 'greyed');

    mkdirSync(path.dirname(SCREENSHOT), { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });

    const curl = (await page.getByTestId('replay-legacy').textContent()) ?? '';
    assert.match(curl, /^curl .*\/products\/3/s);
    assert.match((await page.getByTestId('replay-new').textContent()) ?? '', /^printf -- '.*' \| curl /s, 'the event given to curl on stdin');
    await page.getByTestId('copy-legacy').click();
    await page.getByTestId('toast').filter({ hasText: 'Copied the legacy curl command' }).waitFor();
    // The Copy button copies the API's replay, which test/replay-paste.test.ts pastes into a terminal.
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), (await admin<{ replay: { legacy: string } }>(`/api/diffs/${newest.id}`)).replay.legacy);

    assert.deepEqual(problems, [], 'no errors in the page');
    assert.deepEqual(foreign, [], 'every request went to the admin port');
  });

  it('shows an API error as its one line', async () => {
    await page.goto(`${stack!.proxy.adminUrl}/#/diff?id=999999`);
    await page.getByTestId('error').waitFor();
    assert.match((await page.getByTestId('error-message').textContent()) ?? '', /^404 from \/api\/diffs\/999999: no comparison 999999/);
    problems.length = 0;
  });
});
