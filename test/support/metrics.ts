function matching(text: string, name: string, labels: Record<string, string>): number[] {
  const values: number[] = [];
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const present = new Map([...(match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((pair) => [pair[1], pair[2]]));
    if (Object.entries(labels).every(([key, value]) => present.get(key) === value)) values.push(Number(match[3]));
  }
  return values;
}

/** The value of the first sample in Prometheus text format with these labels, or 0 when there is none. */
export function sample(text: string, name: string, labels: Record<string, string>): number {
  return matching(text, name, labels)[0] ?? 0;
}

/** The sum over every sample with these labels, whatever its other labels. */
export function sampleAll(text: string, name: string, labels: Record<string, string>): number {
  return matching(text, name, labels).reduce((sum, value) => sum + value, 0);
}
