import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';
import { rootCertificates } from 'node:tls';
import { buildConnector, type Dispatcher, Pool } from 'undici';
import { failure, type Observation, response } from '../../compare/index.js';
import { BodyStalled } from '../http/body.js';
import type { LegacyConfig } from '../config/config.js';
import { onceGone } from '../http/connection.js';
import type { Framing } from '../http/request.js';
import { responseHeaders } from '../http/respond.js';
import { acceptingContinue } from './interim.js';
import { type Answer, failedAnswer, type FailureReason, msSince, type UpstreamFailure } from './answer.js';
import type { Exchange, UpstreamRequest } from './upstream.js';

/** The client went away: the exchange is dropped, and nothing of it is legacy's fault. */
class ClientGone extends Error {}

/** A shadow exchange ran past its request's deadline. */
class ShadowDeadline extends Error {}

/** undici's own: no response headers in time, a stall between two pieces of the body, no connection in time. */
const TIMEOUTS: ReadonlySet<string> = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT']);
const UNREACHABLE: ReadonlySet<string> = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EHOSTUNREACH']);
/** undici's own parse errors: a header block over its limit, a body short of or past its Content-Length. */
const MALFORMED: ReadonlySet<string> = new Set(['UND_ERR_HEADERS_OVERFLOW', 'UND_ERR_RES_CONTENT_LENGTH_MISMATCH']);

function reasonOf(error: Error): FailureReason {
  const code = (error as NodeJS.ErrnoException).code ?? '';
  if (error instanceof ShadowDeadline || TIMEOUTS.has(code)) return 'timeout';
  if (UNREACHABLE.has(code)) return 'refused';
  // llhttp's codes: what legacy sent is not HTTP (a status of 000, say).
  if (code.startsWith('HPE_') || MALFORMED.has(code)) return 'invalid_response';
  return 'reset';
}

function failureOf(error: Error, config: LegacyConfig): UpstreamFailure {
  const code = (error as NodeJS.ErrnoException).code;
  switch (reasonOf(error)) {
    case 'timeout': return {
      reason: 'timeout', status: 504,
      detail: code === 'UND_ERR_BODY_TIMEOUT' ? `The legacy system stalled for over ${config.idleTimeoutMs} ms.`
        : code === 'UND_ERR_CONNECT_TIMEOUT' ? 'The legacy system did not accept a connection in time.'
          : `The legacy system sent no response headers within ${config.timeoutMs} ms.`,
    };
    case 'refused': return { reason: 'refused', status: 502, detail: `The legacy system could not be reached (${code}).` };
    case 'invalid_response': return { reason: 'invalid_response', status: 502, detail: `The legacy system answered something that is not valid HTTP (${code}: ${error.message}).` };
    default: return { reason: 'reset', status: 502, detail: `The legacy system broke off the exchange (${code ?? error.message}).` };
  }
}

/**
 * How a primary exchange with legacy ended: legacy's answer (a failure before the response is the
 * caller's to answer; after the headers the client has been cut off), or the client's own end of
 * it, which says nothing of legacy: it left (`ms` to then), or paused its body past `traffic.bodyIdleMs`.
 */
export type Forwarded = Answer | { readonly clientEnded: 'left'; readonly ms: number } | { readonly clientEnded: 'stalled' };

/** A response body collected up to `limit` bytes; past it, only its size is known. */
class Collected {
  private readonly chunks: Buffer[] = [];
  size = 0;

  constructor(readonly limit: number) {}

  add(chunk: Buffer): void {
    this.size += chunk.length;
    if (this.size <= this.limit) this.chunks.push(chunk);
  }

  get over(): boolean {
    return this.size > this.limit;
  }

  observation(status: number, headers: IncomingHttpHeaders): Observation {
    if (this.over) return failure(`response over the ${this.limit}-byte capture limit`);
    return response(status, headers, Buffer.concat(this.chunks));
  }
}

/**
 * The headers legacy gets: with the client's length for a streamed body; without one undici sends
 * it chunked, as the client did. A buffered body undici frames by its length.
 */
function framed(headers: Readonly<IncomingHttpHeaders>, body: Buffer | Readable, framing: Framing): OutgoingHttpHeaders {
  return !Buffer.isBuffer(body) && framing.kind === 'length' ? { ...headers, 'content-length': String(framing.bytes) } : headers;
}

const LEFT_AT_ONCE: Forwarded = { clientEnded: 'left', ms: 0 };
const STALLED: Forwarded = { clientEnded: 'stalled' };

type Send = (method: string, target: string, headers: OutgoingHttpHeaders, body: Buffer | Readable | null, handler: Dispatcher.DispatchHandler) => void;

/**
 * One primary exchange with legacy, from the first byte sent to the client's last byte or its
 * departure, as an undici dispatch handler: legacy's answer is written straight to the client,
 * with no response stream in between. undici keeps the two clocks: `timeoutMs` to the response
 * headers once the request is sent (or while legacy does not take its body), and `idleTimeoutMs`
 * between two pieces of the response, never counting a pause the client causes (a slow upload,
 * or a slow reader holding the response back).
 */
class Forwarding implements Dispatcher.DispatchHandler {
  private readonly started = process.hrtime.bigint();
  private controller: Dispatcher.DispatchController | undefined;
  private status = 0;
  private headers: IncomingHttpHeaders = {};
  private ms: number | undefined;
  private broke: UpstreamFailure | undefined;
  private capture: Collected | undefined;
  private complete = false;
  private stalled = false;
  private settled = false;

  constructor(
    private readonly send: Send,
    private readonly config: LegacyConfig,
    private readonly exchange: Exchange,
    private readonly body: Buffer | Readable,
    private readonly captureLimit: number | undefined,
    private readonly resolve: (forwarded: Forwarded) => void,
  ) {
    onceGone(exchange.res, () => {
      if (!exchange.res.writableFinished) this.controller?.abort(new ClientGone('the client left'));
      this.settle();
    });
  }

  start(): void {
    const { inbound } = this.exchange;
    const body = Buffer.isBuffer(this.body) || inbound.framing.kind !== 'none' ? this.body : null;
    this.send(inbound.method, inbound.target, framed(inbound.headers, this.body, inbound.framing), body, this);
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
  }

  onResponseStart(controller: Dispatcher.DispatchController, status: number, headers: IncomingHttpHeaders): void {
    // 1xx: informational, the final response follows.
    if ((status >= 100 && status < 200) || this.settled) return;
    const { res, req } = this.exchange;
    this.status = status;
    this.headers = headers;
    this.ms = msSince(this.started);
    try {
      if (status < 100 || status > 599) throw new Error(`status ${status} is not an HTTP status`);
      // A client still sending a body that legacy did not wait for cannot reuse its connection.
      res.writeHead(status, responseHeaders(this.exchange, headers, this.exchange.keepAlive(req.complete)));
    } catch (error) {
      this.broke = { reason: 'invalid_response', status: 502, detail: `The legacy system answered something that cannot be passed on: ${(error as Error).message}.` };
      controller.abort(error as Error);
      this.settle();
      return;
    }
    if (this.captureLimit !== undefined) this.capture = new Collected(this.captureLimit);
    // Complete with its headers: whatever legacy sends after them is not part of this response.
    if (status === 204 || status === 304 || this.exchange.inbound.method === 'HEAD') this.onResponseEnd();
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    this.capture?.add(chunk);
    if (!this.exchange.res.write(chunk)) {
      controller.pause();
      this.exchange.res.once('drain', () => controller.resume());
    }
  }

  onResponseEnd(): void {
    if (this.complete) return;
    this.complete = true;
    this.exchange.res.end();
  }

  onResponseError(_controller: Dispatcher.DispatchController, error: Error): void {
    const { res, log } = this.exchange;
    if (this.settled || error instanceof ClientGone) return;
    // The client's own request broke (it left, or sent a body the parser refused): not legacy's failure.
    if (this.exchange.req.errored) {
      this.settle();
      return;
    }
    // Bytes after a complete response (a body on a 204, say) only cost legacy that connection.
    if (res.writableFinished || this.complete) {
      log.warn({ err: error }, 'legacy misbehaved after a complete response');
      return;
    }
    // The client's pause, not legacy's failure: undici gave up the request when its body stream broke.
    if (error instanceof BodyStalled) this.stalled = true;
    else this.broke ??= failureOf(error, this.config);
    if (res.headersSent) res.destroy();
    else this.settle();
  }

  private settle(): void {
    if (this.settled) return;
    this.settled = true;
    const ms = this.ms ?? msSince(this.started);
    if (this.stalled) this.resolve(STALLED);
    else if (this.broke) this.resolve(failedAnswer(this.broke, ms));
    else if (!this.exchange.res.writableFinished) this.resolve({ clientEnded: 'left', ms });
    else this.resolve({ observation: this.capture?.observation(this.status, this.headers) ?? response(this.status, this.headers), ms });
  }
}

/** The buffered exchange of a shadow: the whole answer collected, within the request's deadline. */
class Fetching implements Dispatcher.DispatchHandler {
  private readonly started = process.hrtime.bigint();
  private readonly deadline: NodeJS.Timeout;
  private controller: Dispatcher.DispatchController | undefined;
  private status = 0;
  private headers: IncomingHttpHeaders = {};
  private readonly collected: Collected;
  private settled = false;

  constructor(timeoutMs: number, maxBytes: number, private readonly resolve: (answer: Answer) => void) {
    this.collected = new Collected(maxBytes);
    this.deadline = setTimeout(() => {
      const late = new ShadowDeadline(`did not answer within ${timeoutMs} ms`);
      this.controller?.abort(late);
      this.fail(late);
    }, timeoutMs);
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
  }

  onResponseStart(_controller: Dispatcher.DispatchController, status: number, headers: IncomingHttpHeaders): void {
    this.status = status;
    this.headers = headers;
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    this.collected.add(chunk);
    if (this.collected.over) {
      controller.abort(new Error('over the capture limit'));
      this.settle(failedAnswer({ reason: 'reset', status: 502, detail: `the response ran over the ${this.collected.limit}-byte capture limit` }, msSince(this.started)));
    }
  }

  onResponseEnd(): void {
    this.settle({ observation: this.collected.observation(this.status, this.headers), ms: msSince(this.started) });
  }

  onResponseError(_controller: Dispatcher.DispatchController, error: Error): void {
    this.fail(error);
  }

  private fail(error: Error): void {
    const reason = reasonOf(error);
    const detail = this.status === 0 ? error.message : 'the response broke off';
    this.settle(failedAnswer({ reason, status: reason === 'timeout' ? 504 : 502, detail }, msSince(this.started)));
  }

  private settle(answer: Answer): void {
    if (this.settled) return;
    this.settled = true;
    clearTimeout(this.deadline);
    this.resolve(answer);
  }
}

/** undici's own connector (trusting `ca` besides the system's), each connection accepting a 100 it did not ask for. */
function connectorFor(config: LegacyConfig): buildConnector.connector {
  const connect = buildConnector(config.ca ? { ca: [...rootCertificates, config.ca] } : {});
  return (options, callback) => connect(options, (...args) => {
    if (args[1]) acceptingContinue(args[1]);
    callback(...args);
  });
}

/**
 * The monolith over HTTP or HTTPS, through one undici connection pool: the primary exchange
 * streamed both ways, and the buffered exchange of a shadow. Every exchange settles, whatever
 * legacy or the client does. undici, not http-proxy nor Node's http client: measured in one run,
 * it costs half to two thirds of their CPU per request (docs/performance.md).
 */
export class LegacyBackend {
  private readonly pool: Pool;
  /** A path the legacy URL names, put before every request's target. */
  private readonly prefix: string;

  constructor(private readonly config: LegacyConfig) {
    const { url } = config;
    this.pool = new Pool(url.origin, {
      connections: config.connections,
      // Closes a pooled connection idle this long, before legacy closes it under a request.
      keepAliveTimeout: config.keepAliveMs,
      keepAliveMaxTimeout: config.keepAliveMs,
      headersTimeout: config.timeoutMs,
      bodyTimeout: config.idleTimeoutMs,
      connect: connectorFor(config),
    });
    this.prefix = url.pathname.replace(/\/$/, '');
  }

  private readonly send: Send = (method, target, headers, body, handler) => {
    this.pool.dispatch({ method, path: this.prefix + target, headers: headers as IncomingHttpHeaders, body }, handler);
  };

  /**
   * Streams the exchange to legacy and the answer back to the client. A failure before the
   * response is returned for the caller to answer; with `captureLimit`, the response is also
   * collected for comparison. Settles when the exchange is over, at once for a client already gone.
   */
  forward(exchange: Exchange, body: Buffer | Readable, captureLimit?: number): Promise<Forwarded> {
    if (exchange.res.destroyed) return Promise.resolve(LEFT_AT_ONCE);
    return new Promise((resolve) => new Forwarding(this.send, this.config, exchange, body, captureLimit, resolve).start());
  }

  /** Sends a buffered request and collects the whole answer within the request's timeout: the legacy side of a shadow. */
  fetch(request: UpstreamRequest, maxBytes: number): Promise<Answer> {
    return new Promise((resolve) => {
      this.send(request.method, request.url, request.headers, request.body, new Fetching(request.timeoutMs, maxBytes, resolve));
    });
  }

  close(): void {
    this.pool.destroy().catch(() => undefined);
  }
}
