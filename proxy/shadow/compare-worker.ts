/**
 * A worker thread that runs the costly work on large bodies off the proxy's event loop: their
 * comparisons, and the preparing of their records for the diff store. Observations, parsed rules,
 * records and rows are plain data, so they cross the thread boundary by structured clone.
 */
import { parentPort } from 'node:worker_threads';
import { compare, type Observation, type Rules } from '../../compare/index.js';
import type { ComparisonRecord } from '../evidence/record.js';
import { preparedRow, type Redaction } from '../store/prepare.js';

export type WorkerJob =
  | { readonly id: number; readonly kind: 'compare'; readonly legacy: Observation; readonly newSide: Observation; readonly rules: Rules }
  | { readonly id: number; readonly kind: 'store'; readonly record: ComparisonRecord; readonly redaction: Redaction; readonly maxBodyBytes: number };

function run(job: WorkerJob): unknown {
  switch (job.kind) {
    case 'compare': return compare(job.legacy, job.newSide, job.rules);
    case 'store': return preparedRow(job.record, job.redaction, job.maxBodyBytes);
  }
}

parentPort?.on('message', (job: WorkerJob) => {
  try {
    parentPort?.postMessage({ id: job.id, result: run(job) });
  } catch (error) {
    parentPort?.postMessage({ id: job.id, error: (error as Error).message });
  }
});
