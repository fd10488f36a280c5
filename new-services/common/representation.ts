/** RFC 3339 to the second: the new services do not promise sub-second timestamps. */
export function instant(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** Money is kept in integer cents and shown as a decimal number of dollars, rounded to the cent. */
export function dollars(cents: number): number {
  return Math.round(cents) / 100;
}
