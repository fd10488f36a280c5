import { createHash } from 'node:crypto';
import { brotliDecompressSync, gunzipSync, inflateRawSync, inflateSync } from 'node:zlib';
import { checkLimits, type Json, type JsonDocument, parseJson } from './json.js';
import { type JsonLimits, JsonLimitError, scanJson } from './json-scan.js';
import type { Headers, JsonValue, Response } from './observation.js';

/** A body as the store keeps it: a JSON tree (as JSON.parse reads it), text, or (anything else) the digest of its bytes. */
export type Body =
  | { readonly kind: 'json'; readonly value: JsonValue }
  | { readonly kind: 'text'; readonly text: string }
  | { readonly kind: 'bytes'; readonly sha256: string };

/** A body that cannot be read: unknown or corrupt Content-Encoding, unknown charset, or past a limit. */
export class BodyError extends Error {}

/** A header's value by its lower-case name, in headers named in any case; repeated headers are joined with ", " as HTTP does. */
export function headerValue(headers: Headers, name: string): string | undefined {
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() !== name || value === undefined) continue;
    return typeof value === 'object' ? value.join(', ') : String(value);
  }
  return undefined;
}

interface MediaType { readonly essence: string; readonly charset: string | undefined }

function mediaTypeOf(headers: Headers): MediaType | undefined {
  const value = headerValue(headers, 'content-type');
  if (value === undefined) return undefined;
  const [essence = '', ...parameters] = value.split(';').map((part) => part.trim());
  const charset = parameters.find((parameter) => /^charset=/i.test(parameter))?.slice('charset='.length).replace(/^"|"$/g, '');
  return { essence: essence.toLowerCase(), charset };
}

function isJson(type: MediaType): boolean {
  const subtype = type.essence.split('/')[1] ?? '';
  return subtype === 'json' || subtype.endsWith('+json');
}

/** Text that is not JSON: text/*, XML, JavaScript, form data, and whatever declares a charset. */
function isText(type: MediaType): boolean {
  const [top = '', subtype = ''] = type.essence.split('/');
  return top === 'text' || subtype === 'xml' || subtype.endsWith('+xml') || subtype === 'javascript'
    || subtype === 'x-www-form-urlencoded' || type.charset !== undefined;
}

/** The content codings applied to a body, in the order they were applied. */
function codingsOf(headers: Headers): string[] {
  return (headerValue(headers, 'content-encoding') ?? '').split(',')
    .map((coding) => coding.trim().toLowerCase()).filter((coding) => coding !== '' && coding !== 'identity');
}

function decodeContent(bytes: Uint8Array, headers: Headers, maxBytes: number): Uint8Array {
  let data = bytes;
  // Codings are listed in the order they were applied, so they are undone from the last.
  for (const coding of codingsOf(headers).reverse()) {
    const options = { maxOutputLength: maxBytes };
    try {
      switch (coding) {
        case 'gzip': case 'x-gzip': data = gunzipSync(data, options); break;
        case 'br': data = brotliDecompressSync(data, options); break;
        case 'deflate': data = inflateDeflate(data, options); break;
        default: throw new BodyError(`unsupported content-encoding "${coding}"`);
      }
    } catch (error) {
      if (error instanceof BodyError) throw error;
      const tooLarge = (error as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE';
      throw new BodyError(tooLarge ? `${coding} body larger than ${maxBytes} bytes once decoded` : `corrupt ${coding} body (${(error as Error).message})`);
    }
  }
  return data;
}

/** HTTP's "deflate" is the zlib format, but some servers send raw deflate data. */
function inflateDeflate(data: Uint8Array, options: { maxOutputLength: number }): Uint8Array {
  try {
    return inflateSync(data, options);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') throw error;
    return inflateRawSync(data, options);
  }
}

function decodeText(bytes: Uint8Array, charset: string | undefined): string {
  try {
    return new TextDecoder(charset ?? 'utf-8').decode(bytes);
  } catch {
    throw new BodyError(`unsupported charset "${charset}"`);
  }
}

function jsonOrText(text: string): Body {
  try {
    return { kind: 'json', value: JSON.parse(text) as JsonValue };
  } catch {
    // A JSON media type with a body that is not JSON is still comparable, as text.
    return { kind: 'text', text };
  }
}

const EMPTY = Object.freeze({ kind: 'text', text: '' } as const);

function isEmpty(body: Response['body']): boolean {
  return body === undefined || body === '' || (body instanceof Uint8Array && body.length === 0);
}

/** Whether the body is JSON text: by its media type, or by the response saying so whatever the type. */
function isJsonText(response: Response, type: MediaType | undefined): boolean {
  return response.bodyIsJson === true || (type !== undefined && isJson(type));
}

/** How a response's body is read for the store. Throws a BodyError when the body cannot be decoded. */
export function readBody(response: Response, maxBytes: number): Body {
  const { body } = response;
  const type = mediaTypeOf(response.headers);
  // Every empty body is the same body, whatever its type says (a 204 with a JSON type, say).
  if (isEmpty(body)) return EMPTY;
  if (typeof body === 'string') return isJsonText(response, type) ? jsonOrText(body) : { kind: 'text', text: body };
  if (!(body instanceof Uint8Array)) return { kind: 'json', value: body as JsonValue };
  const bytes = decodeContent(body, response.headers, maxBytes);
  if (isJsonText(response, type)) return jsonOrText(decodeText(bytes, type?.charset));
  if (type && isText(type)) return { kind: 'text', text: decodeText(bytes, type.charset) };
  return { kind: 'bytes', sha256: createHash('sha256').update(bytes).digest('hex') };
}

/** A body as compare() reads it: JSON with exact numbers and its repeated members, text, or a digest. */
export type ComparedBody =
  | ({ readonly kind: 'json' } & JsonDocument)
  | { readonly kind: 'text'; readonly text: string }
  | { readonly kind: 'bytes'; readonly sha256: string };

export interface BodyLimits extends JsonLimits {
  /** Bytes once decoded, whether the body came with a content coding or without. */
  readonly maxBytes: number;
}

function exactJsonOrText(text: string, limits: JsonLimits): ComparedBody {
  try {
    return { kind: 'json', ...parseJson(text, limits) };
  } catch (error) {
    if (!(error instanceof SyntaxError)) throw error;
    return { kind: 'text', text };
  }
}

/** The size of a body sent without a content coding (a coded one is held to the limit as it is decoded). */
function plainSize(response: Response): number {
  const { body } = response;
  if (typeof body === 'string') return Buffer.byteLength(body);
  return body instanceof Uint8Array && codingsOf(response.headers).length === 0 ? body.length : 0;
}

/** A body as compare() reads it, but for its JSON text, which is not parsed yet. */
type Decoded = ComparedBody | { readonly kind: 'jsonText'; readonly text: string };

function decoded(response: Response, limits: BodyLimits): Decoded {
  const { body } = response;
  const type = mediaTypeOf(response.headers);
  if (isEmpty(body)) return EMPTY;
  if (plainSize(response) > limits.maxBytes) throw new BodyError(`larger than ${limits.maxBytes} bytes`);
  if (typeof body === 'string') return isJsonText(response, type) ? { kind: 'jsonText', text: body } : { kind: 'text', text: body };
  if (!(body instanceof Uint8Array)) {
    checkLimits(body as JsonValue, limits);
    return { kind: 'json', value: body as Json, duplicates: [] };
  }
  const bytes = decodeContent(body, response.headers, limits.maxBytes);
  if (isJsonText(response, type)) return { kind: 'jsonText', text: decodeText(bytes, type?.charset) };
  if (type && isText(type)) return { kind: 'text', text: decodeText(bytes, type.charset) };
  return { kind: 'bytes', sha256: createHash('sha256').update(bytes).digest('hex') };
}

function readCompared(response: Response, limits: BodyLimits): ComparedBody {
  const body = decoded(response, limits);
  return body.kind === 'jsonText' ? exactJsonOrText(body.text, limits) : body;
}

/**
 * Whether a body compared with the same bytes shows no difference: it can be read within the
 * limits, and its JSON repeats no member (a repeated member is a difference of its own, whichever
 * side repeats it). Known from the scan alone, without the parse that is most of a read's cost.
 */
export function matchesItself(response: Response, limits: BodyLimits): boolean {
  try {
    const body = decoded(response, limits);
    return body.kind !== 'jsonText' || scanJson(body.text, limits).repeated.length === 0;
  } catch (error) {
    if (error instanceof BodyError || error instanceof JsonLimitError) return false;
    throw error;
  }
}

/**
 * How compare() reads a response's body. Throws a BodyError when the body cannot be decoded or
 * is past a limit (decoded size, depth, number of values); the message is one line.
 */
export function readComparedBody(response: Response, limits: BodyLimits): ComparedBody {
  try {
    return readCompared(response, limits);
  } catch (error) {
    if (error instanceof JsonLimitError) throw new BodyError(error.message);
    throw error;
  }
}

/**
 * A body's size once decoded. A coded body is decoded no further than `limit` bytes, so that
 * knowing costs little whatever the coding hides: past that, or when it cannot be decoded, it
 * counts as `limit` + 1, and so does a body parsed already.
 */
export function decodedBodySize(response: Response, limit: number): number {
  const { body } = response;
  if (body === undefined) return 0;
  if (typeof body === 'string') return Buffer.byteLength(body);
  if (!(body instanceof Uint8Array)) return limit + 1;
  try {
    return decodeContent(body, response.headers, limit).length;
  } catch (error) {
    if (error instanceof BodyError) return limit + 1;
    throw error;
  }
}
