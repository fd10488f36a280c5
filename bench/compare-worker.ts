/**
 * A worker thread that runs comparisons off the main event loop: it receives
 * {legacy, candidate, rules} (observations and parsed rules are plain data, so they cross the
 * thread boundary by structured clone) and answers the Comparison.
 */
import { parentPort } from 'node:worker_threads';
import { compare, type Observation, type Rules } from '../compare/index.js';

interface Job { readonly id: number; readonly legacy: Observation; readonly candidate: Observation; readonly rules: Rules }

parentPort?.on('message', (job: Job) => {
  parentPort?.postMessage({ id: job.id, comparison: compare(job.legacy, job.candidate, job.rules) });
});
