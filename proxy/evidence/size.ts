import { decodedBodySize, type Observation } from '../../compare/index.js';

/**
 * Bodies together larger than this are compared in a worker: about 0.16 ms per 2 KB on the main
 * thread, 13 ms per 260 KB. The store's writer prepares records in a worker past the same size.
 */
export const INLINE_BYTES = 32 * 1024;

/**
 * A body's size once decoded, which is what comparing it costs: two 11 KB gzip bodies can be
 * 156 KB of JSON. A coded body is decoded no further than the threshold to know.
 */
export function bodyBytes(observation: Observation): number {
  return 'body' in observation ? decodedBodySize(observation, INLINE_BYTES) : 0;
}
