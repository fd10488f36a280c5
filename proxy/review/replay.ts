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

/**
 * A replay is pasted into a reviewer's terminal, so it must hold nothing a terminal, a shell or
 * curl acts on: only printable ASCII, quoted. A pasted control byte is acted on by the terminal
 * before any quoting counts (Ctrl-C ends the line, and what follows runs), so every other byte is
 * written as printf's octal escape; printf is POSIX, so the same text works in sh, bash and zsh.
 */
function isPrintable(byte: number): boolean {
  return byte >= 0x20 && byte <= 0x7e;
}

/** Single-quoted for a POSIX shell; only for printable ASCII. */
function quoted(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

/** A single-quoted printf format that prints `bytes` exactly: printf's own % and \, the quote and every unprintable byte escaped. */
function printfOf(bytes: Buffer): string {
  let format = '';
  for (const byte of bytes) {
    format += isPrintable(byte) && byte !== 0x25 && byte !== 0x5c && byte !== 0x27 ? String.fromCharCode(byte) : `\\${byte.toString(8).padStart(3, '0')}`;
  }
  // "--": a body starting with "-" is no option of printf's.
  return `printf -- '${format}'`;
}

/**
 * One shell word that is `text`, a header or a URL as it came off the wire (one byte a character):
 * quoted when printable, else what printf prints (a word cannot hold what a header or a target
 * cannot either: NUL, a line break).
 */
function word(text: string): string {
  const bytes = Buffer.from(text, 'latin1');
  return bytes.every(isPrintable) ? quoted(text) : `"$(${printfOf(bytes)})"`;
}

function headerFlags(headers: IncomingHttpHeaders): string[] {
  // curl drops a header given as "name:" and sends an empty one given as "name;".
  return Object.entries(headers).flatMap(([name, value]) => (Array.isArray(value) ? value : [value]).filter((one) => one !== undefined)
    .map((one) => `-H ${word(one === '' ? `${name};` : `${name}: ${one}`)}`));
}

/**
 * A curl command sending `body`: given on stdin (`--data-binary @-`) by printf, so that no byte of
 * it is pasted raw and a body starting with "@" is not taken by curl as a file of the reviewer's to send.
 */
function withBody(curl: readonly string[], body: Buffer): string {
  return body.length === 0 ? curl.join(' ') : `${printfOf(body)} | ${[...curl, '--data-binary @-'].join(' ')}`;
}

/**
 * Curl commands that send the request again to each side, marked as a shadow so that neither
 * persists anything: legacy over HTTP, and the new side's function through the Lambda Invoke
 * API with the event the proxy builds (curl signs it with SigV4 from the AWS_* variables).
 */
export function replayCommands(replay: Replayable, group: Group, config: Config): { legacy: string; new: string } {
  const { request } = replay;
  const marked = { ...request.headers, [SHADOW_HEADER]: '1' };
  // Joined as text: new URL() would resolve "/\host/…" to another host and normalise "%2e%2e"; --path-as-is keeps curl from doing the same.
  const legacyUrl = `${config.legacy.url.origin}${request.url}`;
  const legacy = withBody(['curl -sS -i -g --path-as-is', `-X ${quoted(request.method)}`, word(legacyUrl), ...headerFlags(marked)], request.body);
  const endpoint = config.lambda.endpoint?.href.replace(/\/$/, '') ?? `https://lambda.${config.lambda.region}.amazonaws.com`;
  const event = toHttpEvent({ ...request, headers: marked }, request.match, 0);
  const invoke = withBody([
    'curl -sS', quoted(`${endpoint}/2015-03-31/functions/${encodeURIComponent(group.function)}/invocations`),
    `--aws-sigv4 ${quoted(`aws:amz:${config.lambda.region}:lambda`)}`, '--user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY"',
    `-H ${quoted('content-type: application/json')}`,
  ], Buffer.from(JSON.stringify(event)));
  return { legacy, new: invoke };
}
