import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import type { HostedFunction } from '../new-services/lambda-host/server.js';
import { recheck, type RecheckOptions } from '../proxy/commands/recheck.js';
import { report, type ReportOptions, type ReviewIo } from '../proxy/commands/report.js';
import { openTestDatabase, type TestDatabase } from './support/database.js';
import { ADMIN_TOKEN, startTestProxy, type TestProxy, untilReady } from './support/proxy.js';
import { closedPort, listen, type TestServer } from './support/servers.js';
import { until } from './support/until.js';

interface Run { code: number | null; stdout: string; stderr: string }

/** The real command, as `npx cutover` runs it: package.json's bin. */
const BIN = JSON.parse(readFileSync('package.json', 'utf8')).bin.cutover as string;

/** The real binary, asynchronously: the proxy it talks to lives in this process and must keep answering. */
async function cutover(args: string[], env: Record<string, string | undefined> = {}): Promise<Run> {
  const environment = { ...process.env, CUTOVER_ADMIN_URL: undefined, CUTOVER_ADMIN_TOKEN: undefined, ...env };
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: environment });
  let stdout = '', stderr = '';
  child.stdout.setEncoding('utf8').on('data', (text: string) => { stdout += text; });
  child.stderr.setEncoding('utf8').on('data', (text: string) => { stderr += text; });
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  const [code] = await once(child, 'exit') as [number | null];
  clearTimeout(timer);
  return { code, stdout, stderr };
}

/** The command's function with its output captured; fetch is the real one unless a test wraps it. */
async function call<O>(command: (options: O, io: ReviewIo) => Promise<number>, options: O, env: Record<string, string> = {}, fetcher: ReviewIo['fetch'] = fetch): Promise<Run> {
  let stdout = '', stderr = '';
  const code = await command(options, {
    stdout: (text) => { stdout += text; },
    stderr: (text) => { stderr += text; },
    fetch: fetcher,
    env,
    stderrIsTTY: false,
  });
  return { code, stdout, stderr };
}

/** One line on stderr and nothing else. */
function oneLine(run: Run): string {
  const lines = run.stderr.split('\n').filter((line) => line !== '');
  assert.equal(lines.length, 1, `one line on stderr, got:\n${run.stderr}`);
  return lines[0] as string;
}

/** The lines of one group's block in the report, from its heading to the next blank line. */
function block(stdout: string, group: string): string[] {
  const start = stdout.split('\n').findIndex((line) => line.startsWith(`${group}  `));
  assert.ok(start >= 0, `no block for ${group} in:\n${stdout}`);
  const lines = stdout.split('\n').slice(start);
  return lines.slice(0, lines.indexOf(''));
}

const product = (id: string, price: number) => JSON.stringify({ data: { type: 'products', id, attributes: { name: 'Rope Tug Toy', price } }, meta: { requestId: Math.random().toString(36) } });
const cart = (id: string) => JSON.stringify({ data: { type: 'carts', id } });
const review = (id: string) => JSON.stringify({ data: { type: 'reviews', id, attributes: { stars: 5 } } });

describe('cutover report and cutover recheck, against a proxy with a diff store', function () {
  this.timeout(90_000);
  let database: TestDatabase;
  let legacy: TestServer;
  let s: TestProxy;
  let admin: string;
  /** The new catalog's bug: product 2 at the wrong price. The last tests fix it. */
  let priceBug = true;

  const json = (body: string) => ({ statusCode: 200, headers: { 'content-type': 'application/vnd.api+json' }, body });
  const functions: Record<string, HostedFunction> = {
    catalog: { handler: async (event: APIGatewayProxyEventV2) => { const id = event.pathParameters?.id ?? '0'; return json(product(id, priceBug && id === '2' ? 9.99 : 8.99)); } },
    reviews: { handler: async (event: APIGatewayProxyEventV2) => json(review(event.pathParameters?.id ?? '0')) },
    orders: { handler: async () => json('{"data":[]}') },
    carts: { handler: async (event: APIGatewayProxyEventV2) => json(cart(event.pathParameters?.id ?? 'new')) },
  };

  before(async () => {
    database = await openTestDatabase('embedded');
    legacy = await listen((req, res) => {
      const [, kind, id = 'new'] = /^\/(products|reviews|carts)(?:\/(\w+))?$/.exec(req.url ?? '') ?? [];
      res.writeHead(kind ? 200 : 404, { 'content-type': 'application/vnd.api+json' });
      res.end(kind === 'products' ? product(id, 8.99) : kind === 'reviews' ? review(id) : kind === 'carts' ? cart(id) : '{"errors":[]}');
    });
    s = await startTestProxy({
      legacyUrl: legacy.url, functions,
      groups: {
        // The latency checks are loose (a local Lambda host, a handful of answers): their boundaries are test/readiness.test.ts's.
        catalog: { flag: 'catalog_flag', function: 'catalog', routes: ['GET /products/{id}'], rules: { ignore: ['/meta/requestId'] }, readiness: { minComparisons: 3, maxLatencyIncrease: 1000, minLatencySamples: 3 } },
        // Ready once it has 3 comparisons: its write route is exempt, and says so.
        reviews: {
          flag: 'reviews_flag', function: 'reviews', routes: ['GET /reviews/{id}', 'POST /reviews'],
          readiness: { minComparisons: 3, maxLatencyIncrease: 1000, minLatencySamples: 3, exempt: [{ route: 'POST /reviews', reason: 'written by the legacy moderation queue until it moves' }] },
        },
        // No traffic at all: insufficient data.
        orders: { flag: 'orders_flag', function: 'orders', routes: ['GET /orders/{id}'] },
        // Enough comparisons, all matching, on its reads; its writes are never mirrored (shadow.writes: off).
        carts: { flag: 'carts_flag', function: 'carts', routes: ['GET /carts/{id}', 'POST /carts'], readiness: { minComparisons: 3, maxLatencyIncrease: 1000, minLatencySamples: 3 } },
      },
      flags: ['catalog_flag', 'reviews_flag', 'orders_flag', 'carts_flag'].map((key) => ({ key, everyoneElse: 'shadow' })),
      extra: { store: { url: database.url, sample: { match: 100 }, queue: { flushMs: 25 } } },
    });
    admin = s.proxy.adminUrl;
    await untilReady(admin);

    // Traffic: product 2 mismatches (3 times), product 1 matches (twice), every review matches.
    // Every cart read matches; the two cart writes and the review write are served by legacy, uncompared.
    for (const path of ['/products/1', '/products/2', '/products/2', '/products/1', '/products/2', '/reviews/1', '/reviews/2', '/reviews/3', '/reviews/4', '/carts/1', '/carts/2', '/carts/3', 'POST /carts', 'POST /carts', 'POST /reviews']) {
      const [method, target] = path.startsWith('POST ') ? ['POST', path.slice(5)] : ['GET', path];
      const response = await fetch(`${s.proxy.trafficUrl}${target}`, { method, ...(method === 'POST' ? { body: '{}', headers: { 'content-type': 'application/json' } } : {}) });
      await response.arrayBuffer();
      assert.equal(response.status, 200, path);
    }
    const counted = async () => {
      const groups = ((await (await fetch(`${admin}/api/groups`)).json()) as { groups: Array<{ name: string; comparisons?: { total: number }; requests?: { total: number } }> }).groups;
      return Object.fromEntries(groups.map((group) => [group.name, `${group.comparisons?.total ?? 0} of ${group.requests?.total ?? 0}`]));
    };
    await until(async () => {
      const totals = await counted();
      return totals.catalog === '5 of 5' && totals.reviews === '4 of 5' && totals.carts === '3 of 5';
    }, 'every comparison and request counted in the store', 15_000);
    await until(async () => ((await (await fetch(`${admin}/api/diffs?group=catalog&verdict=mismatch`)).json()) as { diffs: unknown[] }).diffs.length === 3, 'the three mismatches stored');
  });

  after(async () => {
    await s?.close();
    await legacy?.close();
    await database?.close();
  });

  it('answers --help on both commands with their options, examples and exit codes, exit 0', async () => {
    const report = await cutover(['report', '--help']);
    assert.equal(report.code, 0, report.stderr);
    for (const pattern of [/Usage: cutover report \[options\]/, /--admin <url>/, /--group <name>/, /--since <duration>/, /--json/, /Examples:\n {2}cutover report\n/, /1 when it is not_ready or\ninsufficient_data/]) assert.match(report.stdout, pattern);
    const recheck = await cutover(['recheck', '--help']);
    assert.equal(recheck.code, 0, recheck.stderr);
    for (const pattern of [/Usage: cutover recheck \[options\]/, /--group <name>/, /--limit <n>/, /Examples:\n {2}CUTOVER_ADMIN_TOKEN=/, /Needs CUTOVER_ADMIN_TOKEN/, /Exit code 0 when every comparison rechecked now matches/]) assert.match(recheck.stdout, pattern);
  });

  describe('cutover report', () => {
    it('prints every group: stage mix, comparisons by verdict, match rate, latency, error rates, skips, and readiness with ✔/✘ reasons', async () => {
      const run = await call<ReportOptions>(report, { admin }, {});
      assert.equal(run.code, 0, run.stderr);
      assert.equal(run.stderr, '');
      assert.equal(run.stdout.split('\n')[0], `cutover report: ${admin}, last 24h`);

      const catalog = block(run.stdout, 'catalog');
      assert.equal(catalog[0], 'catalog  flag catalog_flag · function catalog · override none · circuit closed');
      assert.equal(catalog[1], '  requests     5 in 24h: stages shadow 5 · served by legacy 5');
      assert.equal(catalog[2], '  comparisons  5: 2 match, 3 mismatch, 0 noise, 0 error · match rate 40 %');
      assert.match(catalog[3] ?? '', /^ {2}latency {6}legacy p50 [\d.]+ ms, p99 [\d.]+ ms · new p50 [\d.]+ ms, p99 [\d.]+ ms$/);
      assert.equal(catalog[4], '  error rate   legacy 0 % · new 0 %');
      assert.equal(catalog[5], '  skipped      none (shadows not sent)');
      assert.equal(catalog[6], '  lost         none (compared, evidence not kept)');
      assert.equal(catalog[7], '  readiness    not ready');
      assert.equal(catalog[8], '    ✔ 5 comparisons in 24 h (≥ 3)');
      assert.equal(catalog[9], '    ✔ GET /products/{id}: 5 of 5 requests compared (≥ 3)');
      assert.equal(catalog[10], '    ✘ mismatch rate 60 % (≤ 1 %), errors included');
      assert.equal(catalog[11], '    ✔ new error rate 0 % vs legacy 0 % (at most 0.1 % more)');
      assert.equal(catalog[12], '    ✔ new is not slower than legacy by more than 100000 % (98 % confidence, n = 5 / 5)');

      const reviews = block(run.stdout, 'reviews');
      assert.equal(reviews[7], '  skipped      unsafe_method 1 (shadows not sent)');
      assert.equal(reviews[9], '  readiness    ready');
      assert.deepEqual(reviews.slice(10, 12), ['    ✔ 4 comparisons in 24 h (≥ 3)', '    ✔ GET /reviews/{id}: 4 of 4 requests compared (≥ 3)']);
      assert.equal(reviews[12], '    ✔ POST /reviews: exempt (written by the legacy moderation queue until it moves); 0 of 1 requests compared');
      assert.deepEqual(reviews.slice(13).map((line) => line.slice(0, 6)), ['    ✔ ', '    ✔ ', '    ✔ ']);

      const carts = block(run.stdout, 'carts');
      assert.equal(carts[2], '  comparisons  3: 3 match, 0 mismatch, 0 noise, 0 error · match rate 100 %');
      assert.equal(carts[9], '  readiness    insufficient data');
      assert.deepEqual(carts.slice(10, 13), [
        '    ✔ 3 comparisons in 24 h (≥ 3)',
        '    ✔ GET /carts/{id}: 3 of 3 requests compared (≥ 3)',
        '    ✘ POST /carts: 0 of 2 requests compared: writes are not mirrored (shadow.writes: off)',
      ]);
      assert.deepEqual(carts.slice(13).map((line) => line.slice(0, 6)), ['    ✔ ', '    ✔ ', '    ✔ '], 'every other check passes: the write route alone withholds readiness');

      const orders = block(run.stdout, 'orders');
      assert.equal(orders[1], '  requests     0 in 24h: stages none · served by none');
      assert.equal(orders[2], '  comparisons  0: 0 match, 0 mismatch, 0 noise, 0 error · match rate n/a');
      assert.equal(orders[3], '  latency      legacy not measured · new not measured');
      assert.equal(orders[7], '  readiness    insufficient data');
      assert.equal(orders[8], '    ✘ 0 comparisons in 24 h (≥ 1,000)');
      assert.equal(orders[11], '    ✘ latency: too few answers to judge (n = 0 / 0; at least 100 a side)');
    });

    it('exits 0 for a ready group, 1 for one not ready or without enough data, 2 for an unknown group (the real binary)', async () => {
      const ready = await cutover(['report', '--group', 'reviews'], { CUTOVER_ADMIN_URL: admin });
      assert.equal(ready.code, 0, ready.stderr);
      assert.match(ready.stdout, /^ {2}readiness {4}ready$/m);
      assert.ok(!ready.stdout.includes('catalog'), 'only the group asked for');

      const notReady = await cutover(['report', '--admin', admin, '--group', 'catalog']);
      assert.equal(notReady.code, 1);
      assert.match(notReady.stdout, /^ {4}✘ mismatch rate 60 % \(≤ 1 %\), errors included$/m);
      assert.equal(notReady.stderr, '');

      const insufficient = await cutover(['report', '--admin', admin, '-g', 'orders']);
      assert.equal(insufficient.code, 1);
      assert.match(insufficient.stdout, /^ {2}readiness {4}insufficient data$/m);

      const writesUncompared = await cutover(['report', '--admin', admin, '-g', 'carts']);
      assert.equal(writesUncompared.code, 1);
      assert.match(writesUncompared.stdout, /^ {4}✘ POST \/carts: 0 of 2 requests compared: writes are not mirrored \(shadow\.writes: off\)$/m);

      const unknown = await cutover(['report', '--admin', admin, '--group', 'payments']);
      assert.equal(unknown.code, 2);
      assert.equal(oneLine(unknown), `cutover report: no group named "payments" at ${admin} (its groups: catalog, reviews, orders, carts)`);
      assert.equal(unknown.stdout, '');
    });

    it('prints the API\'s groups as JSON with --json, filtered by --group, and keeps the exit code', async () => {
      const all = await call<ReportOptions>(report, { json: true }, { CUTOVER_ADMIN_URL: admin });
      assert.equal(all.code, 0);
      const document = JSON.parse(all.stdout) as { store: string; groups: Array<{ name: string }> };
      assert.equal(document.store, 'up');
      assert.deepEqual(document.groups.map((group) => group.name), ['catalog', 'reviews', 'orders', 'carts']);
      assert.deepEqual(document.groups, ((await (await fetch(`${admin}/api/groups?window=24h`)).json()) as { groups: unknown[] }).groups, 'the API\'s groups as they are');

      const one = await call<ReportOptions>(report, { admin, group: 'catalog', json: true, since: '7d' });
      assert.equal(one.code, 1);
      const [catalog, ...others] = (JSON.parse(one.stdout) as { groups: Array<Record<string, unknown>> }).groups;
      assert.deepEqual(others, []);
      assert.equal(catalog?.window, '168h');
      assert.deepEqual(catalog?.comparisons, { total: 5, match: 2, mismatch: 3, noise: 0, error: 0 });
      assert.deepEqual((catalog?.readiness as { verdict: string }).verdict, 'not_ready');
      const carts = (JSON.parse((await call<ReportOptions>(report, { admin, group: 'carts', json: true })).stdout) as { groups: Array<{ readiness: { verdict: string; reasons: Array<{ check: string; ok: boolean; text: string }> } }> }).groups[0];
      assert.equal(carts?.readiness.verdict, 'insufficient_data');
      assert.deepEqual(carts?.readiness.reasons.filter((reason) => !reason.ok), [
        { check: 'route_coverage', ok: false, text: 'POST /carts: 0 of 2 requests compared: writes are not mirrored (shadow.writes: off)' },
      ]);
      assert.deepEqual(Object.keys(catalog ?? {}).sort(), ['changes', 'circuit', 'comparisons', 'current', 'errorRate', 'fallback', 'flag', 'function', 'latency', 'lostEvidence', 'matchRate', 'name', 'override', 'readiness', 'requests', 'routes', 'skippedShadows', 'window']);
    });

    it('says in one line, exit 2, that the admin port cannot be reached, or that an option is unusable', async () => {
      const url = `http://127.0.0.1:${await closedPort()}`;
      const down = await cutover(['report', '--admin', url]);
      assert.equal(down.code, 2);
      assert.equal(oneLine(down), `cutover report: cannot reach the admin port at ${url} (ECONNREFUSED): is the proxy running? Check --admin or CUTOVER_ADMIN_URL (admin.host/admin.port of its configuration)`);
      assert.equal(down.stdout, '');

      const traffic = await call<ReportOptions>(report, { admin: s.proxy.trafficUrl });
      assert.equal(traffic.code, 2);
      assert.match(oneLine(traffic), /^cutover report: .*\/api\/groups\?window=24h answered \d+ without the review API: is .* the proxy's admin port \(not its traffic port\)\?$/);

      const since = await call<ReportOptions>(report, { admin, since: 'yesterday' });
      assert.equal(since.code, 2);
      assert.equal(oneLine(since), 'cutover report: --since must be a duration such as 90m, 24h or 7d, not "yesterday"');
      const notUrl = await call<ReportOptions>(report, {}, { CUTOVER_ADMIN_URL: 'localhost:9901' });
      assert.equal(notUrl.code, 2);
      assert.match(oneLine(notUrl), /^cutover report: CUTOVER_ADMIN_URL "localhost:9901" is not an http\(s\) URL/);
    });
  });

  describe('cutover recheck', () => {
    const token = { CUTOVER_ADMIN_TOKEN: ADMIN_TOKEN };

    it('sends the stored mismatches again and says they still differ, exit 1 (the real binary)', async () => {
      const run = await cutover(['recheck', '--group', 'catalog', '--admin', admin], token);
      assert.equal(run.code, 1, run.stderr);
      const lines = run.stdout.trimEnd().split('\n');
      assert.equal(lines.length, 4, run.stdout);
      for (const line of lines.slice(0, 3)) assert.match(line, /^#\d+ +GET \/products\/\{id\} {2}mismatch → mismatch {2}\/data\/attributes\/price$/);
      assert.equal(lines[3], '3 rechecked: 0 now match, 3 still differ, 0 skipped');
      assert.equal(run.stderr, '', 'no progress drawn when stderr is not a terminal');
    });

    it('leaves an audit line in the proxy\'s log for every recheck: request id, who, which comparison, the outcome', async () => {
      const audited = () => s.logs.map((line) => JSON.parse(line) as Record<string, unknown>).filter((line) => line.msg === 'admin: comparison rechecked');
      const before = audited().length;
      const run = await cutover(['recheck', '--group', 'catalog', '--admin', admin], { ...token, USER: 'alice' });
      assert.equal(run.code, 1, run.stderr);
      const ids = [...run.stdout.matchAll(/^#(\d+)/gm)].map((found) => found[1]);
      const lines = audited().slice(before);
      assert.deepEqual(lines.map((line) => line.comparison), ids, 'one line per recheck');
      for (const line of lines) {
        assert.deepEqual({ ...line, requestId: undefined, time: undefined, comparison: undefined }, {
          level: 40, service: 'cutover', msg: 'admin: comparison rechecked', requestId: undefined, time: undefined, comparison: undefined,
          actor: 'admin token (alice with cutover recheck)', group: 'catalog', route: 'GET /products/{id}', was: 'mismatch', outcome: 'mismatch',
        });
        assert.match(String(line.requestId), /^[\w-]{8,}$/);
      }

      const refused = await fetch(`${admin}/api/diffs/999999/recheck`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'x-cutover-actor': 'bob', 'x-request-id': 'audit-test-0001' } });
      assert.equal(refused.status, 404);
      assert.deepEqual({ ...audited().at(-1), time: undefined, reason: undefined }, {
        level: 40, service: 'cutover', msg: 'admin: comparison rechecked', time: undefined, reason: undefined,
        requestId: 'audit-test-0001', actor: 'admin token (bob)', comparison: '999999', outcome: 'refused',
      });
    });

    it('pages through the stored mismatches up to --limit, and prints JSON with --json', async () => {
      const run = await call<RecheckOptions>(recheck, { group: 'catalog', admin, limit: '2', json: true }, token);
      assert.equal(run.code, 1);
      assert.equal(run.stderr, '2 rechecked: 0 now match, 2 still differ, 0 skipped\n');
      const document = JSON.parse(run.stdout) as { group: string; summary: Record<string, number>; rechecked: Array<Record<string, unknown>> };
      assert.equal(document.group, 'catalog');
      assert.deepEqual(document.summary, { rechecked: 2, nowMatch: 0, stillDiffer: 2, skipped: 0 });
      const [first] = document.rechecked;
      assert.deepEqual({ ...first, id: undefined }, {
        id: undefined, group: 'catalog', route: 'GET /products/{id}', was: 'mismatch', verdict: 'mismatch', reason: null,
        differences: [{ path: '/data/attributes/price', kind: 'changed', legacy: 8.99, new: 9.99, field: '/data/attributes/price' }],
        caveats: [], outcome: 'still_differ',
      });

      // Pages of one comparison each, followed through nextCursor.
      const pages: string[] = [];
      const paged = await call<RecheckOptions>(recheck, { group: 'catalog', admin, limit: 3, json: true }, token, (url, init) => {
        if (url.includes('/api/diffs?')) {
          pages.push(url);
          return fetch(url.replace(/limit=\d+/, 'limit=1'), init);
        }
        return fetch(url, init);
      });
      assert.equal(paged.code, 1);
      assert.equal(pages.length, 3);
      assert.match(pages[1] ?? '', /&cursor=\d+$/);
      assert.equal(new Set((JSON.parse(paged.stdout) as { rechecked: Array<{ id: string }> }).rechecked.map((one) => one.id)).size, 3);
    });

    it('counts a comparison the admin port will not send again (400) as skipped, with its reason', async () => {
      let refused = '';
      const run = await call<RecheckOptions>(recheck, { group: 'catalog', admin }, token, async (url, init) => {
        if (url.endsWith('/recheck') && !refused) {
          refused = /diffs\/(\d+)\/recheck/.exec(url)?.[1] ?? '';
          return Response.json({ error: `comparison ${refused} is a POST: only idempotent requests, or writes of a group with shadow.writes: dry-run, are sent again` }, { status: 400 });
        }
        return fetch(url, init);
      });
      assert.equal(run.code, 1);
      assert.match(run.stdout, new RegExp(`^#${refused} +GET /products/\\{id\\} {2}skipped: comparison ${refused} is a POST: only idempotent requests`, 'm'));
      assert.match(run.stdout, /^3 rechecked: 0 now match, 2 still differ, 1 skipped$/m);
    });

    it('draws its progress on stderr only when stderr is a terminal, and wipes it', async () => {
      let stderr = '';
      const code = await recheck({ group: 'catalog', admin, limit: 2 }, { stdout: () => undefined, stderr: (text) => { stderr += text; }, fetch, env: token, stderrIsTTY: true });
      assert.equal(code, 1);
      assert.equal(stderr, '\r\x1b[2Krecheck 1/2…\r\x1b[2K\r\x1b[2Krecheck 2/2…\r\x1b[2K');
    });

    it('says "now match", exit 0, once the new side answers as legacy does', async () => {
      priceBug = false;
      const run = await cutover(['recheck', '-g', 'catalog'], { ...token, CUTOVER_ADMIN_URL: admin });
      assert.equal(run.code, 0, run.stderr);
      const lines = run.stdout.trimEnd().split('\n');
      for (const line of lines.slice(0, 3)) assert.match(line, /^#\d+ +GET \/products\/\{id\} {2}mismatch → match$/);
      assert.equal(lines[3], '3 rechecked: 3 now match, 0 still differ, 0 skipped');
    });

    it('exits 1 when there is nothing to recheck', async () => {
      const run = await call<RecheckOptions>(recheck, { group: 'reviews', admin }, token);
      assert.equal(run.code, 1);
      assert.equal(run.stdout, 'no mismatch of reviews stored in the last 24h: nothing to recheck\n0 rechecked: 0 now match, 0 still differ, 0 skipped\n');
    });

    it('says in one line, exit 2: no token, a wrong token, an unknown group, an admin port that cannot be reached', async () => {
      const noToken = await cutover(['recheck', '--group', 'catalog', '--admin', admin]);
      assert.equal(noToken.code, 2);
      assert.equal(oneLine(noToken), 'cutover recheck: CUTOVER_ADMIN_TOKEN is not set: a recheck sends requests again, so it needs the proxy\'s admin token (admin.token)');
      assert.equal(noToken.stdout, '');

      const wrongToken = await call<RecheckOptions>(recheck, { group: 'catalog', admin }, { CUTOVER_ADMIN_TOKEN: 'not-the-token-0123456789' });
      assert.equal(wrongToken.code, 2);
      assert.equal(oneLine(wrongToken), `cutover recheck: ${admin} refused CUTOVER_ADMIN_TOKEN (401): set it to the proxy's admin token (admin.token)`);

      const unknown = await call<RecheckOptions>(recheck, { group: 'payments', admin }, token);
      assert.equal(unknown.code, 2);
      assert.equal(oneLine(unknown), `cutover recheck: ${admin}/api/diffs answered 400: no group named "payments"`);

      const url = `http://127.0.0.1:${await closedPort()}`;
      const down = await cutover(['recheck', '--group', 'catalog', '--admin', url], token);
      assert.equal(down.code, 2);
      assert.match(oneLine(down), new RegExp(`^cutover recheck: cannot reach the admin port at ${url.replace(/\./g, '\\.')} \\(ECONNREFUSED\\)`));

      const noGroup = await cutover(['recheck'], token);
      assert.equal(noGroup.code, 2);
      assert.equal(oneLine(noGroup), 'cutover: required option \'-g, --group <name>\' not specified (see cutover recheck --help)');
      const limit = await call<RecheckOptions>(recheck, { group: 'catalog', admin, limit: '0' }, token);
      assert.equal(limit.code, 2);
      assert.equal(oneLine(limit), 'cutover recheck: --limit must be a whole number from 1 to 10000, not "0"');
    });
  });
});
