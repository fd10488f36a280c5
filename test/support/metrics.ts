/**
 * Readings of the proxy's /metrics (Prometheus text format) that cannot pass by accident:
 *  - a metric family the exposition does not declare (no `# TYPE` line: a misspelt name, a metric
 *    that was renamed or removed) throws, naming it;
 *  - a label name the family's samples do not carry throws, naming it;
 *  - several samples matching where one was meant throws (sampleAll() is for sums);
 *  - no sample matching reads 0 only where that is a true reading: for a counter (and the
 *    _bucket/_sum/_count series of a histogram or summary), because a labelled counter is only
 *    exposed from its first increment. Any other family (a gauge) without the sample throws.
 * A zero read from a counter is therefore only as good as the label values asked for: pair it
 * with a reading that is not zero where a misspelt value could hide.
 */

interface Sample { readonly labels: ReadonlyMap<string, string>; readonly value: number }

interface Family {
  readonly name: string;
  readonly type: string;
  /** Whether "no sample" reads 0: a counter, or the _bucket/_sum/_count series of a histogram or summary. */
  readonly monotonic: boolean;
  /** The samples of the series asked for (for a histogram, those of `_count`, say). */
  readonly samples: readonly Sample[];
}

const SUBSERIES: Record<string, readonly string[]> = { histogram: ['_bucket', '_sum', '_count'], summary: ['_sum', '_count'] };

function unescape(value: string): string {
  return value.replace(/\\(.)/g, (_, char: string) => (char === 'n' ? '\n' : char));
}

function declaredTypes(text: string): Map<string, string> {
  const types = new Map<string, string>();
  for (const match of text.matchAll(/^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (\w+)$/gm)) types.set(match[1] as string, match[2] as string);
  return types;
}

/** The family that declares the series `name`, with that series' samples; throws when none does. */
function family(text: string, name: string): Family {
  const types = declaredTypes(text);
  let type = types.get(name);
  let monotonic = type === 'counter';
  if (type === undefined) {
    for (const [base, baseType] of types) {
      if ((SUBSERIES[baseType] ?? []).some((suffix) => name === `${base}${suffix}`)) [type, monotonic] = [baseType, true];
    }
  }
  if (type === undefined) throw new Error(`metric ${name} is not in the exposition (no "# TYPE ${name}" line)`);
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const labels = new Map([...(match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((pair) => [pair[1] as string, unescape(pair[2] as string)]));
    samples.push({ labels, value: Number(match[3]) });
  }
  return { name, type, monotonic, samples };
}

function shown(labels: Record<string, string>): string {
  return `{${Object.entries(labels).map(([key, value]) => `${key}="${value}"`).join(',')}}`;
}

/** The samples with these labels, whatever their other labels; checks the label names. */
function matching(found: Family, labels: Record<string, string>): Sample[] {
  if (found.samples.length > 0) {
    const names = new Set(found.samples.flatMap((entry) => [...entry.labels.keys()]));
    const unknown = Object.keys(labels).filter((key) => !names.has(key));
    if (unknown.length > 0) throw new Error(`metric ${found.name} has no label ${unknown.map((key) => `"${key}"`).join(', ')} (its labels: ${[...names].join(', ') || 'none'})`);
  }
  return found.samples.filter((entry) => Object.entries(labels).every(([key, value]) => entry.labels.get(key) === value));
}

function none(found: Family, labels: Record<string, string>): number {
  if (found.monotonic) return 0;
  const present = found.samples.map((entry) => shown(Object.fromEntries(entry.labels))).join(' ') || 'none';
  throw new Error(`metric ${found.name} (a ${found.type}) has no sample ${shown(labels)}; its samples: ${present}`);
}

/**
 * The value of the one sample with these labels (it may carry others). A counter without such a
 * sample reads 0 (not yet incremented); see the top of this file for what throws.
 */
export function sample(text: string, name: string, labels: Record<string, string>): number {
  const found = family(text, name);
  const samples = matching(found, labels);
  if (samples.length > 1) throw new Error(`metric ${name} has ${samples.length} samples ${shown(labels)}: name more labels, or use sampleAll() for their sum`);
  const [only] = samples;
  return only === undefined ? none(found, labels) : only.value;
}

/** The sum over every sample with these labels, whatever its other labels; 0 for a counter that has none. */
export function sampleAll(text: string, name: string, labels: Record<string, string>): number {
  const found = family(text, name);
  const samples = matching(found, labels);
  return samples.length === 0 ? none(found, labels) : samples.reduce((sum, entry) => sum + entry.value, 0);
}

/**
 * Every sample with these labels, whatever their other labels, with its labels as a record: for
 * readings that must name what they found (accounted() lists what was counted). Checks the family
 * and the label names as the readings above do, and reads nothing as 0: no sample, no entry.
 */
export function samplesWith(text: string, name: string, labels: Record<string, string> = {}): Array<{ labels: Record<string, string>; value: number }> {
  return matching(family(text, name), labels).map((entry) => ({ labels: Object.fromEntries(entry.labels), value: entry.value }));
}
