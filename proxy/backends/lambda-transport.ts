import { type Dispatcher, Pool } from 'undici';

/** What a caller's deadline needs of a signal: it sets `onabort`. */
export interface AbortSignalLike {
  aborted: boolean;
  reason?: Error;
  onabort: (() => void) | null;
}

export interface TransportRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Uint8Array;
}

export interface TransportResponse {
  readonly statusCode: number;
  /** Lower-case names; a repeated header's values joined with `, `. */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Buffer;
}

/** Why a call was aborted: the caller's reason (its deadline), when it gave one. */
function abortReason(signal: AbortSignalLike): Error {
  return signal.reason ?? new Error('aborted');
}

/** Collects one response whole and settles once, whatever the connection does. */
class Collecting implements Dispatcher.DispatchHandler {
  private readonly chunks: Buffer[] = [];
  private statusCode = 0;
  private headers: Record<string, string> = {};
  private settled = false;
  controller: Dispatcher.DispatchController | undefined;

  constructor(private readonly resolve: (response: TransportResponse) => void, private readonly reject: (error: Error) => void) {}

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
  }

  onResponseStart(_controller: Dispatcher.DispatchController, statusCode: number, headers: Record<string, string | string[] | undefined>): void {
    this.statusCode = statusCode;
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
    this.resolve({ statusCode: this.statusCode, headers: this.headers, body: this.chunks.length === 1 ? this.chunks[0] as Buffer : Buffer.concat(this.chunks) });
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
 * The Invoke client's HTTP: one undici keep-alive pool per endpoint, the answer handed back whole
 * as bytes. undici's dispatch costs half to two thirds of Node's HTTP client per request (docs/performance.md). Deadlines are the caller's: it aborts through the signal.
 */
export class LambdaTransport {
  private readonly pools = new Map<string, Pool>();

  constructor(private readonly connections: number) {}

  send(origin: string, request: TransportRequest, signal?: AbortSignalLike): Promise<TransportResponse> {
    return new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(abortReason(signal));
      const handler = new Collecting(resolve, reject);
      if (signal) signal.onabort = () => handler.fail(abortReason(signal));
      this.pool(origin).dispatch({ method: request.method, path: request.path, headers: request.headers, body: request.body }, handler);
    });
  }

  private pool(origin: string): Pool {
    let pool = this.pools.get(origin);
    if (!pool) {
      pool = new Pool(origin, { connections: this.connections });
      this.pools.set(origin, pool);
    }
    return pool;
  }

  destroy(): void {
    for (const pool of this.pools.values()) pool.destroy().catch(() => undefined);
    this.pools.clear();
  }
}
