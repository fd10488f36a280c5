/**
 * The request path under a long, hostile load: the proxy (a real `cutover start` process) mirrors
 * 100 % of a catalog route to a slow new side while clients hang up at random, then is sent
 * SIGTERM under load. Checks, and exits 1 when one fails:
 *   - afterwards no shadow is in flight, and every request the proxy read is counted once;
 *   - every request of the comparing stage was compared or counted as skipped;
 *   - SIGTERM under load finishes within the shutdown deadline, and no client sees a reset;
 *   - the proxy's resident memory stays flat (within 10 %) after a warm-up tenth of the run.
 *
 *   npm run soak                 (60 s of load)
 *   npm run soak -- --seconds 10
 *   npm run soak -- --seconds 600   (the ten-minute memory soak)
 *   npm run soak -- --evidence      (with the diff store on, embedded: 1 % of the answers hold a
 *                                    NUL, 10 % are large (300 KB) mismatches; every mismatch
 *                                    compared is kept, none is dropped, and the proxy's RSS
 *                                    stays under 300 MB)
 */
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { startLambdaHost } from '../new-services/lambda-host/server.js';
import { writeDatafile } from '../test/support/datafile.js';
import { buildProxy, startCutoverProcess } from './lib/build.js';
import { sampleAll } from '../test/support/metrics.js';

const { values } = parseArgs({ options: { seconds: { type: 'string', default: '60' }, clients: { type: 'string', default: '32' }, evidence: { type: 'boolean', default: false } } });
const { evidence } = values;
const seconds = Number(values.seconds);
const clients = Number(values.clients);
if (!(seconds > 0) || !(clients > 0)) throw new Error('--seconds and --clients take positive numbers');

/** A seeded generator, so that two runs make the same choices. */
function seeded(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
    return state / 2 ** 31;
  };
}
const random = seeded(42);

async function listening(server: http.Server | net.Server): Promise<number> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return (server.address() as AddressInfo).port;
}

const body = JSON.stringify({ data: { type: 'products', id: '1', attributes: { name: 'Rope Tug Toy', price: 8.99 } } });
const LARGE = Array.from({ length: 3_000 }, (_, index) => ({ sku: `sku-${index}`, text: 'x'.repeat(80) }));
/**
 * With --evidence, ids ending in 00 answer with a NUL (the poisoned 1 %), ids ending in 1 with a
 * large body (10 %); both differ between the sides, so they are mismatches the store keeps.
 */
function answerOf(id: number, side: 'legacy' | 'new'): string {
  if (!evidence) return body;
  const price = side === 'legacy' ? 8.99 : 9.99;
  if (id % 100 === 0) return `{"data":{"type":"products","id":"${id}","attributes":{"name":"Rope\\u0000Tug","price":${price}}}}`;
  if (id % 10 === 1) return JSON.stringify({ data: { type: 'products', id: String(id), attributes: { name: 'Rope Tug Toy', price, stock: LARGE } } });
  return body;
}
const idOf = (target: string | undefined) => Number(/\/products\/(\d+)/.exec(target ?? '')?.[1] ?? '0');
const legacy = http.createServer((req, res) => {
  req.resume().on('end', () => setTimeout(() => {
    res.writeHead(200, { 'content-type': 'application/vnd.api+json' });
    res.end(answerOf(idOf(req.url), 'legacy'));
  }, Math.floor(random() * 20)));
});
const legacyPort = await listening(legacy);
const lambda = await startLambdaHost({
  functions: {
    catalog: {
      handler: async (event: { rawPath: string }) => {
        await sleep(50 + Math.floor(random() * 250));
        return { statusCode: 200, headers: { 'content-type': 'application/vnd.api+json' }, body: answerOf(idOf(event.rawPath), 'new') };
      },
    },
  },
});

const dir = mkdtempSync(path.join(tmpdir(), 'cutover-soak-'));
writeDatafile(path.join(dir, 'datafile.json'), [{ key: 'catalog_flag', everyoneElse: 'shadow' }]);
writeFileSync(path.join(dir, 'cutover.json'), JSON.stringify({
  traffic: { host: '127.0.0.1', port: 0 },
  admin: { host: '127.0.0.1', port: 0 },
  legacy: { url: `http://127.0.0.1:${legacyPort}`, timeoutMs: 2_000 },
  lambda: { endpoint: lambda.url },
  flags: { datafile: 'datafile.json' },
  log: { level: 'warn' },
  mirror: { maxInFlight: 64 },
  store: evidence ? { embedded: { port: 0 }, queue: { flushMs: 200 } } : { enabled: false },
  groups: { catalog: { flag: 'catalog_flag', function: 'catalog', routes: ['GET /products/{id}'], shadow: { percent: 100, timeoutMs: 1_000 } } },
}));

buildProxy(process.cwd());
// As the image runs it (Dockerfile: MALLOC_ARENA_MAX), so that its memory is the one measured.
const proxy = await startCutoverProcess(path.join(dir, 'cutover.json'), { ...process.env, MALLOC_ARENA_MAX: '2' });

/** The proxy's resident memory, sampled through the load, to see whether it stays flat. */
const rss: number[] = [];
const rssOf = (pid: number) => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? Number.NaN) / 1024;
const sampling = setInterval(() => { if (proxy.child.pid) rss.push(rssOf(proxy.child.pid)); }, 1_000);
const port = Number(new URL(proxy.traffic).port);
const agent = new http.Agent({ keepAlive: true, maxSockets: clients });
const tally = { sent: 0, answered: 0, hungUp: 0, errors: new Map<string, number>() };

function get(id: number): Promise<void> {
  tally.sent += 1;
  return new Promise((resolve) => {
    http.get({ host: '127.0.0.1', port, path: `/products/${id}`, agent, headers: { 'x-customer-id': `c${id % 1000}` } }, (res) => {
      res.resume().on('end', () => {
        tally.answered += 1;
        resolve();
      });
    }).on('error', (error: NodeJS.ErrnoException) => {
      tally.errors.set(error.code ?? error.message, (tally.errors.get(error.code ?? error.message) ?? 0) + 1);
      resolve();
    });
  });
}

/** A client that sends its request, then leaves before (or while) it is answered. */
async function hangUp(id: number): Promise<void> {
  const socket = net.connect(port, '127.0.0.1');
  try {
    await once(socket, 'connect');
  } catch (error) {
    tally.errors.set((error as NodeJS.ErrnoException).code ?? 'connect', (tally.errors.get((error as NodeJS.ErrnoException).code ?? 'connect') ?? 0) + 1);
    return;
  }
  socket.on('error', () => undefined);
  tally.sent += 1;
  tally.hungUp += 1;
  socket.write(`GET /products/${id} HTTP/1.1\r\nHost: soak\r\nx-customer-id: c${id % 1000}\r\n\r\n`);
  await sleep(2 + Math.floor(random() * 30));
  socket.destroy();
}

async function load(untilMs: number): Promise<void> {
  let id = 0;
  await Promise.all(Array.from({ length: clients }, async () => {
    while (performance.now() < untilMs) {
      id += 1;
      await (random() < 0.2 ? hangUp(id) : get(id));
    }
  }));
}

const metrics = async () => (await fetch(`${proxy.admin}/metrics`)).text();
const failures: string[] = [];
const check = (ok: boolean, what: string) => {
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${what}`);
  if (!ok) failures.push(what);
};

try {
  // Records of comparisons made before the store is open are dropped (store_down) by design: the load starts once it is.
  for (let waited = 0; evidence && ((await (await fetch(`${proxy.admin}/readyz`)).json()) as { status: string }).status !== 'ready'; waited += 100) {
    if (waited > 30_000) throw new Error('the diff store did not open within 30 s');
    await sleep(100);
  }
  console.log(`soak: ${seconds} s, ${clients} clients, 20 % hang up, every request mirrored to a new side answering in 50-300 ms`);
  await load(performance.now() + seconds * 1000);
  let text = await metrics();
  for (let waited = 0; sampleAll(text, 'cutover_shadow_inflight', {}) !== 0 && waited < 5_000; waited += 100) {
    await sleep(100);
    text = await metrics();
  }
  const counted = sampleAll(text, 'cutover_requests_total', {});
  const compared = sampleAll(text, 'cutover_comparisons_total', {});
  const skipped = sampleAll(text, 'cutover_shadow_skipped_total', {});
  const reasons = ['capacity', 'client_aborted', 'body_too_large', 'sampled_out', 'unsafe_method'].map((reason) => `${reason} ${sampleAll(text, 'cutover_shadow_skipped_total', { reason })}`);
  console.log(`sent ${tally.sent} (${tally.hungUp} hung up), answered ${tally.answered}, counted ${counted} (aborted ${sampleAll(text, 'cutover_requests_total', { status_class: 'aborted' })}), compared ${compared}, skipped ${skipped} (${reasons.join(', ')}), client errors ${JSON.stringify(Object.fromEntries(tally.errors))}`);
  check(sampleAll(text, 'cutover_shadow_inflight', {}) === 0, 'no shadow in flight after the load');
  check(counted === tally.sent, `every request counted once (${counted} of ${tally.sent})`);
  check(compared + skipped === counted, `every request compared or skipped (${compared} + ${skipped} of ${counted})`);
  check(tally.errors.size === 0, 'no client error during the load');
  if (evidence) {
    // Matches and noise are sampled into the store too: every mismatch is kept, so at least as many are written.
    const mismatches = sampleAll(text, 'cutover_comparisons_total', { verdict: 'mismatch' });
    const settled = (sample: string) => sampleAll(sample, 'cutover_store_written_total', {}) + sampleAll(sample, 'cutover_store_dropped_total', {});
    for (let waited = 0; settled(text) < mismatches && waited < 10_000; waited += 100) {
      await sleep(100);
      text = await metrics();
    }
    const dropped = ['store_down', 'queue_full', 'invalid_record'].map((reason) => `${reason} ${sampleAll(text, 'cutover_store_dropped_total', { reason })}`);
    console.log(`evidence: ${mismatches} mismatches compared, ${sampleAll(text, 'cutover_store_written_total', {})} written, dropped: ${dropped.join(', ')}`);
    check(mismatches > 0 && sampleAll(text, 'cutover_store_written_total', {}) >= mismatches, 'every mismatch compared is in the store, the poisoned ones too');
    check(sampleAll(text, 'cutover_store_dropped_total', {}) === 0, 'no record dropped');
  }
  clearInterval(sampling);
  // After the first tenth (warm-up: modules, pools and caches filling), memory should hold steady.
  // Under load RSS is a sawtooth (the old generation grows until its next full collection), so
  // two single samples say where in a tooth they fell; a leak lifts the teeth: the highest of the
  // second half against the highest of the first.
  const settled = rss.slice(Math.floor(rss.length / 10));
  const half = Math.floor(settled.length / 2);
  const [firstTop, lastTop, peak] = [Math.max(...settled.slice(0, half)), Math.max(...settled.slice(half)), Math.max(...rss)];
  const megabytes = (name: string) => (sampleAll(text, name, {}) / 2 ** 20).toFixed(0);
  const tenths = Array.from({ length: 10 }, (_, i) => rss.slice(Math.floor((i * rss.length) / 10), Math.floor(((i + 1) * rss.length) / 10)))
    .map((part) => `${Math.min(...part).toFixed(0)}-${Math.max(...part).toFixed(0)}`);
  console.log(`heap used ${megabytes('nodejs_heap_size_used_bytes')} MB of ${megabytes('nodejs_heap_size_total_bytes')} MB, external ${megabytes('nodejs_external_memory_bytes')} MB`);
  console.log(`RSS: peak ${peak.toFixed(0)} MB; by tenth of the run (MB, lowest-highest): ${tenths.join(', ')} (${rss.length} samples)`);
  check(lastTop <= firstTop * 1.1, `RSS flat within 10 % after warm-up: highest ${firstTop.toFixed(0)} MB in the first half, ${lastTop.toFixed(0)} MB in the second`);
  if (evidence) check(peak < 300, `RSS under 300 MB throughout with the store on (peak ${peak.toFixed(0)} MB)`);

  tally.errors.clear();
  const before = tally.answered;
  const loading = load(performance.now() + 3_000);
  await sleep(1_000);
  const signalled = performance.now();
  proxy.child.kill('SIGTERM');
  const [code] = await once(proxy.child, 'exit');
  const shutdownMs = performance.now() - signalled;
  await loading;
  const resets = (tally.errors.get('ECONNRESET') ?? 0) + (tally.errors.get('socket hang up') ?? 0);
  console.log(`SIGTERM: exit ${code} after ${Math.round(shutdownMs)} ms; ${tally.answered - before} answered meanwhile; client errors ${JSON.stringify(Object.fromEntries(tally.errors))}`);
  check(code === 0 && shutdownMs < 10_000, 'SIGTERM under load finishes within the 10 s deadline');
  check(resets === 0, 'no request reset during shutdown (refused connections after the listener closed are expected)');
} finally {
  proxy.child.kill('SIGKILL');
  agent.destroy();
  legacy.close();
  await lambda.close();
  rmSync(dir, { recursive: true, force: true });
}
process.exitCode = failures.length === 0 ? 0 : 1;
