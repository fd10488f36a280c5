import type { IncomingMessage } from 'node:http';
import { PassThrough, type Readable } from 'node:stream';
import type { Framing } from './request.js';

export class BodyTooLarge extends Error {}

/** The client went away before its request body was complete. */
export class ClientLeft extends Error {}

/** Reads a request body into memory, refusing one over `limit` bytes as soon as that is known. */
export async function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  if (Number(req.headers['content-length'] ?? 0) > limit) throw new BodyTooLarge(`the body is over ${limit} bytes`);
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of req) {
      size += (chunk as Buffer).length;
      if (size > limit) throw new BodyTooLarge(`the body is over ${limit} bytes`);
      chunks.push(chunk as Buffer);
    }
  } catch (error) {
    if (error instanceof BodyTooLarge) throw error;
    throw new ClientLeft(`the client left after ${size} bytes of its body`, { cause: error });
  }
  if (!req.complete) throw new ClientLeft(`the client left after ${size} bytes of its body`);
  return Buffer.concat(chunks);
}

/** A body read whole, or, when it passed the limit, a stream of all of it for the primary alone. */
export type BufferedBody = { readonly body: Buffer } | { readonly stream: Readable };

/**
 * Buffers a body for mirroring without losing any of it for the primary: past `limit` the bytes
 * read so far and the rest of the request continue as one stream.
 */
export function bufferUpTo(req: IncomingMessage, framing: Framing, limit: number): Promise<BufferedBody> {
  if (framing.kind === 'none') return Promise.resolve({ body: Buffer.alloc(0) });
  if (framing.kind === 'length' && framing.bytes > limit) return Promise.resolve({ stream: req });
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const detach = () => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('close', onClose);
    };
    const onData = (chunk: Buffer) => {
      chunks.push(chunk);
      size += chunk.length;
      if (size <= limit) return;
      detach();
      req.pause();
      const whole = new PassThrough();
      for (const read of chunks) whole.write(read);
      req.pipe(whole);
      resolve({ stream: whole });
    };
    const onEnd = () => {
      detach();
      resolve({ body: Buffer.concat(chunks) });
    };
    const onError = (error: Error) => {
      detach();
      reject(new ClientLeft(`the client left after ${size} bytes of its body`, { cause: error }));
    };
    // A client that leaves mid-body may close the request without an error: the promise settles either way.
    const onClose = () => onError(new Error('the request closed before its end'));
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('close', onClose);
  });
}
