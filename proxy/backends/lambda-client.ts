import { createHash, createHmac, type Hash, type Hmac } from 'node:crypto';
import {
  $Command, Invoke$, InvokeCommand, type InvokeCommandInput, type InvokeCommandOutput, LambdaClient, type LambdaClientConfig,
  type LambdaClientResolvedConfig, type ServiceInputTypes, type ServiceOutputTypes,
} from '@aws-sdk/client-lambda';
import { getSmithyContext, httpAuthSchemeEndpointRuleSetMiddlewareOptions } from '@smithy/core';
import { endpointMiddleware, endpointMiddlewareOptions, toEndpointV1 } from '@smithy/core/endpoints';
import type { HttpResponse } from '@smithy/core/protocols';
import { operation } from '@smithy/core/schema';
import type {
  BuildMiddleware, EndpointV2, HandlerExecutionContext, HttpRequest, MiddlewareStack, OperationSchema,
  SerializeHandler, SerializeMiddleware,
} from '@smithy/types';
import { LambdaTransport } from './lambda-transport.js';

/**
 * One LambdaClient configured and trimmed for Invoke on the request path. Each change was
 * measured (`npx tsx bench/invoke.ts`, issue 11). What a call still costs there (about 135 µs
 * of CPU, against 63 for a bare node:http request) is mostly the SDK's SigV4 signature (taking it
 * out saved about 100 µs a call), then the rest of its middleware chain.
 *
 * - `cacheMiddleware`: the middleware stack is resolved once per command class, not per call
 *   (about 100 µs a call). A cached handler takes no per-call options, so the deadline travels
 *   to the HTTP handler beside the input (see `send` and the `cutoverTransport` step).
 * - retries: none for Invoke (a write must not run twice); the retry step, which still made a
 *   UUID, two headers and three awaits per call with `maxAttempts: 1`, is replaced by a pass-through.
 * - logger and recursion detection steps removed: the logger is the SDK's no-op one, and
 *   recursion detection only copies `_X_AMZN_TRACE_ID`, which is set inside Lambda, not here.
 * - endpoint, auth scheme and user agent: the SDK's own steps, run until a call has resolved
 *   them, not on every call.
 * - serde: Invoke's schema through the SDK's protocol (REST-JSON), with a context built once.
 * - SigV4 signing is kept (real AWS needs it): the signer is built once per auth scheme instead of
 *   per request, and hashes straight on node:crypto.
 * - HTTP: undici, on a keep-alive pool of 512 connections (`LambdaTransport`, lambda-transport.ts),
 *   in place of the SDK's NodeHttpHandler; the answer comes back whole, as bytes.
 */
export class InvokeClient {
  private readonly client: LambdaClient;

  constructor(options: { readonly region: string; readonly endpoint: URL | undefined }) {
    const handler = new LambdaTransport(512);
    const config: LambdaClientConfig = {
      region: options.region,
      maxAttempts: 1,
      cacheMiddleware: true,
      sha256: Sha256,
      requestHandler: handler,
      ...(options.endpoint ? { endpoint: options.endpoint.href, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } } : {}),
    };
    this.client = new LambdaClient(config);
    const resolved = this.client.config as unknown as ResolvedParts;
    const stack = this.client.middlewareStack;

    // The endpoint depends only on settings that do not change between calls (region, FIPS,
    // dual-stack, a custom or configured endpoint), and Invoke adds no parameter of its own.
    const resolveEndpoint = endpointMiddleware({ config: this.client.config, instructions: InvokeCommand.getEndpointParameterInstructions() });
    stack.addRelativeTo(untilResolved(resolveEndpoint, (context) => context.endpointV2 !== undefined), endpointMiddlewareOptions);
    // The auth scheme is the same for every call too: SigV4 for `lambda` in the client's region.
    // Its identity need not be asked again: the SigV4 signer asks the credentials provider itself
    // on every signature. Expired credentials are never used; credentials within five minutes of
    // expiring are refreshed in the background and used until the new ones arrive (the SDK's step
    // asked the provider a first time per call, so the signer's ask often found the new ones).
    // Concurrent calls now share the choice's signing properties, where the signer notes when a
    // request left for its clock-skew correction; that note only serves to ignore an answer that
    // took over 15 minutes, and to flag a correction for a retry, which Invoke never makes.
    const chooseAuthScheme = registered<SerializeMiddleware<ServiceInputTypes, ServiceOutputTypes>>(stack, httpAuthSchemeEndpointRuleSetMiddlewareOptions.name as string);
    stack.addRelativeTo(
      untilResolved(chooseAuthScheme, (context) => getSmithyContext(context).selectedHttpAuthScheme !== undefined),
      httpAuthSchemeEndpointRuleSetMiddlewareOptions,
    );
    // Serde: what the SDK's serializer and deserializer steps do, less the context they build on
    // every call, the whole config and the handler context merged into one new object of some 55
    // keys (about 30 µs a step: V8 keeps an object that large in dictionary mode). Their context is
    // built once, on the first call, once the endpoint is resolved: nothing serde reads from it
    // changes between calls.
    const invoke = operation(...(Invoke$.slice(1) as Parameters<typeof operation>));
    let serde: object | undefined;
    const serdeContext = (context: HandlerExecutionContext) => (serde ??= {
      ...this.client.config,
      ...context,
      endpoint: () => Promise.resolve(toEndpointV1(context.endpointV2 as EndpointV2)),
    });
    stack.add((next, context) => async (args) => {
      const request = await resolved.protocol.serializeRequest(invoke, args.input, serdeContext(context));
      return next({ ...args, request });
    }, { name: 'serializerMiddleware', step: 'serialize', tags: ['SERIALIZER'], override: true });
    stack.add((next, context) => async (args) => {
      const { response } = await next(args);
      try {
        // The HTTP handler is LambdaTransport.
        return { response, output: await resolved.protocol.deserializeResponse(invoke, serdeContext(context), response as HttpResponse) };
      } catch (error) {
        // As the SDK's step does: the signer reads the server's clock from an error's response, to
        // correct a skewed clock before the next signature.
        Object.defineProperty(error, '$response', { value: response });
        throw error;
      }
    }, { name: 'deserializerMiddleware', step: 'deserialize', tags: ['DESERIALIZER'], override: true });
    stack.remove('loggerMiddleware');
    stack.remove('recursionDetectionMiddleware');
    // Named `retryMiddleware` because the signing step is placed relative to it.
    stack.add((next) => next, { name: 'retryMiddleware', step: 'finalizeRequest', priority: 'high', tags: ['RETRY'], override: true });

    // User agent: the SDK's own step runs until a call has set its two headers (it awaited its
    // providers, then escaped and joined a dozen sections on every call); later calls copy them.
    const setUserAgent = registered<BuildMiddleware<ServiceInputTypes, ServiceOutputTypes>>(stack, 'getUserAgentMiddleware');
    let userAgent: Record<string, string> | undefined;
    stack.add((next, context) => {
      const viaSdk = setUserAgent((args) => {
        const { headers } = args.request as HttpRequest;
        userAgent = { 'user-agent': headers['user-agent'] as string, 'x-amz-user-agent': headers['x-amz-user-agent'] as string };
        return next(args);
      }, context);
      return (args) => {
        if (!userAgent) return viaSdk(args);
        Object.assign((args.request as HttpRequest).headers, userAgent);
        return next(args);
      };
    }, { name: 'getUserAgentMiddleware', step: 'build', priority: 'low', tags: ['SET_USER_AGENT', 'USER_AGENT'], override: true });

    const buildSigner = resolved.signer;
    const signers = new Map<string, Promise<unknown>>();
    resolved.signer = (authScheme) => {
      const key = `${authScheme?.name}/${authScheme?.signingName}/${authScheme?.signingRegion}`;
      let signer = signers.get(key);
      if (!signer) {
        signer = buildSigner(authScheme);
        signers.set(key, signer);
        signer.catch(() => signers.delete(key));
      }
      return signer;
    };

    // The innermost step: hands the signed request to the HTTP handler with the call's deadline.
    stack.add(((next: (args: StepArgs) => Promise<unknown>) => (args: StepArgs) => {
      const abortSignal = args.input[DEADLINE];
      return abortSignal ? handler.handle(args.request, { abortSignal }) : next(args);
    }) as never, { name: 'cutoverTransport', step: 'deserialize', priority: 'low' });
  }

  /** Invokes synchronously; rejects with a `TimeoutError` after `timeoutMs`, the request aborted. */
  send(functionName: string, payload: Uint8Array, timeoutMs: number): Promise<InvokeCommandOutput> {
    // What the HTTP handler needs of an AbortSignal (it sets `onabort`); an AbortController and
    // its EventTarget cost about 10 µs a call on Node 20.
    const signal: AbortSignalLike = { aborted: false, onabort: null };
    const input: DeadlinedInput = { FunctionName: functionName, Payload: payload, [DEADLINE]: signal };
    return new Promise<InvokeCommandOutput>((resolve, reject) => {
      const timer = setTimeout(() => {
        const error = new Error(`no answer within ${timeoutMs} ms`);
        error.name = 'TimeoutError';
        signal.aborted = true;
        signal.reason = error;
        signal.onabort?.();
        reject(error);
      }, timeoutMs);
      this.client.send(new Invoke(input)).then(
        (output) => { clearTimeout(timer); resolve(output); },
        (error: unknown) => { clearTimeout(timer); reject(error as Error); },
      );
    });
  }

  destroy(): void {
    this.client.destroy();
  }
}

interface AbortSignalLike {
  aborted: boolean;
  reason?: Error;
  onabort: (() => void) | null;
}

/**
 * The deadline of a call travels on its command input, which reaches every step as it was given;
 * the serializer writes only Invoke's own members. Not in a table of inputs: a WeakMap kept every
 * call's objects through a young-generation collection and into the old one.
 */
const DEADLINE = Symbol('deadline');

type DeadlinedInput = InvokeCommandInput & { readonly [DEADLINE]?: AbortSignalLike };

interface StepArgs {
  readonly input: DeadlinedInput;
  readonly request: HttpRequest;
}

/** The parts of the resolved client configuration this module uses. */
interface ResolvedParts {
  readonly protocol: {
    serializeRequest(operation: OperationSchema, input: object, context: object): Promise<HttpRequest>;
    deserializeResponse(operation: OperationSchema, context: object, response: HttpResponse): Promise<InvokeCommandOutput>;
  };
  signer: (authScheme?: { name?: string; signingName?: string; signingRegion?: string }) => Promise<unknown>;
}

/**
 * Lambda's Invoke, declared as the SDK declares InvokeCommand (the same schema, service and names)
 * less its one command step, the endpoint resolution, which InvokeCommand adds to every call: this
 * client resolves its endpoint once (`endpointV2Middleware` in InvokeClient).
 */
class Invoke extends $Command.classBuilder<InvokeCommandInput, InvokeCommandOutput, LambdaClientResolvedConfig, ServiceInputTypes, ServiceOutputTypes>()
  .m(() => [])
  .s('AWSGirApiService', 'Invoke', {})
  .n('LambdaClient', 'InvokeCommand')
  .sc(Invoke$)
  .build() {}

/**
 * One of the SDK's middlewares, run until a call has left its result in the handler context
 * (`resolved`), skipped after that. A cached handler keeps one context for all its calls, so what
 * the first call resolved, every later call finds there.
 */
function untilResolved<I extends object, O extends object>(
  middleware: SerializeMiddleware<I, O>,
  resolved: (context: HandlerExecutionContext) => boolean,
): SerializeMiddleware<I, O> {
  return (next: SerializeHandler<I, O>, context: HandlerExecutionContext) => {
    const resolve = middleware(next, context);
    return (args) => (resolved(context) ? next(args) : resolve(args));
  };
}

/** The middleware the SDK registered as `name` in a client's stack (a stack adds its entries to another as a plugin does). */
function registered<M, I extends object = ServiceInputTypes, O extends object = ServiceOutputTypes>(stack: MiddlewareStack<I, O>, name: string): M {
  let found: unknown;
  const keep = (middleware: unknown, options: { name?: string }) => {
    if (options.name === name) found = middleware;
  };
  stack.applyToStack({ add: keep, addRelativeTo: keep } as unknown as MiddlewareStack<I, O>);
  if (!found) throw new Error(`the client's middleware stack has no ${name}`);
  return found as M;
}

type SourceData = string | ArrayBuffer | ArrayBufferView;

function binary(data: SourceData): string | Buffer {
  if (typeof data === 'string') return data;
  return ArrayBuffer.isView(data) ? Buffer.from(data.buffer, data.byteOffset, data.byteLength) : Buffer.from(data);
}

/** SHA-256 and HMAC-SHA-256 for the SigV4 signer, straight on node:crypto. */
class Sha256 {
  private hash: Hash | Hmac;

  constructor(private readonly secret?: SourceData) {
    this.hash = Sha256.create(secret);
  }

  private static create(secret: SourceData | undefined): Hash | Hmac {
    // As the SDK's own: no (or an empty string) secret is a plain hash.
    return secret ? createHmac('sha256', binary(secret)) : createHash('sha256');
  }

  update(data: SourceData): void {
    this.hash.update(binary(data));
  }

  digest(): Promise<Uint8Array> {
    return Promise.resolve(this.hash.digest());
  }

  reset(): void {
    this.hash = Sha256.create(this.secret);
  }
}
