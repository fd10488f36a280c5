import { z } from 'zod';
import { compilePattern, type PointerPattern, PointerError } from './pointer.js';

/** An array compared as a multiset; with a key, its elements are matched by that member. */
export interface UnorderedRule {
  readonly path: PointerPattern;
  readonly key: string | undefined;
  /** Query parameters that ask for an order (e.g. `sort`): when the request has one, the array is compared in order. */
  readonly orderedBy: readonly string[];
}

/**
 * The comparison rules of a group (docs/architecture.md, "Comparison rules"). Plain data throughout, so
 * that parsed rules can be handed to a worker thread as they are.
 */
export interface Rules {
  readonly ignore: readonly PointerPattern[];
  readonly unordered: readonly UnorderedRule[];
  /** Numbers within this absolute distance are equal; 0 means exactly equal. */
  readonly numericTolerance: number;
  readonly timestamps: 'exact' | 'instant';
  /** Lower-case names of the response headers that are compared; all others are ignored. */
  readonly headers: readonly string[];
  readonly status: boolean;
  /** Members the new side adds to an object that legacy lacks are accepted (additive evolution), not differences. */
  readonly allowNew: boolean;
}

export const DEFAULT_RULES: Rules = Object.freeze({
  ignore: [],
  unordered: [],
  numericTolerance: 0,
  timestamps: 'exact',
  headers: [],
  status: true,
  allowNew: false,
});

/** Rules that cannot be used; the message is one line and names the key. */
export class RulesError extends Error {}

export const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** A JSON Pointer pattern, compiled as it is validated: shared by the rules and the proxy's configuration. */
export const pointerPattern = z.string().transform((text, context) => {
  try {
    return compilePattern(text);
  } catch (error) {
    if (!(error instanceof PointerError)) throw error;
    context.addIssue({ code: 'custom', message: error.message });
    return z.NEVER;
  }
});

const schema = z.strictObject({
  ignore: z.array(pointerPattern).optional(),
  unordered: z.array(z.strictObject({ path: pointerPattern, key: z.string().min(1).optional(), orderedBy: z.array(z.string().min(1)).optional() })).optional(),
  numericTolerance: z.number().nonnegative().refine(Number.isFinite, 'a finite number').optional(),
  timestamps: z.literal('instant', { error: 'the only value is "instant"' }).optional(),
  headers: z.array(z.string().regex(HEADER_NAME, 'a header name')).optional(),
  status: z.boolean().optional(),
  allowNew: z.boolean().optional(),
});

function where(path: readonly PropertyKey[]): string {
  return path.reduce<string>((text, key) => (typeof key === 'number' ? `${text}[${key}]` : text ? `${text}.${String(key)}` : String(key)), '') || 'rules';
}

/** Validates a rules document (the JSON of docs/architecture.md); every key is optional. */
export function parseRules(document: unknown): Rules {
  const result = schema.safeParse(document);
  if (!result.success) {
    // An unknown key explains the other issues of its object (a misspelt key is also a missing one).
    const issues = [...result.error.issues].sort((a, b) => Number(b.code === 'unrecognized_keys') - Number(a.code === 'unrecognized_keys'));
    const issue = issues[0];
    if (issue?.code === 'unrecognized_keys') throw new RulesError(`${where(issue.path)}: unknown key "${issue.keys[0]}"`);
    throw new RulesError(issue ? `${where(issue.path)}: ${issue.message}` : 'invalid rules');
  }
  const raw = result.data;
  return Object.freeze({
    ignore: raw.ignore ?? [],
    unordered: (raw.unordered ?? []).map((rule) => ({ path: rule.path, key: rule.key, orderedBy: rule.orderedBy ?? [] })),
    numericTolerance: raw.numericTolerance ?? 0,
    timestamps: raw.timestamps ?? 'exact',
    headers: (raw.headers ?? []).map((name) => name.toLowerCase()),
    status: raw.status ?? true,
    allowNew: raw.allowNew ?? false,
  });
}

/** The rules as the JSON document parseRules reads, with defaults left out. */
export function rulesToJson(rules: Rules): Record<string, unknown> {
  const json: Record<string, unknown> = {};
  if (rules.ignore.length > 0) json.ignore = rules.ignore.map((pattern) => pattern.source);
  if (rules.unordered.length > 0) {
    json.unordered = rules.unordered.map((rule) => ({
      path: rule.path.source,
      ...(rule.key === undefined ? {} : { key: rule.key }),
      ...(rule.orderedBy.length === 0 ? {} : { orderedBy: [...rule.orderedBy] }),
    }));
  }
  if (rules.numericTolerance !== 0) json.numericTolerance = rules.numericTolerance;
  if (rules.timestamps === 'instant') json.timestamps = 'instant';
  if (rules.headers.length > 0) json.headers = [...rules.headers];
  if (!rules.status) json.status = false;
  if (rules.allowNew) json.allowNew = true;
  return json;
}

/** The keys a route's rules give, parsed: what they replace or add to in the group's rules. */
export type RuleKeys = Partial<Rules>;

/** A route's own rules document: only the keys it names, validated as parseRules validates. */
export function parseRuleKeys(document: unknown): RuleKeys {
  const parsed = parseRules(document);
  const given = new Set(Object.keys(document as object));
  return Object.fromEntries(Object.entries(parsed).filter(([key]) => given.has(key))) as RuleKeys;
}

/**
 * A route's rules over its group's: with `replace`, each key the route names replaces the
 * group's (`unordered: []` compares every array in order); with `add`, its lists (ignore,
 * unordered, headers) are appended to the group's and its other keys replace.
 */
export function layerRules(base: Rules, route: RuleKeys, mode: 'replace' | 'add'): Rules {
  if (mode === 'replace') return Object.freeze({ ...base, ...route });
  return Object.freeze({
    ...base,
    ...route,
    ignore: [...base.ignore, ...(route.ignore ?? [])],
    unordered: [...base.unordered, ...(route.unordered ?? [])],
    headers: [...new Set([...base.headers, ...(route.headers ?? [])])],
  });
}

/** The names of a query string's parameters, decoded. */
function parameterNames(query: string): Set<string> {
  const names = new Set<string>();
  for (const pair of query.split('&')) {
    if (pair === '') continue;
    const name = pair.split('=', 1)[0] as string;
    try {
      names.add(decodeURIComponent(name.replace(/\+/g, ' ')));
    } catch {
      names.add(name);
    }
  }
  return names;
}

/** The rules for one request: an array whose rule names a parameter the request has is compared in order. */
export function rulesForRequest(rules: Rules, query: string): Rules {
  if (!rules.unordered.some((rule) => rule.orderedBy.length > 0)) return rules;
  const asked = parameterNames(query);
  const unordered = rules.unordered.filter((rule) => !rule.orderedBy.some((name) => asked.has(name)));
  return unordered.length === rules.unordered.length ? rules : Object.freeze({ ...rules, unordered });
}
