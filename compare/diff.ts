import deepDiff from 'deep-diff';
import { align, equalByRules, isIgnored, unorderedRuleAt } from './normalize.js';
import type { JsonValue } from './observation.js';
import { fieldOf, formatPointer, type PathSegment } from './pointer.js';
import type { Rules } from './rules.js';

export type DifferenceKind = 'changed' | 'added' | 'removed' | 'type' | 'status' | 'header';

/**
 * One difference between the two sides. `path` is a JSON Pointer into the legacy body, except
 * for kind `added`, where it points into the new body; status and header differences use the
 * paths "/status" and "/headers/<lower-case name>". The side a value is missing from is null.
 */
export interface Difference {
  readonly path: string;
  readonly kind: DifferenceKind;
  readonly legacy: JsonValue;
  readonly new: JsonValue;
  /** The path with array indexes as `*`: what the noise model and the metrics count. */
  readonly field: string;
}

export function difference(path: readonly PathSegment[], kind: DifferenceKind, legacy: JsonValue | undefined, candidate: JsonValue | undefined): Difference {
  return Object.freeze({ path: formatPointer(path), kind, legacy: legacy ?? null, new: candidate ?? null, field: fieldOf(path) });
}

function typeOf(value: unknown): string {
  return value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value;
}

/**
 * Stands for a member missing on the legacy side. deep-diff skips a member named "" that only
 * the right-hand side has (it tests the name for truthiness), so such an object is given the
 * member with this value, and the difference it yields is read as an addition.
 */
const ABSENT = Symbol('absent');

/** The unordered arrays met during one diff: where new-only elements moved to, by array path. */
type Relocations = Map<string, { readonly legacyLength: number; readonly newOnly: readonly number[] }>;

/**
 * The documents are wrapped in a one-element array so that deep-diff's hooks (which it never
 * calls for the root) also see the root; hook paths therefore start at index ROOT.
 */
const ROOT = 1;

/**
 * deep-diff's hooks for one diff. `base` is where the diffed values sit in the documents: the
 * root for a whole body, an array element when unordered elements are tried against each other.
 */
function hooks(rules: Rules, relocations: Relocations, base: readonly PathSegment[]): deepDiff.PreFilterObject<unknown, unknown> {
  // The full path of a node and where its document part starts (spares a copy for whole bodies).
  const pathOf = (path: PathSegment[], key: PathSegment): [PathSegment[], number] =>
    (base.length === 0 ? [[...path, key], ROOT] : [[...base, ...path.slice(ROOT), key], 0]);
  return {
    prefilter: rules.ignore.length === 0 ? undefined : (path: PathSegment[], key: PathSegment) => isIgnored(rules, ...pathOf(path, key)),
    normalize(path: PathSegment[], key: PathSegment, legacy: unknown, candidate: unknown): [unknown, unknown] | undefined {
      if (equalByRules(rules, legacy, candidate)) return [legacy, legacy];
      if (Array.isArray(legacy) && Array.isArray(candidate) && rules.unordered.length > 0) {
        const [arrayPath, from] = pathOf(path, key);
        const rule = unorderedRuleAt(rules, arrayPath, from);
        if (!rule) return undefined;
        const equal = (legacyIndex: number, newIndex: number) =>
          rawDiff(legacy[legacyIndex] as JsonValue, candidate[newIndex] as JsonValue, rules, [...arrayPath.slice(from), legacyIndex], new Map()).length === 0;
        const { partners, newOnly } = align(rules, rule, legacy as JsonValue[], candidate as JsonValue[], arrayPath, from, equal);
        // Sparse arrays: a hole is a missing element to deep-diff, hence an addition or a removal.
        const left = new Array<unknown>(legacy.length + newOnly.length);
        const right = new Array<unknown>(legacy.length + newOnly.length);
        legacy.forEach((element, index) => { left[index] = element; });
        partners.forEach((partner, index) => { if (partner !== undefined) right[index] = candidate[partner]; });
        newOnly.forEach((partner, offset) => { right[legacy.length + offset] = candidate[partner]; });
        if (newOnly.length > 0) relocations.set(formatPointer(arrayPath.slice(from)), { legacyLength: legacy.length, newOnly });
        return [left, right];
      }
      if (isRecord(legacy) && isRecord(candidate) && Object.hasOwn(candidate, '') && !Object.hasOwn(legacy, '')) {
        return [{ ...legacy, '': ABSENT }, candidate];
      }
      return undefined;
    },
  };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** Turns a path through the aligned arrays back into a path through the new document. */
function relocate(path: readonly PathSegment[], relocations: Relocations): PathSegment[] {
  if (relocations.size === 0) return [...path];
  return path.map((segment, index) => {
    const moved = typeof segment === 'number' ? relocations.get(formatPointer(path.slice(0, index))) : undefined;
    if (!moved || (segment as number) < moved.legacyLength) return segment;
    return moved.newOnly[(segment as number) - moved.legacyLength] as number;
  });
}

function compareSegments(a: readonly PathSegment[], b: readonly PathSegment[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const x = a[i] as PathSegment, y = b[i] as PathSegment;
    if (x === y) continue;
    if (typeof x === 'number' && typeof y === 'number') return x - y;
    return String(x) < String(y) ? -1 : 1;
  }
  return a.length - b.length;
}

function rawDiff(legacy: JsonValue, candidate: JsonValue, rules: Rules, base: readonly PathSegment[], relocations: Relocations): deepDiff.Diff<unknown, unknown>[] {
  return deepDiff.diff<unknown, unknown>([legacy], [candidate], hooks(rules, relocations, base)) ?? [];
}

/** The differences between two JSON documents under the rules, in path order. */
export function diffJson(legacy: JsonValue, candidate: JsonValue, rules: Rules): Difference[] {
  const relocations: Relocations = new Map();
  const changes = rawDiff(legacy, candidate, rules, [], relocations);
  const found = changes.map((change) => {
    const at = (change.path ?? []).slice(ROOT) as PathSegment[];
    switch (change.kind) {
      case 'A': {
        // An element past the end of the shorter array: deep-diff's item is an N or a D.
        const { item } = change;
        const path = relocate([...at, change.index], relocations);
        return item.kind === 'N' ? { path, kind: 'added' as const, legacy: undefined, new: item.rhs }
          : { path, kind: 'removed' as const, legacy: 'lhs' in item ? item.lhs : undefined, new: undefined };
      }
      case 'N': return { path: relocate(at, relocations), kind: 'added' as const, legacy: undefined, new: change.rhs };
      case 'D': return { path: relocate(at, relocations), kind: 'removed' as const, legacy: change.lhs, new: undefined };
      case 'E': {
        if (change.lhs === ABSENT) return { path: relocate(at, relocations), kind: 'added' as const, legacy: undefined, new: change.rhs };
        const kind = typeOf(change.lhs) === typeOf(change.rhs) ? 'changed' as const : 'type' as const;
        return { path: relocate(at, relocations), kind, legacy: change.lhs, new: change.rhs };
      }
    }
  });
  found.sort((a, b) => compareSegments(a.path, b.path));
  return found.map((found) => difference(found.path, found.kind, found.legacy as JsonValue | undefined, found.new as JsonValue | undefined));
}
