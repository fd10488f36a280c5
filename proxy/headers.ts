/** RFC 9110 §7.6.1: meaningful for one connection only, never forwarded. */
const HOP_BY_HOP = ['connection', 'proxy-connection', 'keep-alive', 'te', 'transfer-encoding', 'upgrade', 'trailer', 'proxy-authenticate', 'proxy-authorization'];

/** A copy without the hop-by-hop headers and those the `Connection` header names. */
export function withoutHopByHop<Headers extends Record<string, unknown>>(headers: Headers): Headers {
  const copy: Record<string, unknown> = { ...headers };
  const connection = headers.connection;
  const named = typeof connection === 'string' ? connection.split(',').map((name) => name.trim().toLowerCase()) : [];
  for (const name of [...HOP_BY_HOP, ...named]) delete copy[name];
  return copy as Headers;
}
