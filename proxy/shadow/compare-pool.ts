import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { Comparison, Observation, Rules } from '../../compare/index.js';
import type { WorkerJob } from './compare-worker.js';
import type { ComparisonRecord } from '../evidence/record.js';
import type { Redaction } from '../store/prepare.js';
import type { ComparisonRow } from '../store/row.js';

type Answer = { readonly id: number; readonly result: unknown } | { readonly id: number; readonly error: string };

interface Pending { resolve(result: unknown): void; reject(error: Error): void }

/** A job as handed to the pool, which numbers it. */
type Job = WorkerJob extends infer Each ? (Each extends WorkerJob ? Omit<Each, 'id'> : never) : never;

export class CompareWorkerError extends Error {}

/** The worker's module beside this one: `.ts` under tsx, `.js` once compiled. */
const ENTRY = new URL(`./compare-worker${path.extname(fileURLToPath(import.meta.url))}`, import.meta.url);

function spawn(): Worker {
  if (!ENTRY.pathname.endsWith('.ts')) return new Worker(ENTRY);
  // Node 20 does not hand --import tsx on to workers, so a TypeScript worker registers tsx itself.
  return new Worker(`import('tsx/esm/api').then(({ register }) => { register(); return import(${JSON.stringify(ENTRY.href)}); });`, { eval: true });
}

/**
 * Worker threads for the work on large bodies, which would otherwise hold the event loop for
 * milliseconds (bench/results/compare.md): comparisons, and records prepared for the diff store.
 * Workers start on first use; one that dies fails its jobs and is replaced by the next use.
 */
export class ComparePool {
  private readonly workers: Array<{ worker: Worker; pending: Map<number, Pending> } | undefined>;
  private nextId = 0;
  private turn = 0;

  constructor(size: number) {
    this.workers = Array.from({ length: Math.max(1, size) }, () => undefined);
  }

  compare(legacy: Observation, newSide: Observation, rules: Rules): Promise<Comparison> {
    return this.run({ kind: 'compare', legacy, newSide, rules }) as Promise<Comparison>;
  }

  /** A record redacted, serialised and escaped for the store (proxy/store/prepare.ts). */
  preparedRow(record: ComparisonRecord, redaction: Redaction, maxBodyBytes: number): Promise<ComparisonRow> {
    return this.run({ kind: 'store', record, redaction, maxBodyBytes }) as Promise<ComparisonRow>;
  }

  private run(job: Job): Promise<unknown> {
    const slot = this.turn++ % this.workers.length;
    const entry = this.workers[slot] ?? this.start(slot);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      entry.pending.set(id, { resolve, reject });
      try {
        entry.worker.postMessage({ ...job, id });
      } catch (error) {
        // A job that cannot be cloned never reaches the worker: it fails here, and is forgotten.
        entry.pending.delete(id);
        reject(new CompareWorkerError((error as Error).message));
      }
    });
  }

  private start(slot: number): { worker: Worker; pending: Map<number, Pending> } {
    const entry = { worker: spawn(), pending: new Map<number, Pending>() };
    entry.worker.on('message', (answer: Answer) => {
      const pending = entry.pending.get(answer.id);
      entry.pending.delete(answer.id);
      if ('error' in answer) pending?.reject(new CompareWorkerError(answer.error));
      else pending?.resolve(answer.result);
    });
    const fail = (error: Error) => {
      if (this.workers[slot] === entry) this.workers[slot] = undefined;
      for (const pending of entry.pending.values()) pending.reject(new CompareWorkerError(`the comparison worker stopped: ${error.message}`));
      entry.pending.clear();
    };
    entry.worker.on('error', fail);
    entry.worker.on('exit', (code) => fail(new Error(`exit code ${code}`)));
    this.workers[slot] = entry;
    return entry;
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((entry) => entry?.worker.terminate()));
  }
}
