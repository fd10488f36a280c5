import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Context } from 'aws-lambda';
import type { LambdaHandler } from '../common/lambda.js';

export interface HostedFunction {
  /** Any event type: the host passes on whatever JSON the invoker sent, as Lambda does. */
  handler: LambdaHandler<never>;
  /** Like Lambda's function timeout: past it the invocation is a function error. */
  timeoutMs?: number;
  /** Like reserved concurrency: invocations beyond it are throttled with 429. */
  reservedConcurrency?: number;
}

export interface LambdaHost {
  url: string;
  /** Resolves once every asynchronous (Event) invocation accepted so far has finished. */
  idle(): Promise<void>;
  close(): Promise<void>;
}

/**
 * The functions to serve, or a factory that receives the host's own URL once it listens: a
 * function that invokes another through the host (orders hands work to fulfillment) needs it.
 */
export type HostedFunctions = Record<string, HostedFunction> | ((hostUrl: URL) => Record<string, HostedFunction>);

const REGION = 'us-east-1';
const ACCOUNT = '000000000000';
const INVOKE_PATH = /^\/2015-03-31\/functions\/([^/]+)\/invocations$/;

class FunctionTimeout extends Error {
  override name = 'Sandbox.Timedout';
}

function serviceError(res: http.ServerResponse, status: number, type: string, message: string, extra: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', 'x-amzn-errortype': type, 'x-amzn-requestid': randomUUID(), ...extra });
  res.end(JSON.stringify({ Type: 'User', message }));
}

/** A name, a full ARN or a partial ARN, as the Invoke API accepts them. */
function functionName(raw: string): string {
  const decoded = decodeURIComponent(raw);
  const arn = /^(?:arn:aws:lambda:[^:]+:\d{12}:function:|\d{12}:function:)?([^:]+)(?::[^:]+)?$/.exec(decoded);
  return arn?.[1] ?? decoded;
}

function contextFor(name: string, requestId: string, deadline: number): Context {
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName: name,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:${REGION}:${ACCOUNT}:function:${name}`,
    memoryLimitInMB: '512',
    awsRequestId: requestId,
    logGroupName: `/aws/lambda/${name}`,
    logStreamName: `local/${requestId}`,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

async function run(fn: HostedFunction, name: string, event: unknown, requestId: string): Promise<unknown> {
  const timeoutMs = fn.timeoutMs ?? 30_000;
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new FunctionTimeout(`Task timed out after ${(timeoutMs / 1000).toFixed(2)} seconds`)), timeoutMs);
  });
  try {
    return await Promise.race([fn.handler(event as never, contextFor(name, requestId, Date.now() + timeoutMs)), timedOut]);
  } finally {
    clearTimeout(timer);
  }
}

async function readBody(req: http.IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/**
 * Serves the Lambda Invoke REST API for the given functions, so that the proxy talks to local
 * handlers through the same AWS SDK calls it makes in production.
 */
export async function startLambdaHost(options: { functions: HostedFunctions; host?: string; port?: number; log?: (line: string) => void }): Promise<LambdaHost> {
  let functions: Record<string, HostedFunction> = {};
  const inFlight = new Map<string, number>();
  const background = new Set<Promise<unknown>>();
  const log = options.log ?? ((line: string) => console.error(line));

  const invoke = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    const match = req.method === 'POST' ? INVOKE_PATH.exec(req.url?.split('?')[0] ?? '') : null;
    if (!match?.[1]) return serviceError(res, 404, 'UnknownOperationException', `Unknown operation ${req.method} ${req.url}`);
    const name = functionName(match[1]);
    const fn = functions[name];
    const payload = await readBody(req);
    if (!fn) return serviceError(res, 404, 'ResourceNotFoundException', `Function not found: arn:aws:lambda:${REGION}:${ACCOUNT}:function:${name}`);

    let event: unknown;
    try {
      event = payload.length === 0 ? {} : JSON.parse(payload.toString('utf8'));
    } catch {
      return serviceError(res, 400, 'InvalidRequestContentException', 'Could not parse request body into json');
    }

    const invocationType = String(req.headers['x-amz-invocation-type'] ?? 'RequestResponse');
    if (invocationType === 'DryRun') {
      res.writeHead(204).end();
      return;
    }
    const running = inFlight.get(name) ?? 0;
    if (fn.reservedConcurrency !== undefined && running >= fn.reservedConcurrency) {
      return serviceError(res, 429, 'TooManyRequestsException', 'Rate Exceeded.', { 'retry-after': '1' });
    }

    const requestId = randomUUID();
    inFlight.set(name, running + 1);
    const invocation = run(fn, name, event, requestId).finally(() => inFlight.set(name, (inFlight.get(name) ?? 1) - 1));

    if (invocationType === 'Event') {
      const tracked = invocation.catch((error: unknown) => log(`lambda-host: async invocation of ${name} failed: ${(error as Error).message}`));
      background.add(tracked);
      void tracked.finally(() => background.delete(tracked));
      res.writeHead(202, { 'x-amzn-requestid': requestId }).end();
      return;
    }

    const headers = { 'content-type': 'application/json', 'x-amzn-requestid': requestId, 'x-amz-executed-version': '$LATEST' };
    try {
      const result = await invocation;
      res.writeHead(200, headers).end(JSON.stringify(result ?? null));
    } catch (caught) {
      const error = caught instanceof Error ? caught : new Error(String(caught));
      res.writeHead(200, { ...headers, 'x-amz-function-error': 'Unhandled' });
      res.end(JSON.stringify({ errorType: error.name, errorMessage: error.message, trace: (error.stack ?? '').split('\n') }));
    }
  };

  const server = http.createServer((req, res) => {
    invoke(req, res).catch((error: unknown) => {
      log(`lambda-host: ${req.method} ${req.url} failed: ${(error as Error).message}`);
      if (res.headersSent) res.destroy();
      else serviceError(res, 500, 'ServiceException', 'The local Lambda host failed to handle the request.');
    });
  });
  server.listen(options.port ?? 0, options.host ?? '127.0.0.1');
  await once(server, 'listening');
  const { address, port } = server.address() as AddressInfo;
  const url = `http://${address}:${port}`;
  functions = typeof options.functions === 'function' ? options.functions(new URL(url)) : options.functions;
  const idle = async (): Promise<void> => {
    while (background.size > 0) await Promise.allSettled([...background]);
  };
  return {
    url,
    idle,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await idle();
    },
  };
}
