import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { Comparison, Observation, Rules } from '../../compare/index.js';
import type { CompareJob } from './compare-worker.js';

type Answer = { readonly id: number; readonly comparison: Comparison } | { readonly id: number; readonly error: string };

interface Pending { resolve(comparison: Comparison): void; reject(error: Error): void }

export class CompareWorkerError extends Error {}

/** The worker's module beside this one: `.ts` under tsx, `.js` once compiled. */
const ENTRY = new URL(`./compare-worker${path.extname(fileURLToPath(import.meta.url))}`, import.meta.url);

function spawn(): Worker {
  if (!ENTRY.pathname.endsWith('.ts')) return new Worker(ENTRY);
  // Node 20 does not hand --import tsx on to workers, so a TypeScript worker registers tsx itself.
  return new Worker(`import('tsx/esm/api').then(({ register }) => { register(); return import(${JSON.stringify(ENTRY.href)}); });`, { eval: true });
}

/**
 * Worker threads for comparisons of large bodies, which would otherwise hold the event loop for
 * milliseconds (bench/results/compare.md). Workers start on first use; one that dies fails its
 * jobs and is replaced by the next use.
 */
export class ComparePool {
  private readonly workers: Array<{ worker: Worker; pending: Map<number, Pending> } | undefined>;
  private nextId = 0;
  private turn = 0;

  constructor(size: number) {
    this.workers = Array.from({ length: Math.max(1, size) }, () => undefined);
  }

  compare(legacy: Observation, candidate: Observation, rules: Rules): Promise<Comparison> {
    const slot = this.turn++ % this.workers.length;
    const entry = this.workers[slot] ?? this.start(slot);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      entry.pending.set(id, { resolve, reject });
      const job: CompareJob = { id, legacy, candidate, rules };
      entry.worker.postMessage(job);
    });
  }

  private start(slot: number): { worker: Worker; pending: Map<number, Pending> } {
    const entry = { worker: spawn(), pending: new Map<number, Pending>() };
    entry.worker.on('message', (answer: Answer) => {
      const pending = entry.pending.get(answer.id);
      entry.pending.delete(answer.id);
      if ('error' in answer) pending?.reject(new CompareWorkerError(answer.error));
      else pending?.resolve(answer.comparison);
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
