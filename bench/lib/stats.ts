/** Figures over the passes of a row: the median, and the spread that says how far to trust it. */

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[middle] as number) : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

/** (max − min) / median: 0.1 means the passes lay within 10 % of the median's size of each other. */
export function spread(values: readonly number[]): number {
  if (values.length < 2) return Number.NaN;
  return (Math.max(...values) - Math.min(...values)) / median(values);
}
