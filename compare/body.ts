import { createHash } from 'node:crypto';
import { brotliDecompressSync, gunzipSync, inflateRawSync, inflateSync } from 'node:zlib';
import type { Headers, JsonValue, Response } from './observation.js';

/** A body as it is compared: a JSON tree, text, or (anything else) the digest of its bytes. */
export type Body =
  | { readonly kind: 'json'; readonly value: JsonValue }
  | { readonly kind: 'text'; readonly text: string }
  | { readonly kind: 'bytes'; readonly sha256: string };

/** A body that cannot be read: unknown or corrupt Content-Encoding, too large once decoded, unknown charset. */
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

function decodeContent(bytes: Uint8Array, headers: Headers, maxBytes: number): Uint8Array {
  const codings = (headerValue(headers, 'content-encoding') ?? '').split(',')
    .map((coding) => coding.trim().toLowerCase()).filter((coding) => coding !== '' && coding !== 'identity');
  let data = bytes;
  // Codings are listed in the order they were applied, so they are undone from the last.
  for (const coding of codings.reverse()) {
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

const EMPTY: Body = Object.freeze({ kind: 'text', text: '' });

/** How a response's body is compared. Throws a BodyError when the body cannot be decoded. */
export function readBody(response: Response, maxBytes: number): Body {
  const { body } = response;
  const type = mediaTypeOf(response.headers);
  // Every empty body is the same body, whatever its type says (a 204 with a JSON type, say).
  if (body === undefined || body === '' || (body instanceof Uint8Array && body.length === 0)) return EMPTY;
  if (typeof body === 'string') return type && isJson(type) ? jsonOrText(body) : { kind: 'text', text: body };
  if (!(body instanceof Uint8Array)) return { kind: 'json', value: body };
  const bytes = decodeContent(body, response.headers, maxBytes);
  if (type && isJson(type)) return jsonOrText(decodeText(bytes, type.charset));
  if (type && isText(type)) return { kind: 'text', text: decodeText(bytes, type.charset) };
  return { kind: 'bytes', sha256: createHash('sha256').update(bytes).digest('hex') };
}
