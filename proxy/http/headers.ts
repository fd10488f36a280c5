/** The header every shadow request carries: the side that sees it must persist nothing. */
export const SHADOW_HEADER = 'x-cutover-shadow';

/** RFC 9110 §7.6.1: meaningful for one connection only, never forwarded. */
const HOP_BY_HOP: ReadonlySet<string> = new Set(['connection', 'proxy-connection', 'keep-alive', 'te', 'transfer-encoding', 'upgrade', 'trailer', 'proxy-authenticate', 'proxy-authorization']);

/**
 * End-to-end whatever `Connection` says: Host names the resource (RFC 9110 §7.2), and the framing
 * headers are re-framed by each sender anyway. A client naming Host would otherwise reach legacy
 * with legacy's own Host and no X-Forwarded-Host.
 */
const NEVER_NAMED: ReadonlySet<string> = new Set(['host', 'content-length', 'transfer-encoding']);

/**
 * A copy without the headers `dropped` names. Built by copying what stays rather than deleting
 * what goes: a `delete` turns the object into a slow dictionary for every later read and copy on
 * the request path.
 */
export function headersWithout<Headers extends Record<string, unknown>>(headers: Headers, dropped: (name: string) => boolean): Headers {
  const copy: Record<string, unknown> = {};
  for (const name in headers) if (!dropped(name)) copy[name] = headers[name];
  return copy as Headers;
}

/**
 * A copy with `name` set. Copied key by key, not `{ ...headers, [name]: value }`: on Node 20's V8 a
 * key added to a spread's copy goes through the runtime and makes a new hidden class, about
 * 0.5 µs each time, against about 0.05 µs for this copy (docs/performance.md, issue 26).
 */
export function withHeader<Headers extends Record<string, unknown>>(headers: Headers, name: string, value: Headers[string]): Headers {
  const copy = headersWithout(headers, (other) => other === name) as Record<string, unknown>;
  copy[name] = value;
  return copy as Headers;
}

/** A copy without the hop-by-hop headers, those the `Connection` header names, and any in `also`. */
export function withoutHopByHop<Headers extends Record<string, unknown>>(headers: Headers, also?: ReadonlySet<string>): Headers {
  const connection = headers.connection;
  const named = typeof connection === 'string' && connection !== ''
    ? new Set(connection.split(',').map((name) => name.trim().toLowerCase()).filter((name) => !NEVER_NAMED.has(name)))
    : undefined;
  return headersWithout(headers, (name) => HOP_BY_HOP.has(name) || named?.has(name) === true || also?.has(name) === true);
}
