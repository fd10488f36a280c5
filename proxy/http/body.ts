import type { IncomingMessage } from 'node:http';
import { PassThrough, type Readable } from 'node:stream';
import type { Framing } from './request.js';

/** The client went away before its request body was complete. */
export class ClientLeft extends Error {}

/** No byte of the body came for the allowed pause (`traffic.bodyIdleMs`): the client stalled its upload. */
export class BodyStalled extends Error {}

/** A body read whole, or, when it passed the limit, a stream of all of it. */
export type BufferedBody = { readonly body: Buffer } | { readonly stream: Readable };

/**
 * Reads a body up to `limit` bytes before any side is asked for it, without losing any of it:
 * past `limit` the bytes read so far and the rest of the request continue as one stream. A pause
 * of `idleMs` between two pieces refuses the body with BodyStalled: while it is read here (no side
 * has been asked), and in the stream (which then errors, and the side's exchange is given up).
 * So a client that sends its headers, or `Expect: 100-continue`, and then little or nothing,
 * holds no upstream connection, and not for long a connection it reached.
 */
export function bufferUpTo(req: IncomingMessage, framing: Framing, limit: number, idleMs: number): Promise<BufferedBody> {
  if (framing.kind === 'none') return Promise.resolve({ body: Buffer.alloc(0) });
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const stalled = () => {
      detach();
      reject(new BodyStalled(`no byte of the body for ${idleMs} ms, after ${size}`));
    };
    const idle = setTimeout(stalled, idleMs);
    const detach = () => {
      clearTimeout(idle);
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('close', onClose);
      req.socket.off('close', onClose);
    };
    const onData = (chunk: Buffer) => {
      chunks.push(chunk);
      size += chunk.length;
      idle.refresh();
      if (size <= limit) return;
      detach();
      resolve({ stream: watched(req, chunks, idleMs) });
    };
    const onEnd = () => {
      detach();
      resolve({ body: Buffer.concat(chunks) });
    };
    const onError = (error: Error) => {
      detach();
      reject(new ClientLeft(`the client left after ${size} bytes of its body`, { cause: error }));
    };
    // A client that leaves mid-body may close the request without an error, and a body the parser
    // refused is answered (handler.ts) on a connection that then closes with no event on the
    // request: the promise settles either way.
    const onClose = () => onError(new Error('the request closed before its end'));
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('close', onClose);
    req.socket.once('close', onClose);
  });
}

/** What was read of a body, then the rest of it, as one stream that errors with BodyStalled on a pause of `idleMs`. */
function watched(req: IncomingMessage, read: readonly Buffer[], idleMs: number): Readable {
  req.pause();
  const whole = new PassThrough();
  for (const chunk of read) whole.write(chunk);
  const idle = setTimeout(() => {
    // Held back by the side reading it (the request paused, or bytes waiting in it): not the client's pause.
    if (req.readableFlowing === false || req.readableLength > 0) return void idle.refresh();
    whole.destroy(new BodyStalled(`no byte of the body for ${idleMs} ms`));
  }, idleMs);
  const { socket } = req;
  const quiet = () => {
    clearTimeout(idle);
    socket.off('close', quiet);
  };
  req.on('data', () => idle.refresh());
  req.once('end', quiet);
  req.once('close', quiet);
  // A request already answered gets no 'close' of its own when its client leaves.
  socket.once('close', quiet);
  whole.once('close', quiet);
  // The reader (undici) hears of a stall through its own listener; once it is done, a stall harms nothing.
  whole.on('error', () => undefined);
  req.pipe(whole);
  return whole;
}
