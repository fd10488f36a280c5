import { createHmac } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { Headers, JsonValue, PointerPattern } from '../../compare/index.js';
import { matchesPattern, type PathSegment, parsePointer } from '../../compare/pointer.js';
import type { StoreConfig } from '../config/config.js';

/** What a redacted value is stored as. */
export const REDACTED = '[redacted]';

/** Credentials, never stored whatever the configuration says. */
const CREDENTIALS = ['authorization', 'proxy-authorization', 'cookie', 'set-cookie', 'x-api-key'];

/**
 * Takes out of a comparison what must never reach the store: credentials and the configured
 * headers, query parameters and JSON members. The caller key is replaced by a keyed hash, and the
 * header it came from with it, so that a record still tells whether two requests came from one caller.
 */
export class Redactor {
  private readonly headers: ReadonlySet<string>;

  constructor(private readonly config: StoreConfig['redact'], private readonly callers: { hash: boolean; key: string; header: string | undefined }) {
    this.headers = new Set([...CREDENTIALS, ...config.headers, ...(callers.hash && callers.header ? [callers.header] : [])]);
  }

  caller(caller: string): string {
    if (!this.callers.hash) return caller;
    return `hmac:${createHmac('sha256', this.callers.key).update(caller).digest('hex').slice(0, 24)}`;
  }

  /** Header names kept in their case; a removed header keeps its name, so a reviewer sees that one was sent. */
  headersOf(headers: IncomingHttpHeaders | Headers): Record<string, string | string[]> {
    const kept: Record<string, string | string[]> = {};
    for (const [name, value] of Object.entries(headers)) {
      if (value === undefined) continue;
      kept[name] = this.headers.has(name.toLowerCase()) ? REDACTED : typeof value === 'object' ? [...value] : String(value);
    }
    return kept;
  }

  query(query: string): string {
    if (query === '' || this.config.query.length === 0) return query;
    return query.split('&').map((pair) => {
      const equals = pair.indexOf('=');
      const name = decodeName(equals === -1 ? pair : pair.slice(0, equals));
      return this.config.query.includes(name) ? `${pair.slice(0, equals === -1 ? pair.length : equals)}=${REDACTED}` : pair;
    }).join('&');
  }

  /** A JSON value found at `at` (a JSON Pointer) with every member the pointers name replaced. */
  json(value: JsonValue, at = ''): JsonValue {
    if (this.config.pointers.length === 0) return value;
    return redactTree(value, at === '' ? [] : parsePointer(at), this.config.pointers);
  }
}

function decodeName(name: string): string {
  try {
    return decodeURIComponent(name.replace(/\+/g, ' '));
  } catch {
    return name;
  }
}

function redactTree(value: JsonValue, path: PathSegment[], pointers: readonly PointerPattern[]): JsonValue {
  if (pointers.some((pattern) => matchesPattern(pattern, path))) return REDACTED;
  if (Array.isArray(value)) return value.map((element, index) => redactTree(element, [...path, index], pointers));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([name, member]) => [name, redactTree(member, [...path, name], pointers)]));
  }
  return value;
}
