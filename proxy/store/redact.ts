import { createHmac } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { Difference, Headers, JsonValue } from '../../compare/index.js';
import { headerValue } from '../../compare/body.js';
import { matchesPattern, type PathSegment, parsePointer } from '../../compare/pointer.js';
import type { StoreConfig } from '../config/config.js';
import { CREDENTIAL_HEADERS, foldName, isSecretName } from '../telemetry/secret-names.js';

/** What a redacted value is stored as. */
export const REDACTED = '[redacted]';

const FORM = 'application/x-www-form-urlencoded';

/**
 * Takes out of a comparison what must never reach the store: credentials, the names the
 * defaults call secret (secret-names.ts) unless kept, and the configured headers, query
 * parameters and JSON members. The caller key is replaced by a keyed hash, and the header it
 * came from with it, so that a record still tells whether two requests came from one caller.
 */
export class Redactor {
  private readonly headers: ReadonlySet<string>;

  constructor(private readonly config: StoreConfig['redact'], private readonly callers: { hash: boolean; key: string; header: string | undefined }) {
    this.headers = new Set([...CREDENTIAL_HEADERS, ...config.headers, ...(callers.hash && callers.header ? [callers.header] : [])]);
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
      kept[name] = this.isSecretHeader(name) ? REDACTED : typeof value === 'object' ? [...value] : String(value);
    }
    return kept;
  }

  /** A query string, or a form-encoded body, with the value of every secret name replaced; the rest byte for byte. */
  query(query: string): string {
    if (query === '') return query;
    return query.split('&').map((pair) => {
      const equals = pair.indexOf('=');
      const rawName = equals === -1 ? pair : pair.slice(0, equals);
      return this.isSecretParameter(decodeName(rawName)) ? `${rawName}=${REDACTED}` : pair;
    }).join('&');
  }

  /** A text body: a form-encoded one is redacted as a query string is; other text is not parsed. */
  text(text: string, headers: Headers): string {
    const type = headerValue(headers, 'content-type')?.split(';')[0]?.trim().toLowerCase();
    return type === FORM ? this.query(text) : text;
  }

  /** A JSON value found at `at` (a JSON Pointer) with every member the pointers or the secret names name replaced. */
  json(value: JsonValue, at = ''): JsonValue {
    const path = at === '' ? [] : parsePointer(at);
    // Below a secret member, everything is part of the secret.
    return path.some((segment) => this.isSecretMember(segment)) ? REDACTED : this.redactTree(value, path);
  }

  /**
   * A difference (or a hidden one) with its values redacted as the place it points to is in the
   * sides: a header's as that header, a body member's as that member. A side's null stays null,
   * so that a reviewer still sees which side lacked it.
   */
  difference<D extends Difference>(difference: D): D {
    switch (difference.kind) {
      case 'status': return difference;
      case 'header': {
        if (!this.isSecretHeader(difference.path.slice('/headers/'.length))) return difference;
        return { ...difference, legacy: difference.legacy === null ? null : REDACTED, new: difference.new === null ? null : REDACTED };
      }
      default: return { ...difference, legacy: this.json(difference.legacy, difference.path), new: this.json(difference.new, difference.path) };
    }
  }

  private isSecretHeader(name: string): boolean {
    const lower = name.toLowerCase();
    return this.headers.has(lower) || this.isDefaultSecret(foldName(lower));
  }

  private isSecretParameter(name: string): boolean {
    const folded = foldName(name);
    return this.config.query.has(folded) || this.isDefaultSecret(folded);
  }

  private isDefaultSecret(folded: string): boolean {
    return isSecretName(folded) && !this.config.keep.has(folded);
  }

  private isSecretMember(name: string): boolean {
    return this.isDefaultSecret(foldName(name));
  }

  private redactTree(value: JsonValue, path: PathSegment[]): JsonValue {
    if (this.config.pointers.some((pattern) => matchesPattern(pattern, path))) return REDACTED;
    if (Array.isArray(value)) return value.map((element, index) => this.redactTree(element, [...path, index]));
    if (value !== null && typeof value === 'object') {
      return Object.fromEntries(Object.entries(value).map(([name, member]) => [name, this.isSecretMember(name) ? REDACTED : this.redactTree(member, [...path, name])]));
    }
    return value;
  }
}

function decodeName(name: string): string {
  try {
    return decodeURIComponent(name.replace(/\+/g, ' '));
  } catch {
    return name;
  }
}
