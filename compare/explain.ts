import { readComparedBody } from './body.js';
import { compare, type CompareOptions, limitsOf } from './comparison.js';
import { difference, type Difference } from './diff.js';
import { isJsonObject, type Json } from './json.js';
import { equalByRules, unorderedRuleAt } from './normalize.js';
import { isNumber, numberShown } from './number.js';
import { isFailure, type Observation, type Response } from './observation.js';
import { formatPointer, matchesPattern, parsePointer, type PathSegment } from './pointer.js';
import { DEFAULT_RULES, type Rules, type UnorderedRule } from './rules.js';

export interface HiddenDifference {
  readonly difference: Difference;
  /** The rule as written: `ignore: /meta/**`, `numericTolerance: 0.005`, `unordered: /data key id`… */
  readonly rule: string;
}

/** The path or value rule that removes a body difference, whatever array it sits in. */
function pathOrValueRule(rules: Rules, found: Difference): string | undefined {
  const path = parsePointer(found.path);
  // The diff skips an ignored node with all it holds, so the pattern may name an ancestor.
  for (let length = 0; length <= path.length; length++) {
    const pattern = rules.ignore.find((candidate) => matchesPattern(candidate, path.slice(0, length)));
    if (pattern) return `ignore: ${pattern.source}`;
  }
  // Array elements are numbers in a path; a member of digits alone is read as one too.
  if (rules.allowNew && found.kind === 'added' && !/^\d+$/.test(path[path.length - 1] ?? '')) return 'allowNew';
  // A number no double holds is shown as {"$number": text}: the rule is judged on the number.
  const legacy = numberShown(found.legacy) ?? found.legacy, newSide = numberShown(found.new) ?? found.new;
  if (!equalByRules(rules, legacy, newSide)) return undefined;
  return isNumber(legacy) ? `numericTolerance: ${rules.numericTolerance}` : 'timestamps: instant';
}

interface UnorderedArray { readonly path: string[]; readonly pointer: string; readonly rule: UnorderedRule }

/** The arrays compared as multisets that hold a path, outermost first. */
function unorderedArraysAround(rules: Rules, pointer: string): UnorderedArray[] {
  const path = parsePointer(pointer);
  const arrays: UnorderedArray[] = [];
  for (let length = 0; length < path.length; length++) {
    const rule = unorderedRuleAt(rules, path.slice(0, length));
    if (rule) arrays.push({ path: path.slice(0, length), pointer: formatPointer(path.slice(0, length)), rule });
  }
  return arrays;
}

function describeUnordered(rule: UnorderedRule): string {
  return rule.key === undefined ? `unordered: ${rule.path.source}` : `unordered: ${rule.path.source} key ${rule.key}`;
}

function jsonBody(observation: Response, options: CompareOptions): Json {
  // compare() has read this body already, without an error.
  const body = readComparedBody(observation, limitsOf(options));
  return body.kind === 'json' ? body.value : null;
}

/**
 * The array at `pointer` on both sides, as one difference. Its path is walked in the legacy
 * document so that indexes become numbers, which is what gives the difference its field
 * (/data/*\/tags rather than /data/0/tags).
 */
function wholeArrays(legacy: Json, newSide: Json, pointer: readonly string[]): Difference {
  const path: PathSegment[] = [];
  let left: Json | undefined = legacy, right: Json | undefined = newSide;
  for (const segment of pointer) {
    const step = Array.isArray(left) ? Number(segment) : segment;
    path.push(step);
    left = child(left, step);
    right = child(right, step);
  }
  return difference(path, 'changed', left, right);
}

function child(value: Json | undefined, step: PathSegment): Json | undefined {
  if (Array.isArray(value)) return value[step as number];
  return isJsonObject(value) && Object.hasOwn(value, step) ? value[step] : undefined;
}

/**
 * The differences the rules removed, each with the rule that removed it. `shown` is what
 * compare() reported for these observations under `rules`. The observations are compared again
 * under DEFAULT_RULES (status compared, no header: a header not listed in `rules.headers` is not
 * compared at all, and a listed one is compared alike either way, so none is ever hidden), and
 * each difference of that comparison which is not in `shown` (by path and kind) is credited to
 * the first of:
 *
 * - `status: false`, for the status;
 * - `ignore: <pattern>`, a pattern matching its path or an ancestor's;
 * - `numericTolerance: <n>`, for two numbers within it;
 * - `timestamps: instant`, for two strings naming one instant;
 * - `allowNew`, for a member only the new side's object has;
 * - `unordered: <pattern>` (with ` key <key>` when the rule has one), for an array compared as a
 *   multiset. An array gives one entry, at its own path, kind `changed`, with both arrays whole:
 *   the positional differences inside it pair elements that the engine did not pair (the shown
 *   ones inside it are at legacy indexes), so listed one by one they would read as changes that
 *   never happened. The entry is for the outermost such array that has differences of its own
 *   elements; an array nested in it is part of its entry.
 *
 * The path and value rules are checked position by position, before `unordered`: inside a
 * reordered array they are credited with the values found at the same index on both sides.
 * Every difference not shown is credited: outside multiset arrays, compare() under `rules` walks
 * the documents in the same positions as under DEFAULT_RULES, and only the rules above remove a
 * difference there. A failure on either side, or a body that cannot be decoded or is past a
 * limit of `options`, gives [].
 */
export function hiddenDifferences(legacy: Observation, newSide: Observation, rules: Rules, shown: readonly Difference[],
  options: CompareOptions = {}): HiddenDifference[] {
  if (isFailure(legacy) || isFailure(newSide)) return [];
  const bare = compare(legacy, newSide, DEFAULT_RULES, options);
  if (bare.verdict === 'error') return [];
  const stillShown = new Set(shown.map((found) => `${found.kind} ${found.path}`));
  const isShown = (found: Difference) => stillShown.has(`${found.kind} ${found.path}`);
  // What no path or value rule explains was hidden by the pairing of a multiset array: the
  // innermost one around it. An array nested in a reordered one looks reordered too, since its
  // positions now hold unrelated elements: the loop below credits the outermost of these arrays.
  const reordered = new Set(bare.differences
    .filter((found) => found.kind !== 'status' && !isShown(found) && pathOrValueRule(rules, found) === undefined)
    .flatMap((found) => unorderedArraysAround(rules, found.path).slice(-1).map((array) => array.pointer)));
  const credited = new Set<string>();
  let documents: [Json, Json] | undefined;
  const hidden: HiddenDifference[] = [];
  for (const found of bare.differences) {
    if (found.kind === 'status') {
      if (!rules.status) hidden.push({ difference: found, rule: 'status: false' });
      continue;
    }
    const array = unorderedArraysAround(rules, found.path).find(({ pointer }) => reordered.has(pointer));
    if (array && !credited.has(array.pointer)) {
      credited.add(array.pointer);
      documents ??= [jsonBody(legacy, options), jsonBody(newSide, options)];
      hidden.push({ difference: wholeArrays(...documents, array.path), rule: describeUnordered(array.rule) });
    }
    const rule = isShown(found) ? undefined : pathOrValueRule(rules, found);
    if (rule !== undefined) hidden.push({ difference: found, rule });
  }
  return hidden;
}
