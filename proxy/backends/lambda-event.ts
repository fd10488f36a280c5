import { isUtf8 } from 'node:buffer';
import { type OutgoingHttpHeaders, validateHeaderName, validateHeaderValue } from 'node:http';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import type { Response } from '../../compare/index.js';
import type { RouteMatch } from '../config/route.js';
import type { UpstreamRequest } from './upstream.js';

/** What the event is made of: the request as a value, and when it arrived. */
export type HttpRequestFacts = Omit<UpstreamRequest, 'group' | 'match' | 'timeoutMs'> & { readonly receivedAt: Date };

/** A function's answer as an HTTP response: compare/'s Response, whole, in the shape the client is written. */
export interface HttpResponse extends Response {
  readonly headers: OutgoingHttpHeaders;
  readonly body: Buffer;
}

export class InvalidFunctionResult extends Error {}

const TEXT_MEDIA = /^(text\/|application\/([\w.+-]*\+)?(json|xml|x-www-form-urlencoded|javascript)\b)/i;

function joined(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(',') : value;
}

/** API Gateway's log-style request time, e.g. `12/Mar/2020:19:03:58 +0000`. */
function clfTime(date: Date): string {
  const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  const two = (n: number) => String(n).padStart(2, '0');
  return `${two(date.getUTCDate())}/${months[date.getUTCMonth()]}/${date.getUTCFullYear()}:${two(date.getUTCHours())}:${two(date.getUTCMinutes())}:${two(date.getUTCSeconds())} +0000`;
}

/**
 * Repeated names joined by commas, as API Gateway does. Gathered in a Map: on a plain object,
 * `constructor` or `toString` would be found on its prototype and `__proto__` would set it.
 */
function queryParameters(rawQuery: string): Record<string, string> | undefined {
  if (rawQuery === '') return undefined;
  const parameters = new Map<string, string>();
  for (const [name, value] of new URLSearchParams(rawQuery)) {
    const before = parameters.get(name);
    parameters.set(name, before === undefined ? value : `${before},${value}`);
  }
  // fromEntries defines each member, so that `__proto__` is one like any other.
  return Object.fromEntries(parameters);
}

/** The API Gateway HTTP API (payload format 2.0) event for a request that matched a route. */
export function toHttpEvent(request: HttpRequestFacts, match: RouteMatch): APIGatewayProxyEventV2 {
  const queryAt = request.url.indexOf('?');
  const rawPath = queryAt === -1 ? request.url : request.url.slice(0, queryAt);
  const rawQueryString = queryAt === -1 ? '' : request.url.slice(queryAt + 1);

  // Defined, not assigned, for the same reason as the query's: a client may send a header named `__proto__`.
  const headers: Record<string, string> = Object.fromEntries(Object.entries(request.headers).flatMap(([name, value]) => {
    const text = joined(value);
    return name !== 'cookie' && text !== undefined ? [[name, text]] : [];
  }));
  const cookieHeader = joined(request.headers.cookie);
  const cookies = cookieHeader ? cookieHeader.split(/;\s*/).filter((cookie) => cookie !== '') : undefined;
  const contentType = joined(request.headers['content-type']) ?? '';
  // A text type whose bytes are not UTF-8 goes as base64 too: decoded, they would arrive changed.
  const text = request.body.length === 0 || (TEXT_MEDIA.test(contentType) && isUtf8(request.body));
  const host = headers.host ?? 'localhost';
  const queryStringParameters = queryParameters(rawQueryString);

  return {
    version: '2.0',
    routeKey: match.route.key,
    rawPath,
    rawQueryString,
    ...(cookies ? { cookies } : {}),
    headers,
    ...(queryStringParameters ? { queryStringParameters } : {}),
    ...(Object.keys(match.params).length > 0 ? { pathParameters: { ...match.params } } : {}),
    requestContext: {
      accountId: 'cutover',
      apiId: 'cutover',
      domainName: host,
      domainPrefix: host.split('.')[0] ?? host,
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
      time: clfTime(request.receivedAt),
      timeEpoch: request.receivedAt.getTime(),
    },
    ...(request.body.length > 0 ? { body: text ? request.body.toString('utf8') : request.body.toString('base64') } : {}),
    isBase64Encoded: !text,
  };
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
