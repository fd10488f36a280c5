import { parse } from 'lossless-json';
import { type JsonLimits, JsonLimitError, scanJson, valueEnd } from './json-scan.js';
import { ExactNumber, isNumber, type JsonNumber, parseNumber, shownNumber } from './number.js';
import type { JsonValue } from './observation.js';
import type { PathSegment } from './pointer.js';

/** A JSON document as compared: a JSON value whose numbers keep the value their text writes. */
export type Json = null | boolean | string | JsonNumber | Json[] | JsonObject;
export interface JsonObject { [member: string]: Json }

/** A member an object of a document has more than once, with each of its values in order. */
export interface Duplicate {
  readonly path: readonly PathSegment[];
  readonly values: readonly Json[];
}

export interface JsonDocument {
  readonly value: Json;
  readonly duplicates: readonly Duplicate[];
}

export function isJsonObject(value: Json | undefined): value is JsonObject {
  return value !== null && typeof value === 'object' && !Array.isArray(value) && !(value instanceof ExactNumber);
}

/** A repeated member's last value is the one kept, as JSON.parse keeps it. */
function parseExact(text: string): Json {
  return parse(text, null, { parseNumber, onDuplicateKey: ({ newValue }) => newValue }) as Json;
}

/**
 * Parses JSON text with exact numbers, noting the members its objects repeat. Throws a
 * JsonLimitError past a limit, checked first since lossless-json's parser recurses, and a
 * SyntaxError when the text is not JSON.
 */
export function parseJson(text: string, limits: JsonLimits): JsonDocument {
  const { repeated, exactNumbers } = scanJson(text, limits);
  // When every number fits a double, JSON.parse reads the same document, several times faster.
  const parseValue = exactNumbers ? parseExact : (json: string) => JSON.parse(json) as Json;
  const value = parseValue(text);
  const duplicates = repeated.map(({ path, starts }) => ({ path, values: starts.map((start) => parseValue(text.slice(start, valueEnd(text, start)))) }));
  return { value, duplicates };
}

/** Holds a value that was parsed elsewhere to the limits, without recursion. */
export function checkLimits(value: JsonValue, limits: JsonLimits): void {
  const pending: Array<[JsonValue, number]> = [[value, 0]];
  let values = 0;
  while (pending.length > 0) {
    const [next, depth] = pending.pop() as [JsonValue, number];
    if (++values > limits.maxValues) throw new JsonLimitError(`more than ${limits.maxValues} JSON values`);
    if (next === null || typeof next !== 'object') continue;
    if (depth + 1 > limits.maxDepth) throw new JsonLimitError(`JSON nested deeper than ${limits.maxDepth} levels`);
    for (const child of Array.isArray(next) ? next : Object.values(next)) pending.push([child, depth + 1]);
  }
}

/** Sets a member, "__proto__" included, as an own property (as JSON.parse does). */
function setMember(object: Record<string, JsonValue>, name: string, value: JsonValue): void {
  if (name === '__proto__') Object.defineProperty(object, name, { value, writable: true, enumerable: true, configurable: true });
  else object[name] = value;
}

function shownScalar(value: Json): JsonValue {
  return isNumber(value) ? shownNumber(value) : value as JsonValue;
}

function emptyLike(value: Json[] | JsonObject): JsonValue[] | Record<string, JsonValue> {
  return Array.isArray(value) ? [] : {};
}

/** A value as a difference shows it: plain JSON, numbers as shownNumber writes them; built without recursion. */
export function shown(value: Json): JsonValue {
  if (!Array.isArray(value) && !isJsonObject(value)) return shownScalar(value);
  const root = emptyLike(value);
  const pending: Array<[Json[] | JsonObject, JsonValue[] | Record<string, JsonValue>]> = [[value, root]];
  while (pending.length > 0) {
    const [from, to] = pending.pop() as [Json[] | JsonObject, JsonValue[] | Record<string, JsonValue>];
    for (const [name, child] of Object.entries(from)) {
      let copy: JsonValue;
      if (Array.isArray(child) || isJsonObject(child)) {
        const container = emptyLike(child);
        pending.push([child, container]);
        copy = container;
      } else {
        copy = shownScalar(child);
      }
      if (Array.isArray(to)) to.push(copy);
      else setMember(to, name, copy);
    }
  }
  return root;
}
