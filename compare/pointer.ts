/**
 * JSON Pointers (RFC 6901) and the patterns the comparison rules are written in.
 *
 * A pattern is a pointer whose segments may be `*` (exactly one segment) or `**` (any number of
 * segments, none included). A literal member named `*` or `**` cannot be addressed by a pattern;
 * the rules never need to.
 */

/** One step of a path in a JSON document: an object member name or an array index. */
export type PathSegment = string | number;

export class PointerError extends Error {}

/** A compiled pattern: plain data, so that rules can cross a worker boundary unchanged. */
export interface PointerPattern {
  /** The pattern as written, for messages and for turning rules back into JSON. */
  readonly source: string;
  readonly segments: readonly string[];
}

/** Splits a JSON Pointer into its unescaped segments; "" is the whole document. */
export function parsePointer(text: string): string[] {
  if (text === '') return [];
  if (!text.startsWith('/')) throw new PointerError(`"${text}" is not a JSON Pointer: it must be empty or start with "/"`);
  return text.slice(1).split('/').map((raw) => {
    if (/~(?![01])/.test(raw)) throw new PointerError(`"${text}" is not a JSON Pointer: "~" must be followed by 0 or 1`);
    return raw.replace(/~1/g, '/').replace(/~0/g, '~');
  });
}

export function escapeSegment(segment: PathSegment): string {
  return String(segment).replace(/~/g, '~0').replace(/\//g, '~1');
}

export function formatPointer(path: readonly PathSegment[]): string {
  let text = '';
  for (const segment of path) text += `/${escapeSegment(segment)}`;
  return text;
}

export function compilePattern(text: string): PointerPattern {
  return { source: text, segments: parsePointer(text) };
}

/**
 * Whether `path.slice(from)` matches the pattern. The offset spares callers a copy of the path
 * on every node of a large document.
 */
export function matchesPattern(pattern: PointerPattern, path: readonly PathSegment[], from = 0): boolean {
  return matchFrom(pattern.segments, 0, path, from);
}

function matchFrom(segments: readonly string[], p: number, path: readonly PathSegment[], i: number): boolean {
  while (p < segments.length) {
    const segment = segments[p];
    if (segment === '**') {
      // Try every possible length for the globstar, shortest first.
      for (let k = i; k <= path.length; k++) if (matchFrom(segments, p + 1, path, k)) return true;
      return false;
    }
    if (i >= path.length) return false;
    if (segment !== '*' && segment !== String(path[i])) return false;
    p++;
    i++;
  }
  return i === path.length;
}

/**
 * The field a path belongs to: array indexes become `*`, so that the set of fields of a route
 * stays bounded however long its arrays are (e.g. /data/*\/attributes/updatedAt).
 */
export function fieldOf(path: readonly PathSegment[]): string {
  let text = '';
  for (const segment of path) text += typeof segment === 'number' ? '/*' : `/${escapeSegment(segment)}`;
  return text;
}
