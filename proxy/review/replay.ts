import type { IncomingHttpHeaders } from 'node:http';
import { toHttpEvent } from '../backends/lambda-event.js';
import type { UpstreamRequest } from '../backends/upstream.js';
import type { Config, Group } from '../config/config.js';
import type { RouteMatch } from '../config/route.js';
import { SHADOW_HEADER } from '../http/headers.js';
import { REDACTED } from '../store/redact.js';
import type { StoredBody, StoredComparison } from '../store/stored.js';

/** Headers a replay sets itself or that only described the original hop. */
const NOT_REPLAYED = new Set(['host', 'content-length', 'transfer-encoding', 'connection', 'x-forwarded-for', 'x-forwarded-host', 'x-forwarded-proto', SHADOW_HEADER]);

/** A stored request as it can be sent again, and what it lacks compared to the original. */
export interface Replayable {
  readonly request: UpstreamRequest;
  /** Why a replay may not reproduce the original: credentials not stored, a body cut or redacted. */
  readonly caveats: readonly string[];
}

function bodyBytes(body: StoredBody): Buffer {
  switch (body.bodyEncoding) {
    case 'none': return Buffer.alloc(0);
    case 'json': return Buffer.from(JSON.stringify(body.body));
    case 'text': return Buffer.from(body.body as string);
    case 'base64': return Buffer.from(body.body as string, 'base64');
  }
}

/** The stored request rebuilt for a replay; the request id says it is one. */
export function replayable(stored: StoredComparison & { id: string }, group: Group, match: RouteMatch): Replayable {
  const headers: IncomingHttpHeaders = {};
  const removed: string[] = [];
  for (const [name, value] of Object.entries(stored.requestHeaders)) {
    if (NOT_REPLAYED.has(name.toLowerCase())) continue;
    if (value === REDACTED) removed.push(name);
    else headers[name] = value;
  }
  const requestId = `${stored.requestId}-replay`;
  headers['x-request-id'] = requestId;
  const caveats = [
    ...(removed.length > 0 ? [`not stored, so not sent: ${removed.sort().join(', ')} (add your own)`] : []),
    ...(stored.query.includes(REDACTED) ? ['query parameters were redacted'] : []),
    ...(stored.requestBody.truncated ? ['the request body was stored cut short'] : []),
    ...(JSON.stringify(stored.requestBody.body).includes(REDACTED) ? ['members of the request body were redacted'] : []),
  ];
  const target = stored.query === '' ? stored.path : `${stored.path}?${stored.query}`;
  return {
    caveats,
    request: {
      method: stored.method, url: target, headers, httpVersion: '1.1', sourceIp: '127.0.0.1', body: bodyBytes(stored.requestBody),
      requestId, group: group.name, match, timeoutMs: group.shadow.timeoutMs,
    },
  };
}

/** Single-quoted for a POSIX shell. */
function quoted(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

function headerFlags(headers: IncomingHttpHeaders): string[] {
  return Object.entries(headers).flatMap(([name, value]) => (Array.isArray(value) ? value : [value]).filter((one) => one !== undefined).map((one) => `-H ${quoted(`${name}: ${one}`)}`));
}

function dataFlag(body: Buffer): string[] {
  return body.length === 0 ? [] : [`--data-binary ${quoted(body.toString('utf8'))}`];
}

/**
 * Curl commands that send the request again to each side, marked as a shadow so that neither
 * persists anything: legacy over HTTP, and the new side's function through the Lambda Invoke
 * API with the event the proxy builds (curl signs it with SigV4 from the AWS_* variables).
 */
export function replayCommands(replay: Replayable, group: Group, config: Config): { legacy: string; new: string } {
  const { request } = replay;
  const marked = { ...request.headers, [SHADOW_HEADER]: '1' };
  const legacyUrl = new URL(request.url, config.legacy.url).href;
  const legacy = ['curl -sS -i -g', `-X ${request.method}`, quoted(legacyUrl), ...headerFlags(marked), ...dataFlag(request.body)].join(' ');
  const endpoint = config.lambda.endpoint?.href.replace(/\/$/, '') ?? `https://lambda.${config.lambda.region}.amazonaws.com`;
  const event = toHttpEvent({ ...request, headers: marked, receivedAt: new Date(0) }, request.match);
  const invoke = [
    'curl -sS', quoted(`${endpoint}/2015-03-31/functions/${encodeURIComponent(group.function)}/invocations`),
    `--aws-sigv4 ${quoted(`aws:amz:${config.lambda.region}:lambda`)}`, '--user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY"',
    `-H ${quoted('content-type: application/json')}`, `--data-binary ${quoted(JSON.stringify(event))}`,
  ].join(' ');
  return { legacy, new: invoke };
}
