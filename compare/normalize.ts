import { isJsonObject, type Json, type JsonObject } from './json.js';
import { isNumber, sameNumber, withinTolerance } from './number.js';
import { matchesPattern, type PathSegment } from './pointer.js';
import { DEFAULT_RULES, type Rules, type UnorderedRule } from './rules.js';
import { canonicalInstant, sameInstant } from './timestamp.js';

/* The rules applied while the diff walks both documents. */

export function isIgnored(rules: Rules, path: readonly PathSegment[]): boolean {
  for (const pattern of rules.ignore) if (matchesPattern(pattern, path)) return true;
  return false;
}

/** Whether the path or one of its ancestors is ignored: the diff skips an ignored node with all it holds. */
export function isWithinIgnored(rules: Rules, path: readonly PathSegment[]): boolean {
  for (let length = 0; length <= path.length; length++) if (isIgnored(rules, path.slice(0, length))) return true;
  return false;
}

export function unorderedRuleAt(rules: Rules, path: readonly PathSegment[]): UnorderedRule | undefined {
  return rules.unordered.find((rule) => matchesPattern(rule.path, path));
}

/** Two different scalars that the rules make equal: numbers within tolerance, strings naming one instant. */
export function equalByRules(rules: Rules, legacy: unknown, newSide: unknown): boolean {
  if (legacy === newSide) return false;
  if (isNumber(legacy) && isNumber(newSide)) return !sameNumber(legacy, newSide) && withinTolerance(legacy, newSide, rules.numericTolerance);
  if (typeof legacy === 'string' && typeof newSide === 'string') return rules.timestamps === 'instant' && sameInstant(legacy, newSide);
  return false;
}

/**
 * How the elements of an unordered array pair up. Every legacy element keeps its index (paired
 * or not); elements found only on the new side are listed after them.
 */
export interface Alignment {
  /** For each legacy index, the index of its new-side partner, or undefined when it has none. */
  readonly partners: ReadonlyArray<number | undefined>;
  /** New-side indexes without a partner, in their order. */
  readonly newOnly: readonly number[];
}

function scalarText(rules: Rules, value: Json): string {
  if (isNumber(value)) return typeof value === 'number' ? JSON.stringify(value) : value.key;
  if (typeof value === 'string' && rules.timestamps === 'instant') {
    const instant = canonicalInstant(value);
    if (instant !== undefined) return `@${instant}`;
  }
  return JSON.stringify(value);
}

/** A container whose canonical text is being written: its children's texts so far. */
interface Open {
  readonly value: Json[] | JsonObject;
  readonly path: PathSegment[];
  /** Object members, sorted; undefined for an array. */
  readonly names: string[] | undefined;
  next: number;
  readonly parts: string[];
  /** What its text follows in its parent's: `"name":` for a member, nothing for an element. */
  readonly label: string;
}

function closeText(rules: Rules, open: Open): string {
  if (open.names !== undefined) return `{${open.parts.join(',')}}`;
  if (unorderedRuleAt(rules, open.path)) open.parts.sort();
  return `[${open.parts.join(',')}]`;
}

/**
 * A string equal for elements that the rules make equal, except for numeric tolerance, which
 * no canonical form can express (such elements still pair up through the positional pass).
 * Written with a stack of its own, without recursion.
 */
function canonical(rules: Rules, root: Json, rootPath: readonly PathSegment[]): string {
  if (!Array.isArray(root) && !isJsonObject(root)) return scalarText(rules, root);
  const stack: Open[] = [];
  let result = '';
  const done = (text: string) => {
    const parent = stack[stack.length - 1];
    if (parent) parent.parts.push(text);
    else result = text;
  };
  const enter = (value: Json, path: PathSegment[], label: string) => {
    if (Array.isArray(value) || isJsonObject(value)) {
      stack.push({ value, path, names: Array.isArray(value) ? undefined : Object.keys(value).sort(), next: 0, parts: [], label });
    } else {
      done(label + scalarText(rules, value));
    }
  };
  enter(root, [...rootPath], '');
  while (stack.length > 0) {
    const open = stack[stack.length - 1] as Open;
    const { value, names } = open;
    if (open.next < (names ?? (value as Json[])).length) {
      const index = open.next++;
      if (names === undefined) {
        enter((value as Json[])[index] as Json, [...open.path, index], '');
      } else {
        const name = names[index] as string;
        const path = [...open.path, name];
        if (!isIgnored(rules, path)) enter((value as JsonObject)[name] as Json, path, `${JSON.stringify(name)}:`);
      }
      continue;
    }
    stack.pop();
    done(open.label + closeText(rules, open));
  }
  return result;
}

/** The element's key member, spelt one way whatever the order of its members or the spelling of its numbers. */
function keyOf(element: Json | undefined, key: string): string | undefined {
  if (!isJsonObject(element) || !Object.hasOwn(element, key)) return undefined;
  return canonical(DEFAULT_RULES, element[key] as Json, []);
}

/** Pairs each side's elements by `pick`, first come first served, among those not yet paired. */
function pairBy(legacy: readonly Json[], newSide: readonly Json[], partners: Array<number | undefined>, taken: boolean[],
  pick: (element: Json, index: number, side: 'legacy' | 'new') => string | undefined): void {
  const waiting = new Map<string, number[]>();
  newSide.forEach((element, index) => {
    if (taken[index]) return;
    const id = pick(element, index, 'new');
    if (id === undefined) return;
    const queue = waiting.get(id);
    if (queue) queue.push(index);
    else waiting.set(id, [index]);
  });
  legacy.forEach((element, index) => {
    if (partners[index] !== undefined) return;
    const id = pick(element, index, 'legacy');
    const queue = id === undefined ? undefined : waiting.get(id);
    const partner = queue?.shift();
    if (partner === undefined) return;
    partners[index] = partner;
    taken[partner] = true;
  });
}

/** Pairs of leftover elements tried for equality under the rules; past it they pair in order. */
const PAIRING_BUDGET = 4096;

/**
 * Pairs the elements of an array under an `unordered` rule: by the key member when there is
 * one, then by equal content. Without a key, the elements left over pair with one that is equal
 * under the rules (numeric tolerance, which no canonical form expresses), then in their order,
 * so that a changed element of a multiset shows as a change rather than a removal and an
 * addition. `path` is the array's path; it is restored before returning.
 */
export function align(rules: Rules, rule: UnorderedRule, legacy: readonly Json[], newSide: readonly Json[], path: PathSegment[],
  equal: (legacyIndex: number, newIndex: number) => boolean): Alignment {
  const partners = new Array<number | undefined>(legacy.length).fill(undefined);
  const taken = new Array<boolean>(newSide.length).fill(false);
  const { key } = rule;
  if (key !== undefined) pairBy(legacy, newSide, partners, taken, (element) => keyOf(element, key));
  pairBy(legacy, newSide, partners, taken, (element, index) => {
    if (key !== undefined && keyOf(element, key) !== undefined) return undefined;
    path.push(index);
    const text = canonical(rules, element, path);
    path.pop();
    return text;
  });
  if (key === undefined) {
    const legacyOnly = partners.flatMap((partner, index) => (partner === undefined ? [index] : []));
    let budget = PAIRING_BUDGET;
    for (const index of legacyOnly) {
      for (let other = 0; other < newSide.length && budget > 0; other++) {
        if (taken[other]) continue;
        budget--;
        if (!equal(index, other)) continue;
        partners[index] = other;
        taken[other] = true;
        break;
      }
    }
    const stillOnly = legacyOnly.filter((index) => partners[index] === undefined);
    const free = newSide.map((_, index) => index).filter((index) => !taken[index]);
    for (let i = 0; i < Math.min(stillOnly.length, free.length); i++) {
      partners[stillOnly[i] as number] = free[i] as number;
      taken[free[i] as number] = true;
    }
  }
  return { partners, newOnly: newSide.map((_, index) => index).filter((index) => !taken[index]) };
}
