/** A whole-number option of a bench command, or an error that names it and what it was given. */
export function count(value: string | undefined, name: string, allowZero = false): number {
  const number = Number(value);
  if (!Number.isInteger(number) || number < 0 || (!allowZero && number === 0)) throw new Error(`--${name} takes a whole ${allowZero ? 'non-negative' : 'positive'} number, not "${value}"`);
  return number;
}
