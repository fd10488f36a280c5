/**
 * A worker thread that runs comparisons off the proxy's event loop. Observations, parsed rules
 * and comparisons are plain data, so they cross the thread boundary by structured clone.
 */
import { parentPort } from 'node:worker_threads';
import { compare, type Observation, type Rules } from '../../compare/index.js';

export interface CompareJob { readonly id: number; readonly legacy: Observation; readonly candidate: Observation; readonly rules: Rules }

parentPort?.on('message', (job: CompareJob) => {
  try {
    parentPort?.postMessage({ id: job.id, comparison: compare(job.legacy, job.candidate, job.rules) });
  } catch (error) {
    parentPort?.postMessage({ id: job.id, error: (error as Error).message });
  }
});
