/** RFC 9110 §7.6.1: meaningful for one connection only, never forwarded. */
const HOP_BY_HOP: ReadonlySet<string> = new Set(['connection', 'proxy-connection', 'keep-alive', 'te', 'transfer-encoding', 'upgrade', 'trailer', 'proxy-authenticate', 'proxy-authorization']);

/**
 * A copy without the hop-by-hop headers, those the `Connection` header names, and any in `drop`.
 * Built by copying what stays rather than deleting what goes: a `delete` turns the object into a
 * slow dictionary for every later read and copy on the request path.
 */
export function withoutHopByHop<Headers extends Record<string, unknown>>(headers: Headers, drop?: ReadonlySet<string>): Headers {
  const connection = headers.connection;
  const named = typeof connection === 'string' && connection !== '' ? new Set(connection.split(',').map((name) => name.trim().toLowerCase())) : undefined;
  const copy: Record<string, unknown> = {};
  for (const name in headers) {
    if (HOP_BY_HOP.has(name) || named?.has(name) || drop?.has(name)) continue;
    copy[name] = headers[name];
  }
  return copy as Headers;
}
