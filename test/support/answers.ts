import { received } from './servers.js';

/** One response as a client read it off the wire. */
export interface Answer {
  /** Undefined when no response began before the connection ended. */
  readonly status: number | undefined;
  /** Names in lower case; a repeated header joined with ", ". */
  readonly headers: Readonly<Record<string, string>>;
  /** Latin-1, byte for byte. */
  readonly body: string;
  /** Whether the body arrived whole, by the response's own framing. */
  readonly complete: boolean;
}

/** What a client holds when no response came at all. */
export const NO_ANSWER: Answer = { status: undefined, headers: {}, body: '', complete: false };

export interface RequestOptions {
  readonly headers?: Readonly<Record<string, string>>;
  /** Framed by its length, unless the headers frame it (Transfer-Encoding: chunked). */
  readonly body?: string | Buffer;
  /** `Connection: close` (the default), so that the exchange ends with the answer. */
  readonly close?: boolean;
}

/** The bytes of one HTTP/1.1 request; `line` is the method and the target, as sent. */
export function request(line: string, options: RequestOptions = {}): Buffer {
  const { headers = {}, body, close = true } = options;
  const framedByHeaders = Object.keys(headers).some((name) => /^(content-length|transfer-encoding)$/i.test(name));
  const lines = [
    `${line} HTTP/1.1`,
    'Host: shop.example',
    ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`),
    ...(body !== undefined && !framedByHeaders ? [`Content-Length: ${Buffer.byteLength(body)}`] : []),
    ...(close ? ['Connection: close'] : []),
  ];
  return Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1'), Buffer.from(body ?? '')]);
}

/** A body in chunked framing, one chunk per piece, then the last chunk and the given trailer lines. */
export function chunked(pieces: ReadonlyArray<string | Buffer>, trailers: readonly string[] = []): Buffer {
  const framed = pieces.flatMap((piece) => [Buffer.from(`${Buffer.byteLength(piece).toString(16)}\r\n`), Buffer.from(piece), Buffer.from('\r\n')]);
  return Buffer.concat([...framed, Buffer.from(`0\r\n${trailers.map((line) => `${line}\r\n`).join('')}\r\n`)]);
}

/** A chunked body from `at`: its bytes, whether the last chunk came, and where the next response begins. */
function dechunk(text: string, at: number): { body: string; complete: boolean; next: number } {
  let body = '';
  for (let cursor = at; ;) {
    const lineEnd = text.indexOf('\r\n', cursor);
    const size = lineEnd === -1 ? Number.NaN : Number.parseInt(text.slice(cursor, lineEnd), 16);
    if (Number.isNaN(size)) return { body, complete: false, next: text.length };
    cursor = lineEnd + 2;
    if (size === 0) {
      const end = text.startsWith('\r\n', cursor) ? cursor + 2 : text.indexOf('\r\n\r\n', cursor) + 4;
      return end < cursor ? { body, complete: false, next: text.length } : { body, complete: true, next: end };
    }
    if (text.length < cursor + size + 2) return { body: body + text.slice(cursor, cursor + size), complete: false, next: text.length };
    body += text.slice(cursor, cursor + size);
    cursor += size + 2;
  }
}

/** The final responses in what a connection carried, in order (interim 1xx ones skipped). */
function parse(text: string, endedCleanly: boolean): Answer[] {
  const answers: Answer[] = [];
  let at = 0;
  while (at < text.length) {
    const headEnd = text.indexOf('\r\n\r\n', at);
    if (headEnd === -1) return [...answers, NO_ANSWER];
    const [statusLine = '', ...lines] = text.slice(at, headEnd).split('\r\n');
    const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1]);
    const headers: Record<string, string> = {};
    for (const line of lines) {
      const colon = line.indexOf(':');
      const name = line.slice(0, colon).trim().toLowerCase();
      const value = line.slice(colon + 1).trim();
      headers[name] = name in headers ? `${headers[name]}, ${value}` : value;
    }
    at = headEnd + 4;
    if (status >= 100 && status < 200) continue;
    const length = headers['content-length'];
    let body: { body: string; complete: boolean; next: number };
    if (status === 204 || status === 304) body = { body: '', complete: true, next: at };
    else if (/chunked/i.test(headers['transfer-encoding'] ?? '')) body = dechunk(text, at);
    else if (length !== undefined) body = { body: text.slice(at, at + Number(length)), complete: text.length >= at + Number(length), next: at + Number(length) };
    // Delimited by the end of the connection: whole only if it ended without a reset.
    else body = { body: text.slice(at), complete: endedCleanly, next: text.length };
    answers.push({ status, headers, body: body.body, complete: body.complete });
    at = body.next;
  }
  return answers;
}

/**
 * Writes `bytes` (one request, or several pipelined) on a fresh connection and reads every answer
 * until the connection ends. Bounded: a connection still open after `timeoutMs` is cut, so a
 * proxy that never answers or never closes fails the case instead of hanging it.
 */
export async function exchange(url: string, bytes: Buffer, timeoutMs = 5_000): Promise<Answer[]> {
  const { text, error } = await received(url, bytes, timeoutMs);
  return parse(text, error === undefined);
}

/** A request's bytes on a connection of their own, and the first answer as the client got it (status undefined: nothing came). */
export async function sendBytes(url: string, bytes: Buffer, timeoutMs?: number): Promise<Answer> {
  const [answer = NO_ANSWER] = await exchange(url, bytes, timeoutMs);
  return answer;
}

/** One request (`line` is the method and the target) on a connection of its own, and its answer as the client got it. */
export function send(url: string, line: string, options: RequestOptions = {}): Promise<Answer> {
  return sendBytes(url, request(line, options));
}
