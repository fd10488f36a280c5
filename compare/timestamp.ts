/**
 * A strict RFC 3339 date-time parser (section 5.6, `date-time`). Date.parse is not used: it
 * accepts many other formats ("2024-01-02", "Jan 2 2024", local times without an offset), and a
 * rule that says "timestamps" must not turn arbitrary strings into instants.
 */

const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(?:([Zz])|([+-])(\d{2}):(\d{2}))$/;

/** An instant with full precision: whole seconds since the epoch and the fraction's digits. */
export interface Instant {
  readonly seconds: number;
  /** The fraction of a second without trailing zeros ("" for a whole second). */
  readonly fraction: string;
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}

/** Days from 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's days_from_civil). */
function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yearOfEra = y - era * 400;
  const dayOfYear = Math.floor((153 * (month + (month > 2 ? -3 : 9)) + 2) / 5) + day - 1;
  const dayOfEra = yearOfEra * 365 + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100) + dayOfYear;
  return era * 146097 + dayOfEra - 719468;
}

/** The instant an RFC 3339 date-time names, or undefined when the text is not one. */
export function parseRfc3339(text: string): Instant | undefined {
  const match = DATE_TIME.exec(text);
  if (!match) return undefined;
  const [, y, mo, d, h, mi, s, fraction = '', zulu, sign, oh, om] = match;
  const year = Number(y), month = Number(mo), day = Number(d);
  const hour = Number(h), minute = Number(mi), second = Number(s);
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return undefined;
  // Second 60 is a leap second; it is counted as the first second of the next minute.
  if (hour > 23 || minute > 59 || second > 60) return undefined;
  let offsetMinutes = 0;
  if (!zulu) {
    const offsetHours = Number(oh), offsetMins = Number(om);
    if (offsetHours > 23 || offsetMins > 59) return undefined;
    offsetMinutes = (sign === '-' ? -1 : 1) * (offsetHours * 60 + offsetMins);
  }
  const seconds = daysFromCivil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second - offsetMinutes * 60;
  return { seconds, fraction: fraction.replace(/0+$/, '') };
}

/** Whether two strings are RFC 3339 date-times that name the same instant. */
export function sameInstant(a: string, b: string): boolean {
  const left = parseRfc3339(a);
  if (!left) return false;
  const right = parseRfc3339(b);
  return right !== undefined && left.seconds === right.seconds && left.fraction === right.fraction;
}

/** A canonical spelling of the instant, so that equal instants compare equal as strings. */
export function canonicalInstant(text: string): string | undefined {
  const instant = parseRfc3339(text);
  return instant && `${instant.seconds}.${instant.fraction}`;
}
