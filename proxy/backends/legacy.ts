import http from 'node:http';
import httpProxy from 'http-proxy';
import { sendProblem } from '../problem.js';
import type { Backend, Exchange, FailureReason, UpstreamOutcome } from './upstream.js';

class UpstreamTimeout extends Error {
  readonly code = 'UPSTREAM_TIMEOUT';
}

function reasonOf(error: NodeJS.ErrnoException): FailureReason {
  if (error instanceof UpstreamTimeout || error.code === 'ETIMEDOUT') return 'timeout';
  if (error.code === 'ECONNREFUSED' || error.code === 'ENOTFOUND' || error.code === 'EHOSTUNREACH') return 'refused';
  return 'reset';
}

interface Pending { timeoutMs: number; setCookies: readonly string[]; answered(): void }

/** The monolith over HTTP: streamed both ways through http-proxy on a keep-alive agent. */
export class LegacyBackend implements Backend {
  readonly side = 'legacy' as const;
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: 512 });
  private readonly proxy: httpProxy;
  private readonly pending = new WeakMap<http.IncomingMessage, Pending>();

  constructor(target: URL) {
    this.proxy = httpProxy.createProxyServer({ target: target.href, agent: this.agent, xfwd: true, ws: false });
    // Errors go to each request's callback; this listener only keeps a stray one from ending the process.
    this.proxy.on('error', () => undefined);
    this.proxy.on('proxyReq', (proxyReq, req) => {
      const pending = this.pending.get(req);
      if (!pending) return;
      proxyReq.setTimeout(pending.timeoutMs, () => proxyReq.destroy(new UpstreamTimeout(`no answer within ${pending.timeoutMs} ms`)));
    });
    this.proxy.on('proxyRes', (proxyRes, req) => {
      const pending = this.pending.get(req);
      if (!pending) return;
      if (pending.setCookies.length > 0) proxyRes.headers['set-cookie'] = [...(proxyRes.headers['set-cookie'] ?? []), ...pending.setCookies];
      pending.answered();
    });
  }

  serve(exchange: Exchange): Promise<UpstreamOutcome> {
    const { req, res, requestId, timeoutMs, setCookies } = exchange;
    const started = process.hrtime.bigint();
    const seconds = () => Number(process.hrtime.bigint() - started) / 1e9;
    req.headers['x-request-id'] = requestId;

    return new Promise((resolve) => {
      this.pending.set(req, { timeoutMs, setCookies, answered: () => resolve({ side: 'legacy', seconds: seconds(), failure: undefined }) });
      this.proxy.web(req, res, {}, (error: NodeJS.ErrnoException) => {
        const reason = reasonOf(error);
        if (reason === 'timeout') sendProblem(res, 504, 'upstream_timeout', `The legacy system did not answer within ${timeoutMs} ms.`);
        else sendProblem(res, 502, `upstream_${reason}`, `The legacy system failed (${error.code ?? error.message}).`);
        resolve({ side: 'legacy', seconds: seconds(), failure: reason });
      });
    });
  }

  close(): void {
    this.proxy.close();
    this.agent.destroy();
  }
}
