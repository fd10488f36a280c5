/**
 * Bare forwarders in front of one upstream, each with a keep-alive pool and nothing else (no
 * routing, flags, metrics or mirroring): what a Node proxy costs at the least, by library. The
 * `http-proxy` one is the benchmark's baseline; the others are its maintained API-compatible
 * successors (http-proxy-3, httpxy), Node's own client piped by hand, and an undici dispatch
 * handler, the way Cutover forwards to legacy. Prints `listening URL`.
 *
 *   node --import tsx bench/forwarders.ts --kind http-proxy --target http://127.0.0.1:PORT
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import httpProxy from 'http-proxy';
import { createProxyServer as createProxy3 } from 'http-proxy-3';
import { createProxyServer as createHttpxy } from 'httpxy';
import { type Dispatcher, Pool } from 'undici';

export const FORWARDERS = ['http-proxy', 'http-proxy-3', 'httpxy', 'node-http', 'undici'] as const;
export type ForwarderKind = (typeof FORWARDERS)[number];

type Handler = (req: http.IncomingMessage, res: http.ServerResponse) => void;

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding']);

/** Ends the client's exchange when the upstream fails: a 502 before the answer began, a cut after. */
function failed(res: http.ServerResponse): void {
  if (!res.headersSent) res.writeHead(502);
  res.end();
}

function forwarder(kind: ForwarderKind, target: URL): Handler {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 512 });
  switch (kind) {
    case 'http-proxy': {
      const proxy = httpProxy.createProxyServer({ target: target.href, agent });
      // `res` is a socket only for WebSocket upgrades, which the bench does not send.
      proxy.on('error', (_error, _req, res) => { if (res instanceof http.ServerResponse) failed(res); });
      return (req, res) => proxy.web(req, res);
    }
    case 'http-proxy-3': {
      const proxy = createProxy3({ target: target.href, agent });
      proxy.on('error', (_error, _req, res) => { if (res instanceof http.ServerResponse) failed(res); });
      return (req, res) => proxy.web(req, res);
    }
    case 'httpxy': {
      const proxy = createHttpxy({ target: target.href, agent });
      proxy.on('error', (_error, _req, res) => { if (res instanceof http.ServerResponse) failed(res); });
      return (req, res) => { proxy.web(req, res).catch(() => failed(res)); };
    }
    case 'node-http':
      return (req, res) => {
        const outgoing = http.request({ agent, hostname: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers });
        outgoing.on('response', (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        });
        outgoing.on('error', () => failed(res));
        req.pipe(outgoing);
      };
    case 'undici': {
      const pool = new Pool(target.origin, { connections: 512 });
      return (req, res) => {
        const headers: Record<string, string | string[] | undefined> = {};
        for (const name in req.headers) if (!HOP_BY_HOP.has(name)) headers[name] = req.headers[name];
        const handler: Dispatcher.DispatchHandler = {
          // undici tells a handler of its current interface by this method.
          onRequestStart() {},
          onResponseStart(_controller, status, answer) {
            const passed: http.OutgoingHttpHeaders = {};
            for (const name in answer) if (!HOP_BY_HOP.has(name)) passed[name] = answer[name];
            res.writeHead(status, passed);
          },
          onResponseData(controller, chunk) {
            if (!res.write(chunk)) {
              controller.pause();
              res.once('drain', () => controller.resume());
            }
          },
          onResponseEnd() { res.end(); },
          onResponseError() { failed(res); },
        };
        const streamed = req.headers['content-length'] !== undefined || req.headers['transfer-encoding'] !== undefined;
        pool.dispatch({ method: req.method ?? 'GET', path: req.url ?? '/', headers, body: streamed ? req : null }, handler);
      };
    }
  }
}

const { values } = parseArgs({ options: { kind: { type: 'string', default: 'http-proxy' }, target: { type: 'string' } } });
const kind = values.kind as ForwarderKind;
if (!FORWARDERS.includes(kind)) throw new Error(`--kind takes one of ${FORWARDERS.join(', ')}, not "${values.kind}"`);
if (!values.target) throw new Error('--target URL is required');

const server = http.createServer(forwarder(kind, new URL(values.target)));
server.keepAliveTimeout = 120_000;
server.listen(0, '127.0.0.1', () => {
  console.log(`listening http://127.0.0.1:${(server.address() as AddressInfo).port}`);
});
