/**
 * The benchmark's baseline: the bare `http-proxy` package in front of one upstream, with a
 * keep-alive agent, and nothing else (no routing, flags, metrics or mirroring). Cutover's rows are
 * read as a ratio to this one: what the proxy adds over the least a Node proxy can do.
 * Prints `listening URL`.
 *
 *   node --import tsx bench/http-proxy-baseline.ts --target http://127.0.0.1:PORT
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import httpProxy from 'http-proxy';

const { values } = parseArgs({ options: { target: { type: 'string' } } });
if (!values.target) throw new Error('--target URL is required');

const proxy = httpProxy.createProxyServer({ target: values.target, agent: new http.Agent({ keepAlive: true, maxSockets: 512 }) });
proxy.on('error', (_error, _req, res) => {
  // `res` is a socket only for WebSocket upgrades, which the bench does not send.
  if (res instanceof http.ServerResponse && !res.headersSent) res.writeHead(502);
  res.end();
});

const server = http.createServer((req, res) => proxy.web(req, res));
server.keepAliveTimeout = 120_000;
server.listen(0, '127.0.0.1', () => {
  console.log(`listening http://127.0.0.1:${(server.address() as AddressInfo).port}`);
});
