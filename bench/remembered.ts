/**
 * What the proxy's remembered flag decisions hold in the heap: N returning callers decided once
 * each through Flags (the real Optimizely SDK over a local datafile), the heap measured after a
 * full collection before and after. The SDK's own per-caller work is measured beside it, with
 * nothing remembered, so that what the SDK keeps is not taken for what the proxy keeps.
 *
 *   node --expose-gc --import tsx bench/remembered.ts [--callers 10000]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { parseConfig } from '../proxy/config/config.js';
import { Flags } from '../proxy/decision/flags.js';
import { createLogger } from '../proxy/telemetry/log.js';
import { writeDatafile } from '../test/support/datafile.js';
import { count } from './lib/options.js';

const collect = (globalThis as { gc?: () => void }).gc;
if (!collect) throw new Error('run with node --expose-gc --import tsx bench/remembered.ts');

/** The heap in use once the microtasks of what ran have settled and a full collection has run. */
async function heapUsed(): Promise<number> {
  await new Promise((resolve) => setImmediate(resolve));
  collect?.();
  collect?.();
  return process.memoryUsage().heapUsed;
}

const { values } = parseArgs({ options: { callers: { type: 'string', default: '10000' } } });
const callers = count(values.callers, 'callers');
const dir = mkdtempSync(path.join(os.tmpdir(), 'cutover-remembered-'));
try {
  writeDatafile(path.join(dir, 'datafile.json'), [{ key: 'catalog_flag', rules: [{ key: 'half', variation: 'live', percent: 50 }], everyoneElse: 'shadow' }]);
  const config = parseConfig({
    legacy: { url: 'http://127.0.0.1:1' },
    flags: { datafile: 'datafile.json' },
    groups: { catalog: { flag: 'catalog_flag', function: 'catalog', routes: ['GET /products/{id}'] } },
  }, dir, {});
  const flags = await Flags.open(config.flags, config.groups, { log: createLogger('warn', { write: () => undefined }) });
  const ids = (prefix: string) => Array.from({ length: callers }, (_, i) => `${prefix}-${String(i).padStart(8, '0')}-${(i * 7919).toString(36)}`);
  try {
    const figures: Array<[string, number]> = [];
    for (const [label, remember] of [['not remembered (the SDK alone)', false], ['remembered', true]] as const) {
      const names = ids(remember ? 'kept' : 'asked');
      const before = await heapUsed();
      for (const caller of names) flags.decide('catalog', caller, { remember, impression: true });
      figures.push([label, (await heapUsed()) - before]);
    }
    console.log(`${callers} callers, each decided once:`);
    for (const [label, bytes] of figures) console.log(`${label.padEnd(32)} ${(bytes / 1e6).toFixed(2).padStart(6)} MB of heap, ${Math.round(bytes / callers)} bytes a caller`);
  } finally {
    await flags.close();
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
