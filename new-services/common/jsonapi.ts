import type { HttpEvent, HttpResult } from './lambda.js';

export const JSON_API = 'application/vnd.api+json';

export interface ErrorObject {
  status: string;
  code: string;
  title: string;
  detail: string;
  source?: { pointer: string } | { parameter: string };
}

/** A failure that a handler turns into one JSON:API error document. */
export class JsonApiError extends Error {
  constructor(readonly error: ErrorObject) {
    super(error.detail);
  }
}

const TITLES: Record<string, string> = {
  '400': 'Bad Request', '404': 'Not Found', '405': 'Method Not Allowed', '406': 'Not Acceptable',
  '409': 'Conflict', '415': 'Unsupported Media Type', '422': 'Unprocessable Entity',
};

/** One error; `source` is a JSON Pointer into the request document, or `?name` for a query parameter. */
export function problem(status: number, code: string, detail: string, source?: string): JsonApiError {
  const error: ErrorObject = { status: String(status), code, title: TITLES[String(status)] ?? 'Error', detail };
  if (source !== undefined) error.source = source.startsWith('?') ? { parameter: source.slice(1) } : { pointer: source };
  return new JsonApiError(error);
}

export function document(statusCode: number, body: object, headers: Record<string, string> = {}): HttpResult {
  return { statusCode, headers: { 'content-type': JSON_API, ...headers }, body: JSON.stringify(body) };
}

export function errorDocument(error: ErrorObject): HttpResult {
  return document(Number(error.status), { errors: [error] });
}

export function notFound(detail: string): HttpResult {
  return errorDocument(problem(404, 'not_found', detail).error);
}

function header(event: HttpEvent, name: string): string | undefined {
  return event.headers?.[name];
}

/** A media range list split into the parameters of each JSON:API entry. */
function jsonApiEntries(list: string): string[][] {
  return list.split(',')
    .map((entry) => entry.split(';').map((part) => part.trim()))
    .filter(([type]) => type?.toLowerCase() === JSON_API)
    .map(([, ...parameters]) => parameters);
}

/**
 * JSON:API 1.0 content negotiation: a request body must be sent as the JSON:API media type
 * without parameters (else 415); an Accept header that names the media type only with
 * parameters cannot be satisfied (406). Accept without the media type (or absent) is fine.
 */
export function negotiate(event: HttpEvent): void {
  const accept = header(event, 'accept');
  if (accept !== undefined) {
    const entries = jsonApiEntries(accept);
    if (entries.length > 0 && entries.every((parameters) => parameters.some((parameter) => !parameter.toLowerCase().startsWith('q=')))) {
      throw problem(406, 'not_acceptable', `Accept names ${JSON_API} only with media type parameters.`);
    }
  }
  if (event.body === undefined || event.body === '') return;
  const contentType = header(event, 'content-type');
  const [type, ...parameters] = (contentType ?? '').split(';').map((part) => part.trim());
  if (type?.toLowerCase() !== JSON_API || parameters.some((parameter) => parameter !== '')) {
    throw problem(415, 'unsupported_media_type', `Send the request document as ${JSON_API} without media type parameters (got ${contentType ?? 'no Content-Type'}).`);
  }
}

/** The request body parsed as JSON; malformed JSON is a 400. */
export function requestDocument(event: HttpEvent): unknown {
  const text = event.isBase64Encoded && event.body ? Buffer.from(event.body, 'base64').toString('utf8') : (event.body ?? '');
  if (text.trim() === '') throw problem(400, 'missing_document', 'The request needs a JSON:API document as its body.');
  try {
    return JSON.parse(text);
  } catch (error) {
    throw problem(400, 'malformed_json', `The request body is not valid JSON: ${(error as Error).message}.`);
  }
}

/** True when the proxy sent this request as a shadow: answer as usual, persist and enqueue nothing. */
export function isShadow(event: HttpEvent): boolean {
  return header(event, 'x-cutover-shadow') === '1';
}

/** Runs a route and turns any JsonApiError into its error document. */
export async function answer(run: () => Promise<HttpResult>): Promise<HttpResult> {
  try {
    return await run();
  } catch (error) {
    if (error instanceof JsonApiError) return errorDocument(error.error);
    throw error;
  }
}
