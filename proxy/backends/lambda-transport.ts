import { buildQueryString, HttpResponse } from '@smithy/core/protocols';
import type { HttpHandlerOptions, HttpRequest, RequestHandler } from '@smithy/types';
import { type Dispatcher, Pool } from 'undici';

/** Why a call was aborted: the caller's reason (its deadline), when it gave one. */
function abortReason(signal: object): Error {
  const { reason } = signal as { reason?: unknown };
  return reason instanceof Error ? reason : new Error('aborted');
}

/** A header undici forbids in a request; Node's handler answers it itself, and nothing here waits for 100 Continue. */
const EXPECT = 'expect';

/** Collects one response whole and settles once, whatever the connection does. */
class Collecting implements Dispatcher.DispatchHandler {
  private readonly chunks: Buffer[] = [];
  private statusCode = 0;
  private reason: string | undefined;
  private headers: Record<string, string> = {};
  private settled = false;
  controller: Dispatcher.DispatchController | undefined;

  constructor(private readonly resolve: (response: HttpResponse) => void, private readonly reject: (error: Error) => void) {}

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
  }

  onResponseStart(_controller: Dispatcher.DispatchController, statusCode: number, headers: Record<string, string | string[] | undefined>, reason?: string): void {
    this.statusCode = statusCode;
    this.reason = reason;
    this.headers = {};
    for (const name in headers) {
      const value = headers[name];
      if (value !== undefined) this.headers[name] = Array.isArray(value) ? value.join(', ') : value;
    }
  }

  onResponseData(_controller: Dispatcher.DispatchController, chunk: Buffer): void {
    this.chunks.push(chunk);
  }

  onResponseEnd(): void {
    if (this.settled) return;
    this.settled = true;
    // The whole body as bytes: the SDK's deserializers take them as they are, with no stream to collect.
    this.resolve(new HttpResponse({ statusCode: this.statusCode, reason: this.reason, headers: this.headers, body: Buffer.concat(this.chunks) }));
  }

  onResponseError(_controller: Dispatcher.DispatchController, error: Error): void {
    this.fail(error);
  }

  /** Settles with `error` and gives up the exchange, if it is not settled yet. */
  fail(error: Error): void {
    if (this.settled) return;
    this.settled = true;
    this.controller?.abort(error);
    this.reject(error);
  }
}

/**
 * The LambdaClient's HTTP handler: the SDK's own signed request, sent on an undici pool per
 * endpoint, and the answer handed back as bytes. In place of the SDK's NodeHttpHandler, which
 * builds a request and a response stream, a collector and timers on every call: measured in
 * one run, undici's dispatch costs half to two thirds of Node's HTTP client per request (docs/performance.md). Deadlines are the caller's: it aborts through the signal.
 */
export class LambdaTransport implements RequestHandler<HttpRequest, HttpResponse, HttpHandlerOptions> {
  readonly metadata = { handlerProtocol: 'http/1.1' };
  private readonly pools = new Map<string, Pool>();

  constructor(private readonly connections: number) {}

  handle(request: HttpRequest, options: HttpHandlerOptions = {}): Promise<{ response: HttpResponse }> {
    return new Promise((resolve, reject) => {
      const { abortSignal } = options;
      if (abortSignal?.aborted) return reject(abortReason(abortSignal));
      const handler = new Collecting((response) => resolve({ response }), reject);
      // The SDK's signals, old and new, all call `onabort`.
      if (abortSignal) abortSignal.onabort = () => handler.fail(abortReason(abortSignal));
      const query = request.query ? buildQueryString(request.query) : '';
      const headers: Record<string, string> = {};
      for (const name in request.headers) if (name.toLowerCase() !== EXPECT) headers[name] = request.headers[name] as string;
      this.pool(request).dispatch({
        method: request.method,
        path: query ? `${request.path}?${query}` : request.path,
        headers,
        body: request.body ?? null,
      }, handler);
    });
  }

  private pool(request: HttpRequest): Pool {
    const host = request.hostname.includes(':') && !request.hostname.startsWith('[') ? `[${request.hostname}]` : request.hostname;
    const origin = `${request.protocol}//${host}${request.port === undefined ? '' : `:${request.port}`}`;
    let pool = this.pools.get(origin);
    if (!pool) {
      pool = new Pool(origin, { connections: this.connections });
      this.pools.set(origin, pool);
    }
    return pool;
  }

  updateHttpClientConfig(): void {}

  httpHandlerConfigs(): Record<string, never> {
    return {};
  }

  destroy(): void {
    for (const pool of this.pools.values()) pool.destroy().catch(() => undefined);
    this.pools.clear();
  }
}
