import { readFileSync } from 'node:fs';

/** The parts of a DESIGN.md rules file that the demo groups use. */
export interface DemoRules {
  ignore: string[];
  unordered: Array<{ path: string; key?: string }>;
  numericTolerance: number;
  timestamps?: 'instant';
}

export function demoRules(group: string): DemoRules {
  return JSON.parse(readFileSync(new URL(`../../demo/rules/${group}.json`, import.meta.url), 'utf8')) as DemoRules;
}

const RFC3339 = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/;

function matches(pattern: string, pointer: string): boolean {
  const want = pattern.split('/');
  const have = pointer.split('/');
  return want.length === have.length && want.every((segment, index) => segment === '*' || segment === have[index]);
}

/**
 * A canonical form of a body under the rules, so that two bodies that the rules call equal are
 * deeply equal: ignored members dropped, unordered arrays sorted by key, RFC 3339 timestamps as
 * instants, numbers on the tolerance's grid. An approximation of compare/ for these tests only;
 * it understands `*` but not `**`, which the demo rules do not use.
 */
export function canonical(value: unknown, rules: DemoRules, pointer = ''): unknown {
  if (Array.isArray(value)) {
    const items = value.map((item, index) => canonical(item, rules, `${pointer}/${index}`));
    const unordered = rules.unordered.find((rule) => matches(rule.path, pointer));
    if (!unordered) return items;
    const keyOf = (item: unknown) => JSON.stringify(unordered.key && typeof item === 'object' && item !== null ? (item as Record<string, unknown>)[unordered.key] : item);
    return items.sort((a, b) => keyOf(a).localeCompare(keyOf(b)));
  }
  if (typeof value === 'object' && value !== null) {
    const entries = Object.entries(value)
      .filter(([name]) => !rules.ignore.some((pattern) => matches(pattern, `${pointer}/${name}`)))
      .map(([name, member]) => [name, canonical(member, rules, `${pointer}/${name}`)]);
    return Object.fromEntries(entries);
  }
  if (typeof value === 'number' && rules.numericTolerance > 0) return Math.round(value / (rules.numericTolerance * 2)) * rules.numericTolerance * 2;
  if (typeof value === 'string' && rules.timestamps === 'instant' && RFC3339.test(value)) return new Date(value).toISOString();
  return value;
}
