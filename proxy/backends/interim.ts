import type { Socket } from 'node:net';

/** A request head as undici writes it: one latin1 string from the request line on (a body is written apart). */
const REQUEST_LINE = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+ \S+ HTTP\/1\.1\r\n/;
const CONTINUE = Buffer.from('HTTP/1.1 100', 'latin1');
const HEAD_END = Buffer.from('\r\n\r\n', 'latin1');
/** Past this without the end of its head, it is left to undici's parser, which refuses it. */
const MAX_INTERIM_BYTES = 16 * 1024;

/**
 * Where a `100 Continue` at the start of `bytes` ends: -1 when `bytes` start otherwise, 0 while
 * it cannot be told yet, else the length of the whole interim response.
 */
function continueEnd(bytes: Buffer): number {
  const compared = Math.min(bytes.length, CONTINUE.length);
  if (!bytes.subarray(0, compared).equals(CONTINUE.subarray(0, compared))) return -1;
  if (bytes.length <= CONTINUE.length) return 0;
  // "100 Continue" or "100\r\n": not "1000".
  const next = bytes[CONTINUE.length];
  if (next !== 0x20 && next !== 0x0d) return -1;
  const end = bytes.indexOf(HEAD_END);
  if (end !== -1) return end + HEAD_END.length;
  return bytes.length > MAX_INTERIM_BYTES ? -1 : 0;
}

/**
 * RFC 9110 §15.2: a client must accept a 1xx response it did not ask for. undici 7 passes 102 and
 * 103 on, but destroys the connection on any 100 (client-h1.js, onHeadersComplete), after legacy
 * has run the request: a 502 for a write that happened. The proxy never sends `Expect`, so a 100
 * says nothing to it; this drops every 100 at the start of an answer on a pooled connection,
 * before undici's parser reads it. undici reads a socket with `read()` and dispatches one request
 * at a time on a connection (pipelining 1), so an answer starts with the first byte read after a
 * request head is written.
 */
export function acceptingContinue(socket: Socket): Socket {
  let awaiting = false;
  let held: Buffer | undefined;
  const write = socket.write.bind(socket) as (...args: unknown[]) => boolean;
  socket.write = ((chunk: unknown, ...rest: unknown[]) => {
    if (typeof chunk === 'string' && REQUEST_LINE.test(chunk)) awaiting = true;
    return write(chunk, ...rest);
  }) as Socket['write'];
  const read = socket.read.bind(socket) as (size?: number) => Buffer | null;
  socket.read = (size?: number): Buffer | null => {
    if (!awaiting) return read(size);
    for (;;) {
      if (held) {
        const end = continueEnd(held);
        if (end === -1) {
          const answer = held;
          held = undefined;
          awaiting = false;
          return answer;
        }
        if (end > 0) {
          held = held.length > end ? held.subarray(end) : undefined;
          continue;
        }
      }
      const chunk = read(size);
      if (chunk === null) return null;
      held = held ? Buffer.concat([held, chunk]) : chunk;
    }
  };
  return socket;
}
