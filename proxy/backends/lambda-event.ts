import { isUtf8 } from 'node:buffer';
import { type OutgoingHttpHeaders, validateHeaderName, validateHeaderValue } from 'node:http';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import type { Response } from '../../compare/index.js';
import type { RouteMatch } from '../config/route.js';
import type { UpstreamRequest } from './upstream.js';

/** What the event is made of: the request as a value, and when it arrived. */
export type HttpRequestFacts = Omit<UpstreamRequest, 'group' | 'match' | 'timeoutMs'>;

/** A function's answer as an HTTP response: compare/'s Response, whole, in the shape the client is written. */
export interface HttpResponse extends Response {
  readonly headers: OutgoingHttpHeaders;
  readonly body: Buffer;
}

export class InvalidFunctionResult extends Error {}

type Writable<T> = { -readonly [K in keyof T]: T[K] };

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

const TEXT_MEDIA = /^(text\/|application\/([\w.+-]*\+)?(json|xml|x-www-form-urlencoded|javascript)\b)/i;

function joined(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(',') : value;
}

let clfSecond = -1;
let clfStamp = '';

/** API Gateway's log-style request time, e.g. `12/Mar/2020:19:03:58 +0000`: made once a second, as every event of that second has it. */
function clfTime(ms: number): string {
  const second = Math.floor(ms / 1000);
  if (second !== clfSecond) {
    const date = new Date(second * 1000);
    const two = (n: number) => String(n).padStart(2, '0');
    clfSecond = second;
    clfStamp = `${two(date.getUTCDate())}/${MONTHS[date.getUTCMonth()]}/${date.getUTCFullYear()}:${two(date.getUTCHours())}:${two(date.getUTCMinutes())}:${two(date.getUTCSeconds())} +0000`;
  }
  return clfStamp;
}

/** Sets a member, defining it when it is named `__proto__`, so that it is one like any other rather than the object's prototype. */
function setMember(record: Record<string, string>, name: string, value: string): void {
  if (name === '__proto__') Object.defineProperty(record, name, { value, enumerable: true, writable: true, configurable: true });
  else record[name] = value;
}

/** Repeated names joined by commas, as API Gateway does; only own members are read, never one inherited (`constructor`, `toString`). */
function queryParameters(rawQuery: string): Record<string, string> | undefined {
  if (rawQuery === '') return undefined;
  const parameters: Record<string, string> = {};
  for (const [name, value] of new URLSearchParams(rawQuery)) {
    setMember(parameters, name, Object.hasOwn(parameters, name) ? `${parameters[name]},${value}` : value);
  }
  return parameters;
}

/** The headers of the event: repeated ones joined, the cookies left for `cookies`. */
function eventHeaders(from: HttpRequestFacts['headers']): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const name in from) {
    const text = name === 'cookie' ? undefined : joined(from[name]);
    if (text !== undefined) setMember(headers, name, text);
  }
  return headers;
}

function hasMembers(record: Readonly<Record<string, string>>): boolean {
  for (const _ in record) return true;
  return false;
}

/**
 * The API Gateway HTTP API (payload format 2.0) event for a request that matched a route. Built
 * member by member in the event's order, on every request the new side serves or shadows: the
 * spreads and entry arrays it was built with before cost about two thirds of its 17 µs (issue 26).
 * `receivedAt` (epoch milliseconds) is the event's request time.
 */
export function toHttpEvent(request: HttpRequestFacts, match: RouteMatch, receivedAt: number): APIGatewayProxyEventV2 {
  const queryAt = request.url.indexOf('?');
  const rawPath = queryAt === -1 ? request.url : request.url.slice(0, queryAt);
  const rawQueryString = queryAt === -1 ? '' : request.url.slice(queryAt + 1);

  const headers = eventHeaders(request.headers);
  const cookieHeader = joined(request.headers.cookie);
  const contentType = joined(request.headers['content-type']) ?? '';
  // A text type whose bytes are not UTF-8 goes as base64 too: decoded, they would arrive changed.
  const text = request.body.length === 0 || (TEXT_MEDIA.test(contentType) && isUtf8(request.body));
  const host = headers.host ?? 'localhost';
  const dot = host.indexOf('.');
  const queryStringParameters = queryParameters(rawQueryString);

  // In the order API Gateway writes them; the optional members only when there are some.
  const event: Partial<Writable<APIGatewayProxyEventV2>> = { version: '2.0', routeKey: match.route.key, rawPath, rawQueryString };
  if (cookieHeader) event.cookies = cookieHeader.split(/;\s*/).filter((cookie) => cookie !== '');
  event.headers = headers;
  if (queryStringParameters) event.queryStringParameters = queryStringParameters;
  if (hasMembers(match.params)) event.pathParameters = { ...match.params };
  event.requestContext = {
    accountId: 'cutover',
    apiId: 'cutover',
    domainName: host,
    domainPrefix: dot === -1 ? host : host.slice(0, dot),
    http: {
      method: request.method,
      path: rawPath,
      protocol: `HTTP/${request.httpVersion}`,
      sourceIp: request.sourceIp,
      userAgent: headers['user-agent'] ?? '',
    },
    requestId: request.requestId,
    routeKey: match.route.key,
    stage: '$default',
    time: clfTime(receivedAt),
    timeEpoch: receivedAt,
  };
  if (request.body.length > 0) event.body = text ? request.body.toString('utf8') : request.body.toString('base64');
  event.isBase64Encoded = !text;
  return event as APIGatewayProxyEventV2;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Maps a function's result back to HTTP as API Gateway does: a result with a `statusCode` is a
 * structured response; anything else is the JSON body of a 200.
 */
export function fromFunctionResult(result: unknown): HttpResponse {
  if (!isRecord(result) || !('statusCode' in result)) {
    return { status: 200, headers: { 'content-type': 'application/json' }, body: Buffer.from(JSON.stringify(result)) };
  }
  const { statusCode, headers = {}, cookies = [], body = '', isBase64Encoded = false } = result;
  // A 1xx is not a final answer: the client would get it and then nothing.
  if (typeof statusCode !== 'number' || !Number.isInteger(statusCode) || statusCode < 200 || statusCode > 599) {
    throw new InvalidFunctionResult(`statusCode ${JSON.stringify(statusCode)} is not the status of a final response`);
  }
  if (!isRecord(headers)) throw new InvalidFunctionResult('headers is not an object');
  if (!Array.isArray(cookies) || !cookies.every((cookie) => typeof cookie === 'string')) throw new InvalidFunctionResult('cookies is not a list of strings');
  if (typeof body !== 'string') throw new InvalidFunctionResult('body is not a string');

  const outgoing: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    try {
      validateHeaderName(name);
      validateHeaderValue(name, String(value));
    } catch {
      throw new InvalidFunctionResult(`header ${JSON.stringify(name)} cannot be sent over HTTP`);
    }
    outgoing[name.toLowerCase()] = String(value);
  }
  if (cookies.length > 0) outgoing['set-cookie'] = cookies;
  return { status: statusCode, headers: outgoing, body: Buffer.from(body, isBase64Encoded === true ? 'base64' : 'utf8') };
}
