import type { JsonValue } from './observation.js';
import { matchesPattern, type PathSegment } from './pointer.js';
import type { Rules, UnorderedRule } from './rules.js';
import { canonicalInstant, sameInstant } from './timestamp.js';

/*
 * The rules applied while the tree diff walks both documents. Paths handed to these functions
 * start at `from`: the diff wraps the documents in an array, whose index is not part of a path.
 */

export function isIgnored(rules: Rules, path: readonly PathSegment[], from: number): boolean {
  for (const pattern of rules.ignore) if (matchesPattern(pattern, path, from)) return true;
  return false;
}

export function unorderedRuleAt(rules: Rules, path: readonly PathSegment[], from: number): UnorderedRule | undefined {
  return rules.unordered.find((rule) => matchesPattern(rule.path, path, from));
}

/** Two different scalars that the rules make equal: numbers within tolerance, strings naming one instant. */
export function equalByRules(rules: Rules, legacy: unknown, candidate: unknown): boolean {
  if (legacy === candidate) return false;
  if (typeof legacy === 'number' && typeof candidate === 'number') return Math.abs(legacy - candidate) <= rules.numericTolerance;
  if (typeof legacy === 'string' && typeof candidate === 'string') return rules.timestamps === 'instant' && sameInstant(legacy, candidate);
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

/**
 * A string equal for elements that the rules make equal, except for numeric tolerance, which
 * no canonical form can express (such elements still pair up through the positional pass).
 */
function canonical(rules: Rules, value: JsonValue, path: PathSegment[], from: number): string {
  if (Array.isArray(value)) {
    const elements = value.map((element, index) => {
      path.push(index);
      const text = canonical(rules, element, path, from);
      path.pop();
      return text;
    });
    if (unorderedRuleAt(rules, path, from)) elements.sort();
    return `[${elements.join(',')}]`;
  }
  if (value !== null && typeof value === 'object') {
    const members: string[] = [];
    for (const name of Object.keys(value).sort()) {
      path.push(name);
      if (!isIgnored(rules, path, from)) members.push(`${JSON.stringify(name)}:${canonical(rules, value[name] as JsonValue, path, from)}`);
      path.pop();
    }
    return `{${members.join(',')}}`;
  }
  if (typeof value === 'string' && rules.timestamps === 'instant') {
    const instant = canonicalInstant(value);
    if (instant !== undefined) return `@${instant}`;
  }
  return JSON.stringify(value);
}

function keyOf(element: JsonValue | undefined, key: string): string | undefined {
  if (element === null || typeof element !== 'object' || Array.isArray(element) || !Object.hasOwn(element, key)) return undefined;
  return JSON.stringify(element[key]);
}

/** Pairs each side's elements by `pick`, first come first served, among those not yet paired. */
function pairBy(legacy: readonly JsonValue[], candidate: readonly JsonValue[], partners: Array<number | undefined>, taken: boolean[],
  pick: (element: JsonValue, index: number, side: 'legacy' | 'new') => string | undefined): void {
  const waiting = new Map<string, number[]>();
  candidate.forEach((element, index) => {
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
export function align(rules: Rules, rule: UnorderedRule, legacy: readonly JsonValue[], candidate: readonly JsonValue[], path: PathSegment[], from: number,
  equal: (legacyIndex: number, newIndex: number) => boolean): Alignment {
  const partners = new Array<number | undefined>(legacy.length).fill(undefined);
  const taken = new Array<boolean>(candidate.length).fill(false);
  const { key } = rule;
  if (key !== undefined) pairBy(legacy, candidate, partners, taken, (element) => keyOf(element, key));
  pairBy(legacy, candidate, partners, taken, (element, index) => {
    if (key !== undefined && keyOf(element, key) !== undefined) return undefined;
    path.push(index);
    const text = canonical(rules, element, path, from);
    path.pop();
    return text;
  });
  if (key === undefined) {
    const legacyOnly = partners.flatMap((partner, index) => (partner === undefined ? [index] : []));
    let budget = PAIRING_BUDGET;
    for (const index of legacyOnly) {
      for (let other = 0; other < candidate.length && budget > 0; other++) {
        if (taken[other]) continue;
        budget--;
        if (!equal(index, other)) continue;
        partners[index] = other;
        taken[other] = true;
        break;
      }
    }
    const stillOnly = legacyOnly.filter((index) => partners[index] === undefined);
    const free = candidate.map((_, index) => index).filter((index) => !taken[index]);
    for (let i = 0; i < Math.min(stillOnly.length, free.length); i++) {
      partners[stillOnly[i] as number] = free[i] as number;
      taken[free[i] as number] = true;
    }
  }
  return { partners, newOnly: candidate.map((_, index) => index).filter((index) => !taken[index]) };
}
