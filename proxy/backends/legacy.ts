import http, { type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http';
import https from 'node:https';
import type { Readable } from 'node:stream';
import { rootCertificates } from 'node:tls';
import { failure, type Observation, response } from '../../compare/index.js';
import type { LegacyConfig } from '../config.js';
import type { Framing } from '../traffic/inbound.js';
import { responseHeaders } from '../traffic/respond.js';
import type { Exchange, Failure, FailureReason, UpstreamRequest } from './upstream.js';

/** Legacy took longer than allowed: to its response headers, or between two pieces of its body. */
class UpstreamTimeout extends Error {}

function reasonOf(error: NodeJS.ErrnoException): FailureReason {
  if (error instanceof UpstreamTimeout) return 'timeout';
  if (error.code === 'ECONNREFUSED' || error.code === 'ENOTFOUND' || error.code === 'EHOSTUNREACH') return 'refused';
  return 'reset';
}

function failureOf(error: NodeJS.ErrnoException): Failure {
  const reason = reasonOf(error);
  if (reason === 'timeout') return { reason, status: 504, detail: `The legacy system ${error.message}.` };
  if (reason === 'refused') return { reason, status: 502, detail: `The legacy system could not be reached (${error.code}).` };
  return { reason, status: 502, detail: `The legacy system broke off the exchange (${error.code ?? error.message}).` };
}

/** How one primary exchange with legacy ended. */
export interface LegacyOutcome {
  /** To the response headers, or to the failure. */
  readonly seconds: number;
  /**
   * Why legacy gave no whole answer. Before any response the caller answers the client; after
   * the headers the client has been cut off, since its response cannot be finished.
   */
  readonly failure: Failure | undefined;
  /** The client left before its answer was complete: there is nothing of this exchange to compare. */
  readonly abandoned: boolean;
  /** The response as the client got it, when capture was asked for. */
  readonly captured: Observation | undefined;
}

export interface ShadowAnswer { readonly seconds: number; readonly observation: Observation; readonly failure: FailureReason | undefined }

/** Collects a response body while it streams elsewhere, up to `limit` bytes. */
class Capture {
  private readonly chunks: Buffer[] = [];
  private size = 0;

  constructor(private readonly answer: http.IncomingMessage, private readonly limit: number) {
    answer.on('data', (chunk: Buffer) => {
      this.size += chunk.length;
      if (this.size <= limit) this.chunks.push(chunk);
    });
  }

  observation(): Observation {
    if (this.size > this.limit) return failure(`response over the ${this.limit}-byte capture limit`);
    return response(this.answer.statusCode ?? 502, this.answer.headers, Buffer.concat(this.chunks));
  }
}

/** The headers that frame a body as it is sent: a buffered body by its length, a streamed one as the client framed it. */
function framingHeaders(body: Buffer | Readable, framing: Framing): OutgoingHttpHeaders {
  if (Buffer.isBuffer(body)) return body.length > 0 ? { 'content-length': body.length } : {};
  if (framing.kind === 'chunked') return { 'transfer-encoding': 'chunked' };
  if (framing.kind === 'length') return { 'content-length': framing.bytes };
  return {};
}

/**
 * The monolith over HTTP or HTTPS, on a keep-alive agent: the primary exchange streamed both ways,
 * and the buffered exchange of a shadow. Every exchange settles, whatever legacy or the client does.
 */
export class LegacyBackend {
  private readonly agent: http.Agent;
  private readonly transport: typeof http | typeof https;
  private readonly hostname: string;
  private readonly port: string;
  /** A path the legacy URL names, put before every request's target. */
  private readonly prefix: string;

  constructor(private readonly config: LegacyConfig) {
    const { url } = config;
    const secure = url.protocol === 'https:';
    this.transport = secure ? https : http;
    this.agent = secure
      ? new https.Agent({ keepAlive: true, maxSockets: 512, ...(config.ca ? { ca: [...rootCertificates, config.ca] } : {}) })
      : new http.Agent({ keepAlive: true, maxSockets: 512 });
    this.hostname = url.hostname.replace(/^\[|\]$/g, '');
    this.port = url.port;
    this.prefix = url.pathname.replace(/\/$/, '');
  }

  private request(method: string, target: string, headers: OutgoingHttpHeaders): http.ClientRequest {
    return this.transport.request({
      agent: this.agent, hostname: this.hostname, port: this.port, method,
      path: this.prefix + target, headers, setHost: headers.host === undefined,
    });
  }

  /**
   * Streams the exchange to legacy and the answer back to the client. A failure before the
   * response is returned for the caller to answer; with `captureLimit`, the response is also
   * collected for comparison. Settles when the exchange is over.
   */
  forward(exchange: Exchange, body: Buffer | Readable, captureLimit?: number): Promise<LegacyOutcome> {
    const { inbound, res } = exchange;
    const started = process.hrtime.bigint();
    const elapsed = () => Number(process.hrtime.bigint() - started) / 1e9;
    let seconds: number | undefined;
    let broke: Failure | undefined;
    let capture: Capture | undefined;

    return new Promise((resolve) => {
      let settled = false;
      const settle = () => {
        if (settled) return;
        settled = true;
        clearTimeout(toHeaders);
        const abandoned = !res.writableFinished && broke === undefined;
        resolve({ seconds: seconds ?? elapsed(), failure: broke, abandoned, captured: abandoned || broke ? undefined : capture?.observation() });
      };
      const outgoing = this.request(inbound.method, inbound.target, { ...inbound.headers, ...framingHeaders(body, inbound.framing) });
      const toHeaders = setTimeout(() => outgoing.destroy(new UpstreamTimeout(`sent no response headers within ${this.config.timeoutMs} ms`)), this.config.timeoutMs);

      outgoing.on('error', (error: NodeJS.ErrnoException) => {
        if (settled || res.destroyed) return;
        broke ??= failureOf(error);
        if (res.headersSent) res.destroy();
        else settle();
      });
      outgoing.on('response', (answer) => {
        seconds = elapsed();
        clearTimeout(toHeaders);
        outgoing.setTimeout(this.config.idleTimeoutMs, () => outgoing.destroy(new UpstreamTimeout(`paused its response for over ${this.config.idleTimeoutMs} ms`)));
        answer.on('error', () => undefined);
        answer.once('close', () => {
          if (answer.complete || res.writableFinished) return;
          broke ??= { reason: 'reset', status: 502, detail: 'The legacy system broke off its response.' };
          res.destroy();
        });
        res.writeHead(answer.statusCode ?? 502, answer.statusMessage, responseHeaders(exchange, answer.headers));
        if (captureLimit !== undefined) capture = new Capture(answer, captureLimit);
        answer.pipe(res);
      });
      res.once('close', () => {
        if (!res.writableFinished) outgoing.destroy();
        settle();
      });

      if (Buffer.isBuffer(body)) outgoing.end(body);
      else if (inbound.framing.kind === 'none') outgoing.end();
      else body.pipe(outgoing);
    });
  }

  /** Sends a buffered request and collects the whole answer within the request's timeout: the legacy side of a shadow. */
  fetch(request: UpstreamRequest, maxBytes: number): Promise<ShadowAnswer> {
    const started = process.hrtime.bigint();
    const seconds = () => Number(process.hrtime.bigint() - started) / 1e9;
    return new Promise((resolve) => {
      let settled = false;
      const settle = (observation: Observation, reason?: FailureReason) => {
        if (settled) return;
        settled = true;
        clearTimeout(deadline);
        resolve({ seconds: seconds(), observation, failure: reason });
      };
      const headers: IncomingHttpHeaders = { ...request.headers, 'content-length': String(request.body.length) };
      const outgoing = this.request(request.method, request.url, headers);
      const deadline = setTimeout(() => outgoing.destroy(new UpstreamTimeout(`did not answer within ${request.timeoutMs} ms`)), request.timeoutMs);
      outgoing.on('response', (answer) => {
        const chunks: Buffer[] = [];
        let size = 0;
        answer.on('error', () => undefined);
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
      outgoing.on('error', (error: NodeJS.ErrnoException) => {
        const reason = reasonOf(error);
        settle(failure(`${reason}: ${error.message}`), reason);
      });
      outgoing.end(request.body);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}
