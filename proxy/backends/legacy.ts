import http from 'node:http';
import { Readable } from 'node:stream';
import httpProxy from 'http-proxy';
import { failure, type Observation, response } from '../../compare/index.js';
import { removeHopByHop } from '../headers.js';
import type { Exchange, Failure, FailureReason, UpstreamRequest } from './upstream.js';

class UpstreamTimeout extends Error {
  readonly code = 'UPSTREAM_TIMEOUT';
}

function reasonOf(error: NodeJS.ErrnoException): FailureReason {
  if (error instanceof UpstreamTimeout) return 'timeout';
  if (error.code === 'ECONNREFUSED' || error.code === 'ENOTFOUND' || error.code === 'EHOSTUNREACH') return 'refused';
  return 'reset';
}

function failureOf(error: NodeJS.ErrnoException, timeoutMs: number): Failure {
  const reason = reasonOf(error);
  if (reason === 'timeout') return { reason, status: 504, detail: `The legacy system did not answer within ${timeoutMs} ms.` };
  if (reason === 'refused') return { reason, status: 502, detail: `The legacy system could not be reached (${error.code}).` };
  return { reason, status: 502, detail: `The legacy system broke off the exchange (${error.code ?? error.message}).` };
}

export interface LegacyOutcome {
  readonly seconds: number;
  readonly failure: Failure | undefined;
  /** The response as the client got it, when capture was asked for; settles when it has been streamed. */
  readonly captured: Promise<Observation> | undefined;
}

export interface ShadowAnswer { readonly seconds: number; readonly observation: Observation; readonly failure: FailureReason | undefined }

interface Pending {
  timeoutMs: number;
  setCookies: readonly string[];
  captureLimit: number | undefined;
  answered(captured: Promise<Observation> | undefined): void;
}

/** Collects a response body while it streams elsewhere, up to `limit` bytes. */
function capture(proxyRes: http.IncomingMessage, limit: number): Promise<Observation> {
  const status = proxyRes.statusCode ?? 502;
  const headers = { ...proxyRes.headers };
  const chunks: Buffer[] = [];
  let size = 0;
  proxyRes.on('data', (chunk: Buffer) => {
    size += chunk.length;
    if (size <= limit) chunks.push(chunk);
  });
  return new Promise((resolve) => {
    proxyRes.once('end', () => resolve(size > limit ? failure(`response over the ${limit}-byte capture limit`) : response(status, headers, Buffer.concat(chunks))));
    proxyRes.once('close', () => resolve(failure('reset: the response broke off')));
  });
}

/** The monolith over HTTP: streamed both ways through http-proxy on a keep-alive agent. */
export class LegacyBackend {
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: 512 });
  private readonly proxy: httpProxy;
  private readonly pending = new WeakMap<http.IncomingMessage, Pending>();

  constructor(private readonly target: URL, private readonly keepAliveTimeoutMs: number) {
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
      const captured = pending.captureLimit === undefined ? undefined : capture(proxyRes, pending.captureLimit);
      // Ours to say, per client connection: http-proxy would otherwise promise keep-alive to a client
      // that asked to close, and a Connection header set here stops Node from announcing its timeout.
      if (res.shouldKeepAlive) {
        proxyRes.headers.connection = 'keep-alive';
        proxyRes.headers['keep-alive'] = `timeout=${Math.floor(this.keepAliveTimeoutMs / 1000)}`;
      } else {
        proxyRes.headers.connection = 'close';
      }
      if (pending.setCookies.length > 0) proxyRes.headers['set-cookie'] = [...(proxyRes.headers['set-cookie'] ?? []), ...pending.setCookies];
      pending.answered(captured);
    });
  }

  /**
   * Streams the exchange to legacy and back. A failure before the response is returned, not
   * written; with `captureLimit`, the response is also collected for comparison.
   */
  serve(exchange: Exchange, captureLimit?: number): Promise<LegacyOutcome> {
    const { req, res, requestId, timeoutMs, setCookies, body } = exchange;
    const started = process.hrtime.bigint();
    const seconds = () => Number(process.hrtime.bigint() - started) / 1e9;
    req.headers['x-request-id'] = requestId;

    return new Promise((resolve) => {
      this.pending.set(req, { timeoutMs, setCookies, captureLimit, answered: (captured) => resolve({ seconds: seconds(), failure: undefined, captured }) });
      const options = body === undefined ? {} : { buffer: Buffer.isBuffer(body) ? Readable.from([body]) : body };
      this.proxy.web(req, res, options, (error: NodeJS.ErrnoException) => {
        if (res.headersSent) res.destroy();
        const failed = failureOf(error, timeoutMs);
        resolve({ seconds: seconds(), failure: failed, captured: Promise.resolve(failure(`${failed.reason}: ${failed.detail}`)) });
      });
    });
  }

  /** Sends a buffered request and collects the whole answer: the legacy side of a shadow. */
  fetch(request: UpstreamRequest, maxBytes: number): Promise<ShadowAnswer> {
    const started = process.hrtime.bigint();
    const seconds = () => Number(process.hrtime.bigint() - started) / 1e9;
    return new Promise((resolve) => {
      const settle = (observation: Observation, reason?: FailureReason) => resolve({ seconds: seconds(), observation, failure: reason });
      const outgoing = http.request(new URL(request.url, this.target), {
        method: request.method,
        headers: { ...request.headers, 'content-length': String(request.body.length) },
        agent: this.agent,
      }, (answer) => {
        const chunks: Buffer[] = [];
        let size = 0;
        answer.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > maxBytes) answer.destroy();
          else chunks.push(chunk);
        });
        answer.on('end', () => settle(response(answer.statusCode ?? 502, answer.headers, Buffer.concat(chunks))));
        answer.on('close', () => {
          if (!answer.complete) settle(failure(size > maxBytes ? `response over the ${maxBytes}-byte capture limit` : 'reset: the response broke off'), 'reset');
        });
      });
      outgoing.setTimeout(request.timeoutMs, () => outgoing.destroy(new UpstreamTimeout(`no answer within ${request.timeoutMs} ms`)));
      outgoing.on('error', (error: NodeJS.ErrnoException) => {
        const reason = reasonOf(error);
        settle(failure(`${reason}: ${error.message}`), reason);
      });
      outgoing.end(request.body);
    });
  }

  close(): void {
    this.proxy.close();
    this.agent.destroy();
  }
}
