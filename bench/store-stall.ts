/**
 * How long storing evidence holds the proxy's event loop: a real `cutover start` process mirrors
 * large mismatching responses with the diff store on (embedded Postgres) and off, and the
 * proxy's own event-loop delay monitor (nodejs_eventloop_lag_max_seconds, reset at every scrape)
 * gives the longest stall from the first request until the comparisons are counted and written.
 *
 *   npx tsx bench/store-stall.ts            (one 16 MB mismatch, and ten of 965 KB; 3 rounds each)
 */
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startLambdaHost } from '../new-services/lambda-host/server.js';
import { writeDatafile } from '../test/support/datafile.js';
import { sampleAll } from '../test/support/metrics.js';
import { buildProxy, startCutoverProcess } from './lib/build.js';

/** About `bytes` of JSON; the sides differ in every hundredth price. */
function catalog(bytes: number, side: 'legacy' | 'new'): string {
  const items = Array.from({ length: Math.ceil(bytes / 96) }, (_, index) => ({ id: index, name: `item ${index} ${'x'.repeat(40)}`, price: side === 'new' && index % 100 === 0 ? 2 : 1 }));
  return JSON.stringify({ items });
}
const bodies = new Map<number, { legacy: string; new: string }>();
const bodyOf = (kb: number, side: 'legacy' | 'new') => {
  if (!bodies.has(kb)) bodies.set(kb, { legacy: catalog(kb * 1000, 'legacy'), new: catalog(kb * 1000, 'new') });
  return bodies.get(kb)?.[side] ?? '';
};
const kbOf = (target: string | undefined) => Number(/\/products\/(\d+)/.exec(target ?? '')?.[1] ?? '1');

const legacy = http.createServer((req, res) => {
  req.resume().on('end', () => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(bodyOf(kbOf(req.url), 'legacy'));
  });
});
legacy.listen(0, '127.0.0.1');
await once(legacy, 'listening');
const lambda = await startLambdaHost({
  functions: { catalog: { handler: async (event: { rawPath: string }) => ({ statusCode: 200, headers: { 'content-type': 'application/json' }, body: bodyOf(kbOf(event.rawPath), 'new') }) } },
});

const dir = mkdtempSync(path.join(tmpdir(), 'cutover-stall-'));
writeDatafile(path.join(dir, 'datafile.json'), [{ key: 'catalog_flag', everyoneElse: 'shadow' }]);

async function startProxy(store: boolean): Promise<{ child: ChildProcess; traffic: string; admin: string }> {
  writeFileSync(path.join(dir, 'cutover.json'), JSON.stringify({
    traffic: { host: '127.0.0.1', port: 0 },
    admin: { host: '127.0.0.1', port: 0 },
    legacy: { url: `http://127.0.0.1:${(legacy.address() as AddressInfo).port}`, timeoutMs: 30_000 },
    lambda: { endpoint: lambda.url },
    flags: { datafile: 'datafile.json' },
    log: { level: 'warn' },
    store: store ? { embedded: { port: 0 }, queue: { flushMs: 100 } } : { enabled: false },
    groups: { catalog: { flag: 'catalog_flag', function: 'catalog', routes: ['GET /products/{kb}'], timeoutMs: 30_000, shadow: { timeoutMs: 30_000, maxBodyBytes: 32 * 1024 * 1024 } } },
  }));
  return startCutoverProcess(path.join(dir, 'cutover.json'));
}

async function round(proxy: { traffic: string; admin: string }, store: boolean, kb: number, count: number): Promise<number> {
  const metrics = async () => (await fetch(`${proxy.admin}/metrics`)).text();
  const done = (text: string) => (store ? sampleAll(text, 'cutover_store_written_total', {}) + sampleAll(text, 'cutover_store_dropped_total', {}) : sampleAll(text, 'cutover_comparisons_total', {}));
  const first = await metrics();
  const before = done(first);
  await Promise.all(Array.from({ length: count }, async () => (await fetch(`${proxy.traffic}/products/${kb}`)).arrayBuffer()));
  // Every scrape resets the monitor: the round's stall is the longest of all its scrapes.
  let longest = 0;
  for (let text = await metrics(); ; text = await metrics()) {
    longest = Math.max(longest, sampleAll(text, 'nodejs_eventloop_lag_max_seconds', {}) * 1000);
    if (done(text) >= before + count) return longest;
    await sleep(50);
  }
}

buildProxy(process.cwd());
try {
  for (const store of [false, true]) {
    const proxy = await startProxy(store);
    try {
      if (store) {
        for (let ready = false; !ready; await sleep(100)) ready = (await fetch(`${proxy.admin}/readyz`)).status === 200;
      }
      await round(proxy, store, 10, 1); // warm-up: modules, workers, pools
      for (const [kb, count] of [[16_000, 1], [965, 10]] as const) {
        const stalls: number[] = [];
        for (let index = 0; index < 3; index += 1) {
          await fetch(`${proxy.admin}/metrics`); // resets the delay monitor
          stalls.push(await round(proxy, store, kb, count));
        }
        console.log(`store ${store ? 'on ' : 'off'}: ${count} x ${kb} KB mismatch: longest event-loop stall per round ${stalls.map((ms) => `${ms.toFixed(0)} ms`).join(', ')}`);
      }
    } finally {
      proxy.child.kill('SIGTERM');
      await once(proxy.child, 'exit');
    }
  }
} finally {
  legacy.close();
  await lambda.close();
  rmSync(dir, { recursive: true, force: true });
}
