/**
 * Cutover under test: a real `cutover start` process per configuration (its own CPU and memory
 * in /proc), with one catalog group whose flag is fixed at a stage by a local datafile.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Stage } from '../../proxy/decision/stage.js';
import type { LogLevel } from '../../proxy/telemetry/log.js';
import { writeDatafile } from '../../test/support/datafile.js';
import { sampleAll } from '../../test/support/metrics.js';
import { until } from '../../test/support/until.js';
import { CUTOVER_BIN } from './build.js';
import type { Children, Started } from './children.js';

export const GROUP = 'catalog';
/** The route the group serves; any other path (/other) is unmatched and goes to legacy. */
export const MATCHED_PATH = '/products/1';
export const UNMATCHED_PATH = '/other';

/** The stages in which the proxy mirrors a request to the other side and compares the two answers. */
const MIRRORING: ReadonlySet<Stage> = new Set<Stage>(['shadow', 'live']);

export interface CutoverOptions {
  readonly dir: string;
  readonly stage: Stage;
  readonly legacyUrl: string;
  /** The local Lambda host: the new side (a closed port for the "shadow side refused" row). */
  readonly lambdaUrl: string;
  /** Before the script (`--cpu-prof`, say). */
  readonly nodeArgs?: readonly string[];
  /** What runs the proxy: the build through the bin by default. */
  readonly entry?: readonly string[];
  /** `memory.heapGrowthPercent`: V8's own growth when absent. */
  readonly heapGrowthPercent?: number;
  /** `log.level`: the default (`info`, an access line per request) when absent. */
  readonly logLevel?: LogLevel;
  /** A command that runs node (valgrind, say), and how long a start may take under it. */
  readonly launcher?: { readonly command: readonly string[]; readonly startTimeoutMs: number };
}

export interface RunningCutover {
  readonly url: string;
  readonly admin: string;
  readonly stage: Stage;
  readonly process: Started;
}

function writeConfig(options: CutoverOptions): string {
  mkdirSync(options.dir, { recursive: true });
  writeDatafile(path.join(options.dir, 'datafile.json'), [{ key: 'catalog_flag', everyoneElse: options.stage }]);
  const file = path.join(options.dir, 'cutover.json');
  writeFileSync(file, JSON.stringify({
    traffic: { host: '127.0.0.1', port: 0 },
    admin: { host: '127.0.0.1', port: 0 },
    legacy: { url: options.legacyUrl, timeoutMs: 10_000 },
    lambda: { endpoint: options.lambdaUrl },
    flags: { datafile: 'datafile.json' },
    ...(options.logLevel === undefined ? {} : { log: { level: options.logLevel } }),
    shadow: { maxInFlight: 64 },
    groups: {
      [GROUP]: { flag: 'catalog_flag', function: 'catalog', routes: ['GET /products/{id}'], shadow: { percent: 100, timeoutMs: 2_500 } },
    },
    ...(options.heapGrowthPercent === undefined ? {} : { memory: { heapGrowthPercent: options.heapGrowthPercent } }),
  }, null, 2));
  return file;
}

export async function startCutover(children: Children, name: string, repoRoot: string, options: CutoverOptions): Promise<RunningCutover> {
  const config = writeConfig(options);
  const [command = process.execPath, ...args] = [...(options.launcher?.command ?? []), process.execPath, ...(options.nodeArgs ?? []), ...(options.entry ?? [CUTOVER_BIN]), 'start', '--config', config];
  // A minute: on a shared machine a start-up (the build's imports, the embedded store) has taken over 20 s.
  const started = await children.start(name, command, args, { cwd: repoRoot, ready: /cutover: traffic on (\S+), admin on (\S+)/, timeoutMs: options.launcher?.startTimeoutMs ?? 60_000 });
  return { url: started.ready[1] as string, admin: started.ready[2] as string, stage: options.stage, process: started };
}

/** Counters of the catalog group, read from /metrics; a row's figures are the difference of two readings. */
export interface Accounting {
  /** Requests of a mirroring stage (all of them: the group mirrors 100 %). */
  readonly mirrored: number;
  readonly compared: number;
  readonly skipped: number;
  /** compared by verdict, skipped by reason: what the totals are made of. */
  readonly detail: Readonly<Record<string, number>>;
}

async function metricsText(cutover: RunningCutover): Promise<string> {
  const response = await fetch(`${cutover.admin}/metrics`);
  if (!response.ok) throw new Error(`${cutover.admin}/metrics answered ${response.status}`);
  return response.text();
}

/** The sums of `family`'s samples of the group by the value of `label` (verdict, reason). */
function byLabel(text: string, family: string, label: string): Record<string, number> {
  const sums: Record<string, number> = {};
  // Greedy up to the last "} ": a route label holds braces of its own (GET /products/{id}).
  const line = new RegExp(`^${family}\\{(.*)\\} (\\S+)$`, 'gm');
  for (const [, labels = '', value] of text.matchAll(line)) {
    if (!labels.includes(`group="${GROUP}"`)) continue;
    const key = new RegExp(`${label}="([^"]*)"`).exec(labels)?.[1] ?? '?';
    sums[key] = (sums[key] ?? 0) + Number(value);
  }
  return sums;
}

export async function readAccounting(cutover: RunningCutover): Promise<Accounting> {
  const text = await metricsText(cutover);
  const verdicts = byLabel(text, 'cutover_comparisons_total', 'verdict');
  const reasons = byLabel(text, 'cutover_shadow_skipped_total', 'reason');
  return {
    // sampleAll, not the regex: it throws on a renamed metric or label instead of reading 0.
    mirrored: MIRRORING.has(cutover.stage) ? sampleAll(text, 'cutover_requests_total', { group: GROUP }) : 0,
    compared: sampleAll(text, 'cutover_comparisons_total', { group: GROUP }),
    skipped: sampleAll(text, 'cutover_shadow_skipped_total', { group: GROUP }),
    detail: {
      ...Object.fromEntries(Object.entries(verdicts).map(([verdict, count]) => [`compared ${verdict}`, count])),
      ...Object.fromEntries(Object.entries(reasons).map(([reason, count]) => [`skipped ${reason}`, count])),
    },
  };
}

export function difference(after: Accounting, before: Accounting): Accounting {
  const keys = new Set([...Object.keys(after.detail), ...Object.keys(before.detail)]);
  return {
    mirrored: after.mirrored - before.mirrored,
    compared: after.compared - before.compared,
    skipped: after.skipped - before.skipped,
    detail: Object.fromEntries([...keys].map((key) => [key, (after.detail[key] ?? 0) - (before.detail[key] ?? 0)]).filter(([, count]) => count !== 0)),
  };
}

/**
 * Waits until no shadow request is under way, so that a window's accounting and CPU include the
 * comparisons of its own requests (a slow shadow side settles up to its 2.5 s timeout later).
 * False when some are still under way after `timeoutMs`: the accounting then shows it.
 */
export async function settleShadows(cutover: RunningCutover, timeoutMs = 6_000): Promise<boolean> {
  for (const deadline = Date.now() + timeoutMs; Date.now() < deadline; await sleep(100)) {
    if (sampleAll(await metricsText(cutover), 'cutover_shadow_inflight', {}) === 0) return true;
  }
  return false;
}

/** Waits until the proxy's /readyz says ready: its store open and its overrides read. */
export async function untilReady(cutover: RunningCutover, timeoutMs: number): Promise<void> {
  await until(async () => ((await (await fetch(`${cutover.admin}/readyz`)).json()) as { status: string }).status === 'ready', `${cutover.process.name} ready`, timeoutMs);
}
