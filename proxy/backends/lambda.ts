import { LambdaServiceException } from '@aws-sdk/client-lambda';
import type { Config, Group } from '../config/config.js';
import { responseHeaders } from '../http/respond.js';
import { withHeader } from '../http/headers.js';
import { fromFunctionResult, type HttpResponse, InvalidFunctionResult, toHttpEvent } from './lambda-event.js';
import { type Answer, failedAnswer, msSince, type UpstreamFailure } from './answer.js';
import type { Exchange, UpstreamRequest } from './upstream.js';
import { InvokeClient } from './lambda-client.js';

// The AWS SDK warns in nine lines, wherever a client is made on Node 20, that its releases after
// January 2027 need Node 22; the pinned version works on Node 20 (docs/operations.md, "Known limits").
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

/** Lambda's limit on a synchronous invocation's payload. */
export const MAX_PAYLOAD_BYTES = 6 * 1024 * 1024;

class PayloadTooLarge extends Error {}

class FunctionFailed extends Error {}

function failureOf(error: unknown, timeoutMs: number): UpstreamFailure {
  if (error instanceof FunctionFailed) return { reason: 'function_error', status: 502, detail: `The new service failed (${error.message}).` };
  if (error instanceof PayloadTooLarge) return { reason: 'too_large', status: 413, detail: `The request is larger than the ${MAX_PAYLOAD_BYTES} bytes a Lambda invocation takes.` };
  if (error instanceof InvalidFunctionResult) return { reason: 'invalid_response', status: 502, detail: `The new service answered something that is not an HTTP response: ${error.message}.` };
  // The SDK names a reset connection a TimeoutError; the code says what happened.
  const code = (error as NodeJS.ErrnoException).code;
  // undici names a connection closed before the answer UND_ERR_SOCKET.
  if (code === 'ECONNRESET' || code === 'EPIPE' || code === 'UND_ERR_SOCKET') return { reason: 'reset', status: 502, detail: `The Lambda endpoint broke off the connection (${code}).` };
  if (error instanceof Error && (error.name === 'AbortError' || error.name === 'TimeoutError')) {
    return { reason: 'timeout', status: 504, detail: `The new service did not answer within ${timeoutMs} ms.` };
  }
  if (error instanceof LambdaServiceException && error.name === 'TooManyRequestsException') {
    return { reason: 'throttled', status: 503, detail: 'The new service is throttled; try again shortly.', headers: { 'retry-after': '1' } };
  }
  if (error instanceof LambdaServiceException && error.name === 'ResourceNotFoundException') {
    return { reason: 'not_found', status: 502, detail: 'The function of the new service does not exist.' };
  }
  if (code === 'ECONNREFUSED') return { reason: 'refused', status: 502, detail: 'The Lambda endpoint refused the connection.' };
  return { reason: 'sdk_error', status: 502, detail: `Invoking the new service failed: ${(error as Error).message}` };
}

/**
 * The rewritten APIs: one Lambda Invoke per request, through one keep-alive Invoke client
 * (lambda-client.ts). No retries: a write must not run twice, and a failed read falls back to legacy.
 */
export class LambdaBackend {
  private readonly client: InvokeClient;
  private readonly functionOf: ReadonlyMap<string, string>;

  constructor(config: Config['lambda'], groups: readonly Group[]) {
    this.functionOf = new Map(groups.map((group) => [group.name, group.function]));
    this.client = new InvokeClient(config);
  }

  /** Invokes the group's function; the answer is returned, not written. */
  async invoke(request: UpstreamRequest): Promise<Answer<HttpResponse>> {
    const started = process.hrtime.bigint();
    try {
      const observation = await this.call(request);
      return { observation, ms: msSince(started) };
    } catch (error) {
      return failedAnswer(failureOf(error, request.timeoutMs), msSince(started));
    }
  }

  private async call(request: UpstreamRequest): Promise<HttpResponse> {
    const functionName = this.functionOf.get(request.group);
    if (!functionName) throw new Error(`group ${request.group} has no function on the new side`);
    const { timeoutMs } = request;
    const event = toHttpEvent(request, request.match, Date.now());
    const payload = Buffer.from(JSON.stringify(event));
    if (payload.length > MAX_PAYLOAD_BYTES) throw new PayloadTooLarge();
    const output = await this.client.send(functionName, payload, timeoutMs);
    if (output.FunctionError) throw new FunctionFailed(output.FunctionError);
    let result: unknown;
    try {
      result = JSON.parse(output.Payload.toString('utf8'));
    } catch {
      throw new InvalidFunctionResult('the payload is not JSON');
    }
    return fromFunctionResult(result);
  }

  close(): void {
    this.client.destroy();
  }
}

/** Writes a function's answer to the client, with the proxy's own headers. */
export function writeResponse(exchange: Exchange, response: HttpResponse): void {
  exchange.res.writeHead(response.status, responseHeaders(exchange, withHeader(response.headers, 'content-length', response.body.length)));
  exchange.res.end(exchange.inbound.method === 'HEAD' ? undefined : response.body);
}
