import http from 'node:http';
import { InvokeCommand, LambdaClient, LambdaServiceException } from '@aws-sdk/client-lambda';
import type { Config, Group } from '../config.js';
import { sendProblem } from '../problem.js';
import { fromFunctionResult, type HttpResponse, InvalidFunctionResult, toHttpEvent } from './lambda-event.js';
import type { Backend, Exchange, FailureReason, UpstreamOutcome } from './upstream.js';

/** Lambda's limit on a synchronous invocation's payload. */
export const MAX_PAYLOAD_BYTES = 6 * 1024 * 1024;

class PayloadTooLarge extends Error {}

class FunctionFailed extends Error {}

async function readBody(req: http.IncomingMessage, limit: number): Promise<Buffer> {
  if (Number(req.headers['content-length'] ?? 0) > limit) throw new PayloadTooLarge();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new PayloadTooLarge();
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

interface Failure { reason: FailureReason; status: number; detail: string; headers?: Record<string, string> }

function failureOf(error: unknown, timeoutMs: number): Failure {
  if (error instanceof PayloadTooLarge) return { reason: 'too_large', status: 413, detail: `The request is larger than the ${MAX_PAYLOAD_BYTES} bytes a Lambda invocation takes.` };
  if (error instanceof FunctionFailed) return { reason: 'function_error', status: 502, detail: `The new service failed (${error.message}).` };
  if (error instanceof InvalidFunctionResult) return { reason: 'invalid_response', status: 502, detail: `The new service answered something that is not an HTTP response: ${error.message}.` };
  if (error instanceof Error && (error.name === 'AbortError' || error.name === 'TimeoutError')) {
    return { reason: 'timeout', status: 504, detail: `The new service did not answer within ${timeoutMs} ms.` };
  }
  if (error instanceof LambdaServiceException && error.name === 'TooManyRequestsException') {
    return { reason: 'throttled', status: 503, detail: 'The new service is throttled; try again shortly.', headers: { 'retry-after': '1' } };
  }
  if (error instanceof LambdaServiceException && error.name === 'ResourceNotFoundException') {
    return { reason: 'not_found', status: 502, detail: 'The function of the new service does not exist.' };
  }
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ECONNREFUSED') return { reason: 'refused', status: 502, detail: 'The Lambda endpoint refused the connection.' };
  return { reason: 'sdk_error', status: 502, detail: `Invoking the new service failed: ${(error as Error).message}` };
}

/** The rewritten APIs: one Lambda Invoke per request, through one keep-alive LambdaClient. */
export class LambdaBackend implements Backend {
  readonly side = 'new' as const;
  private readonly client: LambdaClient;
  private readonly functionOf: ReadonlyMap<string, string>;

  constructor(config: Config['lambda'], groups: readonly Group[]) {
    this.functionOf = new Map(groups.map((group) => [group.name, group.function]));
    this.client = new LambdaClient({
      region: config.region,
      maxAttempts: 1,
      requestHandler: { httpAgent: new http.Agent({ keepAlive: true, maxSockets: 512 }) },
      ...(config.endpoint
        ? { endpoint: config.endpoint.href, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } }
        : {}),
    });
  }

  async serve(exchange: Exchange): Promise<UpstreamOutcome> {
    const { req, res, match, timeoutMs } = exchange;
    const started = process.hrtime.bigint();
    const seconds = () => Number(process.hrtime.bigint() - started) / 1e9;
    const functionName = this.functionOf.get(exchange.group);
    if (!match || !functionName) throw new Error(`the new side serves only routed requests, not group ${exchange.group}`);
    try {
      const response = await this.invoke(exchange, functionName, await readBody(req, MAX_PAYLOAD_BYTES));
      const setCookie = [...[response.headers['set-cookie'] ?? []].flat().map(String), ...exchange.setCookies];
      res.writeHead(response.status, {
        ...response.headers,
        ...(setCookie.length > 0 ? { 'set-cookie': setCookie } : {}),
        'content-length': response.body.length,
        'x-request-id': exchange.requestId,
      });
      res.end(response.body);
      return { side: 'new', seconds: seconds(), failure: undefined };
    } catch (error) {
      const failure = failureOf(error, timeoutMs);
      sendProblem(res, failure.status, failure.reason, failure.detail, failure.headers);
      return { side: 'new', seconds: seconds(), failure: failure.reason };
    }
  }

  private async invoke(exchange: Exchange, functionName: string, body: Buffer): Promise<HttpResponse> {
    const { req, match, requestId, timeoutMs } = exchange;
    if (!match) throw new Error('unreachable: checked by serve');
    const event = toHttpEvent({
      method: req.method ?? 'GET',
      url: req.url ?? '/',
      headers: { ...req.headers, 'x-request-id': requestId },
      httpVersion: req.httpVersion,
      sourceIp: req.socket.remoteAddress ?? '',
      body,
      requestId,
      receivedAt: new Date(),
    }, match);
    const payload = Buffer.from(JSON.stringify(event));
    if (payload.length > MAX_PAYLOAD_BYTES) throw new PayloadTooLarge();
    const output = await this.client.send(new InvokeCommand({ FunctionName: functionName, Payload: payload }), { abortSignal: AbortSignal.timeout(timeoutMs) });
    if (output.FunctionError) throw new FunctionFailed(output.FunctionError);
    const text = output.Payload ? Buffer.from(output.Payload).toString('utf8') : 'null';
    let result: unknown;
    try {
      result = JSON.parse(text);
    } catch {
      throw new InvalidFunctionResult('the payload is not JSON');
    }
    return fromFunctionResult(result);
  }

  close(): void {
    this.client.destroy();
  }
}
