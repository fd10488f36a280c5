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

/** RFC 9110 §9.2.2: methods a proxy may send again when a reused connection turned out to be closed. */
const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE']);

const ABANDONED: LegacyOutcome = { seconds: 0, failure: undefined, abandoned: true, captured: undefined };

type Send = (method: string, target: string, headers: OutgoingHttpHeaders) => http.ClientRequest;

/**
 * One primary exchange with legacy, from the first byte sent to the client's last byte or its
 * departure. Two clocks: `timeoutMs` from the request's last byte to the response headers, and
 * `idleTimeoutMs` for a stall while the body goes up or the response comes down, never counting
 * a pause that the client causes (a slow upload, or a slow reader holding the response back).
 */
class Forwarding {
  private readonly started = process.hrtime.bigint();
  private readonly idle: NodeJS.Timeout;
  private toHeaders: NodeJS.Timeout | undefined;
  private outgoing!: http.ClientRequest;
  private answer: http.IncomingMessage | undefined;
  private seconds: number | undefined;
  private broke: Failure | undefined;
  private capture: Capture | undefined;
  private settled = false;

  constructor(
    private readonly send: Send,
    private readonly config: LegacyConfig,
    private readonly exchange: Exchange,
    private readonly body: Buffer | Readable,
    private readonly captureLimit: number | undefined,
    private readonly resolve: (outcome: LegacyOutcome) => void,
  ) {
    this.idle = setTimeout(() => this.onIdle(), config.idleTimeoutMs);
    exchange.res.once('close', () => {
      if (!exchange.res.writableFinished) this.outgoing.destroy();
      this.settle();
    });
    if (!Buffer.isBuffer(body)) body.on('data', () => this.idle.refresh());
  }

  start(attempt = 1): void {
    const { inbound } = this.exchange;
    const outgoing = this.send(inbound.method, inbound.target, { ...inbound.headers, ...framingHeaders(this.body, inbound.framing) });
    this.outgoing = outgoing;
    outgoing.on('error', (error: NodeJS.ErrnoException) => this.onError(error, attempt));
    outgoing.on('response', (answer) => this.onResponse(answer));
    outgoing.on('finish', () => {
      this.toHeaders = setTimeout(() => outgoing.destroy(new UpstreamTimeout(`sent no response headers within ${this.config.timeoutMs} ms`)), this.config.timeoutMs);
    });
    if (Buffer.isBuffer(this.body)) outgoing.end(this.body);
    else if (inbound.framing.kind === 'none') outgoing.end();
    else this.body.pipe(outgoing);
  }

  private onIdle(): void {
    if (this.settled) return;
    const { res } = this.exchange;
    const waitingOnClient = this.responded() ? res.writableNeedDrain : !this.outgoing.writableNeedDrain;
    // Before the headers, once the request is sent, the headers clock is the one that runs.
    if (waitingOnClient || (!this.responded() && this.outgoing.writableFinished)) {
      this.idle.refresh();
      return;
    }
    this.outgoing.destroy(new UpstreamTimeout(`stalled for over ${this.config.idleTimeoutMs} ms`));
  }

  /** A reused keep-alive connection that legacy had closed: the request never reached it, so an idempotent one is sent again. */
  private retryable(error: NodeJS.ErrnoException, attempt: number): boolean {
    const { inbound } = this.exchange;
    const replayable = Buffer.isBuffer(this.body) || inbound.framing.kind === 'none';
    return attempt === 1 && !this.responded() && this.outgoing.reusedSocket && (error.code === 'ECONNRESET' || error.code === 'EPIPE')
      && replayable && IDEMPOTENT.has(inbound.method);
  }

  private onError(error: NodeJS.ErrnoException, attempt: number): void {
    if (this.settled) return;
    const { res, log } = this.exchange;
    if (this.retryable(error, attempt)) {
      clearTimeout(this.toHeaders);
      log.debug({ code: error.code }, 'legacy closed a reused connection; sending the request again');
      this.start(attempt + 1);
      return;
    }
    // Bytes after a complete response (a body on a 204, say) only cost legacy that connection.
    if (res.writableFinished || this.answer?.complete) {
      log.warn({ err: error }, 'legacy misbehaved after a complete response');
      return;
    }
    this.broke ??= failureOf(error);
    if (res.headersSent) res.destroy();
    else this.settle();
  }

  private onResponse(answer: http.IncomingMessage): void {
    const { res, req } = this.exchange;
    this.answer = answer;
    this.seconds = this.elapsed();
    clearTimeout(this.toHeaders);
    this.idle.refresh();
    answer.on('error', () => undefined);
    answer.on('data', () => this.idle.refresh());
    answer.once('close', () => {
      if (answer.complete || res.writableFinished || !res.headersSent) return;
      this.broke ??= { reason: 'reset', status: 502, detail: 'The legacy system broke off its response.' };
      res.destroy();
    });
    const status = answer.statusCode ?? 0;
    try {
      if (status < 200 || status > 599) throw new Error(`status ${status} is not the status of a final response`);
      // A client still sending a body that legacy did not wait for cannot reuse its connection.
      res.writeHead(status, responseHeaders({ ...this.exchange, keepAlive: () => this.exchange.keepAlive() && req.complete }, answer.headers));
    } catch (error) {
      this.broke = { reason: 'invalid_response', status: 502, detail: `The legacy system answered something that cannot be passed on: ${(error as Error).message}.` };
      this.outgoing.destroy();
      this.settle();
      return;
    }
    if (this.captureLimit !== undefined) this.capture = new Capture(answer, this.captureLimit);
    answer.pipe(res);
  }

  private responded(): boolean {
    return this.answer !== undefined;
  }

  private elapsed(): number {
    return Number(process.hrtime.bigint() - this.started) / 1e9;
  }

  private settle(): void {
    if (this.settled) return;
    this.settled = true;
    clearTimeout(this.toHeaders);
    clearTimeout(this.idle);
    const abandoned = !this.exchange.res.writableFinished && this.broke === undefined;
    this.resolve({
      seconds: this.seconds ?? this.elapsed(),
      failure: this.broke,
      abandoned,
      captured: abandoned || this.broke ? undefined : this.capture?.observation(),
    });
  }
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
    // `timeout` closes a pooled connection idle that long, before legacy closes it under a request.
    const pooling = { keepAlive: true, maxSockets: 512, timeout: config.keepAliveMs };
    this.agent = secure
      ? new https.Agent({ ...pooling, ...(config.ca ? { ca: [...rootCertificates, config.ca] } : {}) })
      : new http.Agent(pooling);
    this.hostname = url.hostname.replace(/^\[|\]$/g, '');
    this.port = url.port;
    this.prefix = url.pathname.replace(/\/$/, '');
  }

  private readonly request: Send = (method, target, headers) => this.transport.request({
    agent: this.agent, hostname: this.hostname, port: this.port, method,
    path: this.prefix + target, headers, setHost: headers.host === undefined,
  });

  /**
   * Streams the exchange to legacy and the answer back to the client. A failure before the
   * response is returned for the caller to answer; with `captureLimit`, the response is also
   * collected for comparison. Settles when the exchange is over, at once for a client already gone.
   */
  forward(exchange: Exchange, body: Buffer | Readable, captureLimit?: number): Promise<LegacyOutcome> {
    if (exchange.res.destroyed) return Promise.resolve(ABANDONED);
    return new Promise((resolve) => new Forwarding(this.request, this.config, exchange, body, captureLimit, resolve).start());
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
