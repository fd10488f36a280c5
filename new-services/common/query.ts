import { problem } from './jsonapi.js';

/**
 * The query parameters of a JSON:API request, read from the raw query string so that bracketed
 * families (page[size], fields[products], filter[category]) keep their names. A parameter the
 * route does not know is a 400 naming it, as JSON:API asks of implementation-specific parameters.
 */
export class Query {
  private readonly values = new Map<string, string>();

  constructor(rawQueryString: string, allowed: readonly RegExp[]) {
    for (const [name, value] of new URLSearchParams(rawQueryString)) {
      if (!allowed.some((pattern) => pattern.test(name))) throw problem(400, 'unknown_parameter', `The query parameter ${name} is not supported here.`, `?${name}`);
      if (this.values.has(name)) throw problem(400, 'repeated_parameter', `The query parameter ${name} is given more than once.`, `?${name}`);
      this.values.set(name, value);
    }
  }

  get(name: string): string | undefined {
    return this.values.get(name);
  }

  /** Comma-separated values, e.g. include=category or fields[products]=name,price; `include=` is an empty list. */
  list(name: string): string[] | undefined {
    const value = this.values.get(name);
    return value === undefined ? undefined : value.split(',').map((item) => item.trim()).filter((item) => item !== '');
  }

  /** Names and values of a family such as fields[...] or filter[...]. */
  family(prefix: string): Map<string, string> {
    const members = new Map<string, string>();
    for (const [name, value] of this.values) {
      const match = new RegExp(`^${prefix}\\[([^\\]]+)\\]$`).exec(name);
      if (match?.[1]) members.set(match[1], value);
    }
    return members;
  }

  /** A positive integer parameter within bounds, or the default. */
  positiveInteger(name: string, fallback: number, max: number): number {
    const raw = this.values.get(name);
    if (raw === undefined) return fallback;
    const value = Number(raw);
    if (!/^\d+$/.test(raw) || value < 1 || value > max) throw problem(400, 'invalid_parameter', `${name} must be an integer from 1 to ${max} (got "${raw}").`, `?${name}`);
    return value;
  }
}

/** For routes that take no query parameters: any parameter is a 400 that names it. */
export function noParameters(rawQueryString: string): void {
  new Query(rawQueryString, []);
}
