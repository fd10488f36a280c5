import { randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { Config } from '../config/config.js';

/** Who is asking: the key Optimizely buckets on, so that one caller stays on one side. */
export interface Caller {
  readonly id: string;
  /** A cookie to set when the proxy had to assign the id itself. */
  readonly setCookie: string | undefined;
}

const VALID_ID = /^[A-Za-z0-9._:@-]{1,128}$/;
const YEAR_SECONDS = 365 * 24 * 3600;

function cookieValue(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const pair of header.split(/;\s*/)) {
    const at = pair.indexOf('=');
    if (at > 0 && pair.slice(0, at) === name) return pair.slice(at + 1);
  }
  return undefined;
}

/** A valid configured header wins, then a valid cookie; with neither, a new random id in a cookie. */
export function identifyCaller(headers: IncomingHttpHeaders, config: Config['caller']): Caller {
  const fromHeader = config.header ? headers[config.header] : undefined;
  // An invalid header must not cost a caller the valid cookie that keeps it on one side.
  for (const candidate of [Array.isArray(fromHeader) ? fromHeader[0] : fromHeader, cookieValue(headers.cookie, config.cookie)]) {
    if (candidate !== undefined && VALID_ID.test(candidate)) return { id: candidate, setCookie: undefined };
  }
  const id = randomUUID();
  return { id, setCookie: `${config.cookie}=${id}; Path=/; Max-Age=${YEAR_SECONDS}; HttpOnly; SameSite=Lax` };
}
