import { type Json, type JsonDocument, shown } from './json.js';
import { align, equalByRules, isIgnored, isWithinIgnored, unorderedRuleAt } from './normalize.js';
import { isNumber, sameNumber } from './number.js';
import type { JsonValue } from './observation.js';
import { fieldOf, formatPointer, type PathSegment } from './pointer.js';
import type { Rules } from './rules.js';

export type DifferenceKind = 'changed' | 'added' | 'removed' | 'type' | 'status' | 'header' | 'duplicate_key';

/**
 * One difference between the two sides. `path` is a JSON Pointer into the legacy body, except
 * for kind `added`, where it points into the new body; status and header differences use the
 * paths "/status" and "/headers/<lower-case name>". The side a value is missing from is null.
 * Kind `duplicate_key` is a member that an object repeats: the side that repeats it gives every
 * value it had there, in order, the other side null (both give theirs when both repeat it); its
 * path points into the body that repeats it.
 */
export interface Difference {
  readonly path: string;
  readonly kind: DifferenceKind;
  readonly legacy: JsonValue;
  readonly new: JsonValue;
  /** The path with array indexes as `*`: what the noise model and the metrics count. */
  readonly field: string;
}

/** A difference; its values are shown as plain JSON, numbers that no double holds as {"$number": text}. */
export function difference(path: readonly PathSegment[], kind: DifferenceKind, legacy: Json | undefined, newSide: Json | undefined): Difference {
  return Object.freeze({
    path: formatPointer(path), kind, legacy: legacy === undefined ? null : shown(legacy), new: newSide === undefined ? null : shown(newSide), field: fieldOf(path),
  });
}

/** A difference as the walk finds it: its path in segments, its values as parsed. */
interface Found {
  readonly path: readonly PathSegment[];
  readonly kind: DifferenceKind;
  readonly legacy?: Json;
  readonly new?: Json;
}

/** Two nodes at the same place in both documents; `path` is the legacy one's. */
interface Pair {
  readonly path: PathSegment[];
  readonly legacy: Json;
  readonly new: Json;
}

function typeOf(value: Json): string {
  return value === null ? 'null' : Array.isArray(value) ? 'array' : isNumber(value) ? 'number' : typeof value;
}

/**
 * Walks two documents side by side with a stack of its own, so that no document can exhaust the
 * call stack, and hands each difference to `report`, which stops the walk by answering false.
 * An ignored node is skipped with all it holds.
 */
class Walk {
  private readonly pending: Pair[] = [];
  private going = true;

  constructor(private readonly rules: Rules, private readonly report: (found: Found) => boolean) {}

  run(root: Pair): void {
    this.pending.push(root);
    while (this.going && this.pending.length > 0) {
      const pair = this.pending.pop() as Pair;
      if (!isIgnored(this.rules, pair.path)) this.visit(pair);
    }
  }

  private emit(found: Found): void {
    if (this.going && !isIgnored(this.rules, found.path)) this.going = this.report(found);
  }

  private visit({ path, legacy, new: newSide }: Pair): void {
    if (legacy === newSide || equalByRules(this.rules, legacy, newSide)) return;
    const type = typeOf(legacy);
    if (type !== typeOf(newSide)) this.emit({ path, kind: 'type', legacy, new: newSide });
    else if (type === 'array') this.arrays(path, legacy as Json[], newSide as Json[]);
    else if (type === 'object') this.objects(path, legacy as Record<string, Json>, newSide as Record<string, Json>);
    else if (type !== 'number' || !sameNumber(legacy as number, newSide as number)) this.emit({ path, kind: 'changed', legacy, new: newSide });
  }

  private arrays(path: PathSegment[], legacy: Json[], newSide: Json[]): void {
    const rule = unorderedRuleAt(this.rules, path);
    if (rule) {
      const equal = (legacyIndex: number, newIndex: number) =>
        sameUnderRules(this.rules, { path: [...path, legacyIndex], legacy: legacy[legacyIndex] as Json, new: newSide[newIndex] as Json });
      const { partners, newOnly } = align(this.rules, rule, legacy, newSide, path, equal);
      // Paired elements are compared at their legacy index; elements of the new side only are added at their own.
      partners.forEach((partner, index) => {
        if (partner === undefined) this.emit({ path: [...path, index], kind: 'removed', legacy: legacy[index] });
        else this.pending.push({ path: [...path, index], legacy: legacy[index] as Json, new: newSide[partner] as Json });
      });
      for (const index of newOnly) this.emit({ path: [...path, index], kind: 'added', new: newSide[index] });
      return;
    }
    const common = Math.min(legacy.length, newSide.length);
    for (let index = 0; index < common; index++) this.pending.push({ path: [...path, index], legacy: legacy[index] as Json, new: newSide[index] as Json });
    for (let index = common; index < legacy.length; index++) this.emit({ path: [...path, index], kind: 'removed', legacy: legacy[index] });
    for (let index = common; index < newSide.length; index++) this.emit({ path: [...path, index], kind: 'added', new: newSide[index] });
  }

  private objects(path: PathSegment[], legacy: Record<string, Json>, newSide: Record<string, Json>): void {
    for (const name of Object.keys(legacy)) {
      if (Object.hasOwn(newSide, name)) this.pending.push({ path: [...path, name], legacy: legacy[name] as Json, new: newSide[name] as Json });
      else this.emit({ path: [...path, name], kind: 'removed', legacy: legacy[name] });
    }
    if (this.rules.allowNew) return;
    for (const name of Object.keys(newSide)) {
      if (!Object.hasOwn(legacy, name)) this.emit({ path: [...path, name], kind: 'added', new: newSide[name] });
    }
  }
}

/** Whether two nodes at `path` have no difference under the rules; stops at the first one. */
function sameUnderRules(rules: Rules, pair: Pair): boolean {
  let same = true;
  new Walk(rules, () => (same = false)).run(pair);
  return same;
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

/** The members either document repeats, one difference per path, unless ignored. */
function duplicateKeys(legacy: JsonDocument, newSide: JsonDocument, rules: Rules): Found[] {
  const byPath = new Map<string, { path: readonly PathSegment[]; legacy?: Json[]; new?: Json[] }>();
  for (const [side, document] of [['legacy', legacy], ['new', newSide]] as const) {
    for (const { path, values } of document.duplicates) {
      if (isWithinIgnored(rules, path)) continue;
      const pointer = formatPointer(path);
      const entry = byPath.get(pointer) ?? { path };
      entry[side] = [...values];
      byPath.set(pointer, entry);
    }
  }
  return [...byPath.values()].map((entry) => ({ ...entry, kind: 'duplicate_key' as const }));
}

/**
 * The differences between two JSON documents under the rules, in path order; at one path a
 * repeated member comes before what its last value changes.
 */
export function diffJson(legacy: JsonDocument, newSide: JsonDocument, rules: Rules): Difference[] {
  const found = duplicateKeys(legacy, newSide, rules);
  new Walk(rules, (each) => { found.push(each); return true; }).run({ path: [], legacy: legacy.value, new: newSide.value });
  found.sort((a, b) => compareSegments(a.path, b.path));
  return found.map((each) => difference(each.path, each.kind, each.legacy, each.new));
}
