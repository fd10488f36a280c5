import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import * as lambdaModule from '@aws-sdk/client-lambda';
import { LambdaServiceException } from '@aws-sdk/client-lambda';
import { credentialsTreatedAsExpired, defaultProvider } from '@aws-sdk/credential-provider-node';
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider, ResponseMetadata } from '@smithy/types';
import aws4 from 'aws4';
import { type AbortSignalLike, LambdaTransport, type TransportResponse } from './lambda-transport.js';

/** What a synchronous Invoke answers, as the SDK's InvokeCommandOutput names it. */
export interface InvokeOutput {
  readonly StatusCode: number;
  /** `X-Amz-Function-Error`: the function failed (`Unhandled`, or what the runtime names it); the payload says how. */
  readonly FunctionError: string | undefined;
  readonly ExecutedVersion: string | undefined;
  readonly Payload: Buffer;
  readonly $metadata: ResponseMetadata;
}

const USER_AGENT = `cutover/${(createRequire(import.meta.url)('cutover/package.json') as { version: string }).version}`;

/** Past this difference from the endpoint's clock a signature is refused, so the SDK corrects its clock by the difference. */
const CLOCK_SKEW_MS = 5 * 60_000;

/** The Invoke path's encoding of a function name (an ARN has colons), as the SDK's: encodeURIComponent and `!'()*`. */
function encodeSegment(segment: string): string {
  return encodeURIComponent(segment).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/**
 * The endpoint Lambda is called on: the configuration's `lambda.endpoint`, else one configured for
 * the SDK in the environment (AWS_ENDPOINT_URL_LAMBDA, then AWS_ENDPOINT_URL, both ignored under
 * AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true), else the region's public endpoint. A FIPS, dual-stack
 * or other partition's endpoint is given as `lambda.endpoint`.
 */
function endpointOf(region: string, configured: URL | undefined): URL {
  if (configured) return configured;
  const { AWS_ENDPOINT_URL_LAMBDA, AWS_ENDPOINT_URL, AWS_IGNORE_CONFIGURED_ENDPOINT_URLS } = process.env;
  const fromEnvironment = AWS_IGNORE_CONFIGURED_ENDPOINT_URLS === 'true' ? undefined : AWS_ENDPOINT_URL_LAMBDA ?? AWS_ENDPOINT_URL;
  if (fromEnvironment) return new URL(fromEnvironment);
  return new URL(`https://lambda.${region}.${region.startsWith('cn-') ? 'amazonaws.com.cn' : 'amazonaws.com'}`);
}

function metadataOf(response: TransportResponse): ResponseMetadata {
  const { headers } = response;
  return {
    httpStatusCode: response.statusCode,
    requestId: headers['x-amzn-requestid'] ?? headers['x-amzn-request-id'] ?? headers['x-amz-request-id'],
    extendedRequestId: headers['x-amz-id-2'],
    cfId: headers['x-amz-cf-id'],
    attempts: 1,
    totalRetryDelay: 0,
  };
}

type ExceptionClass = new (options: object) => LambdaServiceException;

/** The client package's modeled exceptions by name (ResourceNotFoundException, TooManyRequestsException, ...). */
const EXCEPTIONS: ReadonlyMap<string, ExceptionClass> = new Map((Object.entries(lambdaModule) as [string, unknown][]).filter(
  (entry): entry is [string, ExceptionClass] => typeof entry[1] === 'function' && entry[1].prototype instanceof LambdaServiceException,
));

/**
 * Lambda's error answer as the client's own exception. The Invoke API names the error in
 * `x-amzn-ErrorType` (`Name:namespace`), or in the JSON body's `__type` or `code`
 * (`namespace#Name`); the body carries `message` (or `Message`) and the error's members (`Type`,
 * `Reason`). A name the client does not model is a LambdaServiceException of that name.
 */
function exceptionOf(response: TransportResponse): LambdaServiceException {
  let body: Record<string, unknown> = {};
  try {
    const parsed: unknown = response.body.length > 0 ? JSON.parse(response.body.toString('utf8')) : {};
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) body = parsed as Record<string, unknown>;
  } catch {
    // A body that is not JSON (a load balancer's page, say) still has its status.
  }
  const typed = response.headers['x-amzn-errortype'] ?? (typeof body.__type === 'string' ? body.__type : typeof body.code === 'string' ? body.code : undefined);
  const name = typed?.split(':')[0]?.split('#').pop() || `Http${response.statusCode}Error`;
  const message = typeof body.message === 'string' ? body.message : typeof body.Message === 'string' ? body.Message : `Lambda answered ${response.statusCode}`;
  const $metadata = metadataOf(response);
  const retryAfter = response.headers['retry-after'];
  const Modeled = EXCEPTIONS.get(name);
  const error = Modeled
    ? new Modeled({ ...body, ...(retryAfter === undefined ? {} : { retryAfterSeconds: retryAfter }), $metadata, message })
    : new LambdaServiceException({ name, $fault: response.statusCode >= 500 ? 'server' : 'client', $metadata, message });
  error.$response = { statusCode: response.statusCode, headers: response.headers, body: response.body };
  return error;
}

let lastSecond = -1;
let lastStamp = '';

/** `20261206T215244Z`: SigV4's form of a moment, made once a second (about 3 µs each time). */
function amzDate(ms: number): string {
  const second = Math.floor(ms / 1000);
  if (second !== lastSecond) {
    lastSecond = second;
    lastStamp = new Date(second * 1000).toISOString().replace(/[-:]|\.\d{3}/g, '');
  }
  return lastStamp;
}

/**
 * Lambda's Invoke (RequestResponse) on public, documented parts only: credentials from the SDK's
 * default provider chain (`@aws-sdk/credential-provider-node`: environment, SSO, shared files, web
 * identity, ECS and EC2 metadata; cached, and refreshed before they expire), SigV4 by `aws4`
 * (which caches its signing key per secret, day, region and service, as the SDK's signer does),
 * the request on a keep-alive undici pool (lambda-transport.ts), and Lambda's answer read as the
 * Invoke API documents it, errors surfaced as `@aws-sdk/client-lambda`'s own exception classes.
 *
 * Measured with `npx tsx bench/invoke.ts` (README, "Measured figures"): a LambdaClient's
 * middleware stack cost about 135 µs of CPU a call even trimmed through the SDK's internals; the
 * SDK's public signer, `@smithy/signature-v4`, about 35 µs a signature against aws4's 14 (its
 * request clone, four hash objects and their promises, an HMAC of the credentials for its cache
 * key on every call). No retries: a write must not run twice, and a failed read falls back to legacy.
 */
export class InvokeClient {
  private readonly transport = new LambdaTransport(512);
  private readonly credentials: AwsCredentialIdentityProvider;
  /**
   * The provider's last answer, used without asking again until the SDK would treat it as
   * expired (five minutes before its expiration; never, for credentials that do not expire).
   */
  private identity: AwsCredentialIdentity | undefined;
  private readonly region: string;
  private readonly origin: string;
  private readonly host: string;
  private readonly basePath: string;
  /** Each function's Invoke path, encoded once. */
  private readonly paths = new Map<string, string>();
  /** The endpoint's clock minus ours, once they differed by more than CLOCK_SKEW_MS, as the SDK keeps it. */
  private clockOffsetMs = 0;

  constructor(options: { readonly region: string; readonly endpoint: URL | undefined }) {
    const endpoint = endpointOf(options.region, options.endpoint);
    this.region = options.region;
    this.origin = endpoint.origin;
    this.host = endpoint.host;
    this.basePath = endpoint.pathname.replace(/\/+$/, '');
    // With a configured endpoint (the local Lambda host), local credentials: it checks none.
    const local = { accessKeyId: 'local', secretAccessKey: 'local' };
    this.credentials = options.endpoint ? () => Promise.resolve(local) : defaultProvider();
  }

  /** Invokes synchronously; rejects with a `TimeoutError` after `timeoutMs`, the request aborted. */
  send(functionName: string, payload: Uint8Array, timeoutMs: number): Promise<InvokeOutput> {
    // What the transport needs of an AbortSignal; an AbortController and its EventTarget cost about 10 µs a call on Node 20.
    const signal: AbortSignalLike = { aborted: false, onabort: null };
    return new Promise<InvokeOutput>((resolve, reject) => {
      const timer = setTimeout(() => {
        const error = new Error(`no answer within ${timeoutMs} ms`);
        error.name = 'TimeoutError';
        signal.aborted = true;
        signal.reason = error;
        signal.onabort?.();
        reject(error);
      }, timeoutMs);
      const identity = this.identity && !credentialsTreatedAsExpired(this.identity) ? this.identity : undefined;
      const answer = identity ? this.call(identity, functionName, payload, signal) : this.credentials().then((fresh) => {
        this.identity = fresh;
        return this.call(fresh, functionName, payload, signal);
      });
      answer.then(
        (output) => { clearTimeout(timer); resolve(output); },
        (error: unknown) => { clearTimeout(timer); reject(error as Error); },
      );
    });
  }

  private pathOf(functionName: string): string {
    let path = this.paths.get(functionName);
    if (path === undefined) {
      path = `${this.basePath}/2015-03-31/functions/${encodeSegment(functionName)}/invocations`;
      this.paths.set(functionName, path);
    }
    return path;
  }

  private call(credentials: AwsCredentialIdentity, functionName: string, payload: Uint8Array, signal: AbortSignalLike): Promise<InvokeOutput> {
    const body = Buffer.isBuffer(payload) ? payload : Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
    const path = this.pathOf(functionName);
    const { headers } = aws4.sign({
      method: 'POST',
      host: this.host,
      path,
      service: 'lambda',
      region: this.region,
      // The SDK's headers for Invoke, its payload hash among them; aws4 adds the host, the
      // authorization (and the session token's header) and leaves the user agent unsigned.
      headers: {
        'content-type': 'application/octet-stream',
        'content-length': String(body.byteLength),
        'user-agent': USER_AGENT,
        'x-amz-date': amzDate(Date.now() + this.clockOffsetMs),
        'x-amz-content-sha256': createHash('sha256').update(body).digest('hex'),
      },
      body,
    }, credentials);
    return this.transport.send(this.origin, { method: 'POST', path, headers: headers as Record<string, string>, body }, signal).then((response) => {
      if (response.statusCode < 200 || response.statusCode > 299) {
        this.noteClock(response);
        throw exceptionOf(response);
      }
      return {
        StatusCode: response.statusCode,
        FunctionError: response.headers['x-amz-function-error'],
        ExecutedVersion: response.headers['x-amz-executed-version'],
        Payload: response.body,
        $metadata: metadataOf(response),
      };
    });
  }

  /**
   * As the SDK's signer does after an error: an endpoint whose clock is far from ours (and so
   * refuses our signatures) is taken at its word for the next ones.
   */
  private noteClock(response: TransportResponse): void {
    const date = response.headers.date;
    if (date === undefined) return;
    const theirs = Date.parse(date);
    if (!Number.isNaN(theirs) && Math.abs(Date.now() + this.clockOffsetMs - theirs) >= CLOCK_SKEW_MS) this.clockOffsetMs = theirs - Date.now();
  }

  destroy(): void {
    this.transport.destroy();
  }
}
