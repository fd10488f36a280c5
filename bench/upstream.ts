/**
 * A fixed-response HTTP upstream for the proxy benchmark, run as its own process so that it does
 * not share the bench driver's event loop (or the proxy's CPU figures). Answers every request,
 * whatever its path, with the same ~2 KB JSON:API document; `--delay-ms` holds each answer back,
 * for the "shadow side slow" rows. Prints `listening URL` once it accepts connections.
 *
 *   node --import tsx bench/upstream.ts [--delay-ms 2000]
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import { PRODUCT_BODY, PRODUCT_CONTENT_TYPE } from './lib/body.js';

const { values } = parseArgs({ options: { 'delay-ms': { type: 'string', default: '0' } } });
const delayMs = Number(values['delay-ms']);

const body = Buffer.from(PRODUCT_BODY);
const headers = { 'content-type': PRODUCT_CONTENT_TYPE, 'content-length': String(body.length) };

function answer(res: http.ServerResponse): void {
  res.writeHead(200, headers);
  res.end(body);
}

const server = http.createServer((req, res) => {
  // Read the request to its end first, as a real upstream does, so keep-alive connections stay usable.
  req.resume().on('end', () => {
    if (delayMs > 0) setTimeout(answer, delayMs, res);
    else answer(res);
  });
});
// Longer than any pause between two rows: a proxy's pooled connection must not be closed under it.
server.keepAliveTimeout = 120_000;
server.headersTimeout = 121_000;
server.listen(0, '127.0.0.1', () => {
  console.log(`listening http://127.0.0.1:${(server.address() as AddressInfo).port}`);
});
