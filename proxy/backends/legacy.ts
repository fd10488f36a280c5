import http from 'node:http';
import { Readable } from 'node:stream';
import httpProxy from 'http-proxy';
import { removeHopByHop } from '../headers.js';
import type { Exchange, Failure } from './upstream.js';

class UpstreamTimeout extends Error {
  readonly code = 'UPSTREAM_TIMEOUT';
}

function failureOf(error: NodeJS.ErrnoException, timeoutMs: number): Failure {
  if (error instanceof UpstreamTimeout) return { reason: 'timeout', status: 504, detail: `The legacy system did not answer within ${timeoutMs} ms.` };
  if (error.code === 'ECONNREFUSED' || error.code === 'ENOTFOUND' || error.code === 'EHOSTUNREACH') {
    return { reason: 'refused', status: 502, detail: `The legacy system could not be reached (${error.code}).` };
  }
  return { reason: 'reset', status: 502, detail: `The legacy system broke off the exchange (${error.code ?? error.message}).` };
}

export interface LegacyOutcome { readonly seconds: number; readonly failure: Failure | undefined }

interface Pending { timeoutMs: number; setCookies: readonly string[]; answered(): void }

/** The monolith over HTTP: streamed both ways through http-proxy on a keep-alive agent. */
export class LegacyBackend {
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: 512 });
  private readonly proxy: httpProxy;
  private readonly pending = new WeakMap<http.IncomingMessage, Pending>();

  constructor(target: URL) {
    this.proxy = httpProxy.createProxyServer({ target: target.href, agent: this.agent, ws: false });
    // Errors go to each request's callback; this listener only keeps a stray one from ending the process.
    this.proxy.on('error', () => undefined);
    this.proxy.on('proxyReq', (proxyReq, req) => {
      const pending = this.pending.get(req);
      if (!pending) return;
      proxyReq.setTimeout(pending.timeoutMs, () => proxyReq.destroy(new UpstreamTimeout(`no answer within ${pending.timeoutMs} ms`)));
    });
    this.proxy.on('proxyRes', (proxyRes, req, res) => {
      const pending = this.pending.get(req);
      if (!pending) return;
      // http-proxy does not watch the upstream response: cut the client off when it breaks mid-body.
      proxyRes.once('close', () => {
        if (!proxyRes.complete) res.destroy();
      });
      removeHopByHop(proxyRes.headers);
      // Ours to say, per client connection; http-proxy would otherwise promise keep-alive to a client that asked to close.
      proxyRes.headers.connection = res.shouldKeepAlive ? 'keep-alive' : 'close';
      if (pending.setCookies.length > 0) proxyRes.headers['set-cookie'] = [...(proxyRes.headers['set-cookie'] ?? []), ...pending.setCookies];
      pending.answered();
    });
  }

  /** Streams the exchange to legacy and back; a failure before the response is returned, not written. */
  serve(exchange: Exchange): Promise<LegacyOutcome> {
    const { req, res, requestId, timeoutMs, setCookies, body } = exchange;
    const started = process.hrtime.bigint();
    const seconds = () => Number(process.hrtime.bigint() - started) / 1e9;
    req.headers['x-request-id'] = requestId;

    return new Promise((resolve) => {
      this.pending.set(req, { timeoutMs, setCookies, answered: () => resolve({ seconds: seconds(), failure: undefined }) });
      const options = body ? { buffer: Readable.from([body]) } : {};
      this.proxy.web(req, res, options, (error: NodeJS.ErrnoException) => {
        if (res.headersSent) res.destroy();
        resolve({ seconds: seconds(), failure: failureOf(error, timeoutMs) });
      });
    });
  }

  close(): void {
    this.proxy.close();
    this.agent.destroy();
  }
}
