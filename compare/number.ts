import { isNumber as isNumberText, splitNumber } from 'lossless-json';
import type { JsonValue } from './observation.js';

/**
 * JSON numbers compared by the value their text writes, not by the double JavaScript would make
 * of it: 9007199254740993 and 9007199254740992 are one double but two ids.
 */

/** A JSON number that no double holds exactly (a 64-bit id, 1e400, 0.1000000000000000000001), kept as sent. */
export class ExactNumber {
  /** The value spelt one way: equal numbers have equal keys (`#` keeps it apart from any other canonical text). */
  readonly key: string;

  constructor(readonly text: string) {
    const { sign, digits, exponent } = splitNumber(text);
    this.key = `#${sign}${digits}e${exponent}`;
  }
}

/**
 * A number of a parsed document: a double when one holds the text's value exactly (12.50 is
 * 12.5, 1e20 is 100000000000000000000), else an ExactNumber. Each value therefore has one form,
 * and a double never equals an ExactNumber.
 */
export type JsonNumber = number | ExactNumber;

export function isNumber(value: unknown): value is JsonNumber {
  return typeof value === 'number' || value instanceof ExactNumber;
}

function sameDecimal(a: string, b: string): boolean {
  const x = splitNumber(a), y = splitNumber(b);
  return x.sign === y.sign && x.digits === y.digits && x.exponent === y.exponent;
}

/** Fifteen characters or fewer without an exponent: a number that always survives a double unchanged. */
function isShortDecimal(text: string, start: number, end: number): boolean {
  if (end - start > 15) return false;
  // `| 0x20` reads E as e.
  for (let at = start; at < end; at++) if ((text.charCodeAt(at) | 0x20) === 0x65) return false;
  return true;
}

/** The number a JSON number's text writes. */
export function parseNumber(text: string): JsonNumber {
  if (isShortDecimal(text, 0, text.length)) return Number(text);
  const double = Number(text);
  return Number.isFinite(double) && sameDecimal(String(double), text) ? double : new ExactNumber(text);
}

/**
 * Whether the number text[start, end), valid or not, reads as a double without losing anything;
 * a short one is known without being cut out of the text, as most of a document's numbers are.
 */
export function fitsDouble(text: string, start: number, end: number): boolean {
  if (isShortDecimal(text, start, end)) return true;
  try {
    return typeof parseNumber(text.slice(start, end)) === 'number';
  } catch {
    return false; // Not a number: the parser will say so.
  }
}

export function sameNumber(a: JsonNumber, b: JsonNumber): boolean {
  if (typeof a === 'number' || typeof b === 'number') return a === b;
  return a.key === b.key;
}

/** A number as `coefficient × 10^exponent`, exactly. */
interface Decimal { readonly coefficient: bigint; readonly exponent: number; readonly digits: number }

function decimalOf(value: JsonNumber): Decimal {
  const { sign, digits, exponent } = splitNumber(typeof value === 'number' ? String(value) : value.text);
  return { coefficient: BigInt(`${sign}${digits}`), exponent: exponent - (digits.length - 1), digits: digits.length };
}

/**
 * Past these, exact arithmetic would cost more than any real response deserves (10^100000 is a
 * large integer to build): such numbers are within a tolerance only when equal, so that a
 * number no API sends can hide a difference only by being the same number.
 */
const MAX_EXACT_DIGITS = 10_000;
const MAX_EXACT_SPREAD = 10_000;

/** Whether |a − b| ≤ tolerance, in exact decimal arithmetic (1.1 and 1.0 are within 0.1). */
export function withinTolerance(a: JsonNumber, b: JsonNumber, tolerance: number): boolean {
  if (sameNumber(a, b)) return true;
  if (tolerance === 0) return false;
  const parts = [decimalOf(a), decimalOf(b), decimalOf(tolerance)];
  const lowest = Math.min(...parts.map((part) => part.exponent));
  const highest = Math.max(...parts.map((part) => part.exponent));
  if (highest - lowest > MAX_EXACT_SPREAD || parts.some((part) => part.digits > MAX_EXACT_DIGITS)) return false;
  const [x, y, t] = parts.map((part) => part.coefficient * 10n ** BigInt(part.exponent - lowest)) as [bigint, bigint, bigint];
  const gap = x > y ? x - y : y - x;
  return gap <= t;
}

/**
 * How a number appears in a difference: a double as a JSON number, an ExactNumber as
 * `{"$number": "<its text>"}`, so that a reviewer reads its exact digits and sees it is a number.
 */
export function shownNumber(value: JsonNumber): JsonValue {
  return typeof value === 'number' ? value : { $number: value.text };
}

/** The number a difference shows (see shownNumber), or undefined for any other value. */
export function numberShown(value: JsonValue): JsonNumber | undefined {
  if (typeof value === 'number') return value;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined;
  const names = Object.keys(value);
  const text = value.$number;
  return names.length === 1 && typeof text === 'string' && isNumberText(text) ? parseNumber(text) : undefined;
}
