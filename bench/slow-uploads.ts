/**
 * Issue 21, item 2, as measured: slow uploaders against the default legacy pool (512), then a
 * plain GET. 600 connections each send `POST /upload` with `Content-Length: 1000000`, a first
 * piece of `--first` bytes, then 10 bytes every 5 s; 100 more send `Expect: 100-continue` and no
 * body. Then `GET /categories`, five times, each given up after 20 s. Prints each GET's status and
 * time, and what cutover_requests_total counted.
 *
 *   npx tsx bench/slow-uploads.ts                 (a first piece of 10 bytes)
 *   npx tsx bench/slow-uploads.ts --first 71680   (70 KB first: past legacy.bufferBodyBytes)
 */
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { startTestProxy } from '../test/support/proxy.js';
import { listen } from '../test/support/servers.js';

const { values } = parseArgs({ options: { first: { type: 'string', default: '10' } } });
const legacy = await listen((req, res) => { req.resume().on('end', () => res.end('{"data":[]}')); });
const s = await startTestProxy({
  legacyUrl: legacy.url, functions: {},
  groups: { catalog: { flag: 'catalog_flag', function: 'catalog', routes: ['GET /products'] } },
  flags: [{ key: 'catalog_flag', everyoneElse: 'legacy' }],
  extra: { legacy: { url: legacy.url, timeoutMs: 10_000 }, log: { level: 'silent' } },
});
const port = Number(new URL(s.proxy.trafficUrl).port);
const sockets: net.Socket[] = [];
const open = (text: string) => new Promise<void>((resolve) => {
  const socket = net.connect(port, '127.0.0.1', () => { socket.write(text); resolve(); });
  socket.on('error', () => undefined);
  sockets.push(socket);
});
const first = 'a'.repeat(Number(values.first));
for (let i = 0; i < 600; i++) await open(`POST /upload HTTP/1.1\r\nHost: shop.example\r\nContent-Length: 1000000\r\n\r\n${first}`);
for (let i = 0; i < 100; i++) await open('POST /upload HTTP/1.1\r\nHost: shop.example\r\nContent-Length: 1000000\r\nExpect: 100-continue\r\n\r\n');
const trickle = setInterval(() => { for (const socket of sockets.slice(0, 600)) socket.write('0123456789'); }, 5_000);
await sleep(1_000);
for (let i = 0; i < 5; i++) {
  const started = performance.now();
  const answer = await fetch(`${s.proxy.trafficUrl}/categories`, { signal: AbortSignal.timeout(20_000) }).then((response) => String(response.status), (error: Error) => `no answer (${error.name})`);
  console.log(`GET /categories: ${answer} after ${Math.round(performance.now() - started)} ms`);
}
clearInterval(trickle);
console.log((await s.metrics()).split('\n').filter((line) => line.startsWith('cutover_requests_total')).join('\n'));
for (const socket of sockets) socket.destroy();
await s.close();
await legacy.close();
