/**
 * What the proxy costs per request, next to peers measured in the same run: wrk against a
 * fixed-response upstream directly, through the bare http-proxy package (the baseline), through
 * nginx (plain and mirroring), and through Cutover in each stage, plus isolation rows where the
 * shadow side is slow or refuses connections. Loopback only; every process it starts is stopped
 * at the end. Writes bench/results/proxy.md and proxy.json.
 *
 *   npm run bench                                   (3 passes of 5 s per row, about 5 minutes)
 *   npm run bench -- --seconds 3 --passes 1         (a quick look)
 *   npm run bench -- --rows http-proxy,cutover-shadow --profile
 *
 * Options: --seconds N per pass, --passes N, --warmup N seconds before each pass, --connections N,
 * --rows a,b (ids below, in ROWS of bench/lib/rows.ts), --profile (a CPU profile of the shadow stage,
 * or of --profile-stage S; with --profile-mismatch the new side answers otherwise, as in the mismatch row),
 * --before DIR (an earlier build's dist/ as three more rows, before-legacy, -shadow and -complete,
 * or those of them --rows names; --before-name names it in the table).
 */
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { PRODUCT_BODY } from './lib/body.js';
import { Children } from './lib/children.js';
import { difference } from './lib/cutover.js';
import { cpuMicros, peakRssKiB, resetPeakRss } from './lib/procfs.js';
import { mainThreadProfile, type ProfileSummary, summarizeProfile } from './lib/profile.js';
import { type PassFigures, type Report, type RowResult, summarize, writeReport } from './lib/report.js';
import { BASELINE, beforeRows, Lab, prepareCutover, ROWS, type RowSpec, type Target } from './lib/rows.js';
import { isStage, type Stage, STAGES } from '../proxy/decision/stage.js';
import { buildProxy } from './lib/build.js';
import { count } from './lib/options.js';
import { ensureTools } from './lib/tools.js';
import { runWrk } from './lib/wrk.js';

const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));
const RESULTS_DIR = fileURLToPath(new URL('./results', import.meta.url));
/** Functions listed from the profile. */
const PROFILE_TOP = 20;

interface Options {
  readonly seconds: number;
  readonly passes: number;
  readonly warmup: number;
  readonly connections: number;
  readonly rows: readonly RowSpec[];
  /** The stage to profile, when a profile is asked for. */
  readonly profile: Stage | undefined;
  /** Whether the profiled proxy's new side answers otherwise than legacy (the mismatch row's case). */
  readonly profileMismatch: boolean;
}

/** The options; whole numbers only, since wrk takes its duration in whole seconds. */
function parseOptions(args: string[]): Options {
  const { values } = parseArgs({
    args,
    options: {
      seconds: { type: 'string', default: '5' },
      passes: { type: 'string', default: '3' },
      warmup: { type: 'string', default: '1' },
      connections: { type: 'string', default: '32' },
      rows: { type: 'string' },
      profile: { type: 'boolean', default: false },
      'profile-stage': { type: 'string', default: 'shadow' },
      'profile-mismatch': { type: 'boolean', default: false },
      before: { type: 'string' },
      'before-name': { type: 'string', default: 'the build before' },
    },
    strict: true,
  });
  const ids = values.rows?.split(',').map((id) => id.trim()).filter(Boolean);
  const before = values.before ? beforeRows(values.before, values['before-name']) : [];
  const unknown = ids?.filter((id) => !ROWS.some((row) => row.id === id) && !before.some((row) => row.id === id)) ?? [];
  if (unknown.length > 0) throw new Error(`unknown row ${unknown.join(', ')}; the rows: ${ROWS.map((row) => row.id).join(', ')}`);
  // --rows may name some of the earlier build's rows (before-legacy, say); naming none keeps all three.
  const someBefore = ids?.some((id) => before.some((row) => row.id === id)) === true;
  return {
    seconds: count(values.seconds, 'seconds'),
    passes: count(values.passes, 'passes'),
    warmup: count(values.warmup, 'warmup', true),
    connections: count(values.connections, 'connections'),
    // In the table's order whatever the order asked.
    rows: [...(ids ? ROWS.filter((row) => ids.includes(row.id)) : ROWS), ...(someBefore ? before.filter((row) => ids?.includes(row.id)) : before)],
    profile: values.profile ? stageOption(values['profile-stage']) : undefined,
    profileMismatch: values['profile-mismatch'],
  };
}

function stageOption(value: string): Stage {
  if (!isStage(value)) throw new Error(`--profile-stage takes one of ${STAGES.join(', ')}, not "${value}"`);
  return value;
}

/** Pass 1 in the table's order, pass 2 reversed, and so on: a drifting machine weighs on every row alike. */
function passOrder<T>(rows: readonly T[], pass: number): T[] {
  return pass % 2 === 0 ? [...rows] : [...rows].reverse();
}

/** One window of one row: warm up, read the proxy, load it, let it settle, read it again. */
async function measure(children: Children, target: Target, pass: number, options: Options): Promise<PassFigures> {
  const wrk = { url: target.url, connections: options.connections };
  if (options.warmup > 0) {
    await runWrk(children, { ...wrk, seconds: options.warmup });
    await target.settle();
  }
  const accountingBefore = await target.accounting?.();
  const cpuBefore = target.pid === undefined ? 0 : cpuMicros(target.pid);
  if (target.pid !== undefined) resetPeakRss(target.pid);

  const load = await runWrk(children, { ...wrk, seconds: options.seconds });
  // The CPU of the shadows still under way when wrk stops belongs to this window's requests.
  await target.settle();

  const cpuUsed = target.pid === undefined ? undefined : cpuMicros(target.pid) - cpuBefore;
  const peakRss = target.pid === undefined ? undefined : peakRssKiB(target.pid);
  const accountingAfter = await target.accounting?.();
  return {
    pass,
    requests: load.requests,
    requestsPerSecond: load.requestsPerSecond,
    p50Ms: load.p50Ms,
    p99Ms: load.p99Ms,
    errors: load.errors,
    ...(cpuUsed === undefined ? {} : { cpuMicrosPerRequest: cpuUsed / Math.max(1, load.requests) }),
    ...(peakRss === undefined ? {} : { peakRssKiB: peakRss }),
    ...(accountingBefore && accountingAfter ? { accounting: difference(accountingAfter, accountingBefore) } : {}),
  };
}

function progressLine(id: string, figures: PassFigures, passes: number): string {
  const cpu = figures.cpuMicrosPerRequest === undefined ? '' : `  CPU ${Math.round(figures.cpuMicrosPerRequest)} µs/req`;
  const errors = figures.errors > 0 ? `  errors ${figures.errors}` : '';
  return `pass ${figures.pass}/${passes}  ${id.padEnd(24)} ${Math.round(figures.requestsPerSecond).toString().padStart(7)} req/s  p50 ${figures.p50Ms.toFixed(2)} ms  p99 ${figures.p99Ms.toFixed(2)} ms${cpu}${errors}`;
}

/**
 * Starts every row's processes before the first pass, one row at a time, each waited for until it
 * is ready and quiet before the next starts: a Cutover row's embedded store goes on starting after
 * the proxy listens (60-80 % of a core for about 12 s), and its work fell into the first pass's
 * windows before; fifteen such start-ups at once also starved one another past their timeout.
 */
async function prepareAll(lab: Lab, rows: readonly RowSpec[], notes: string[]): Promise<Map<RowSpec, Target>> {
  const targets = new Map<RowSpec, Target>();
  for (const row of rows) {
    try {
      const target = await row.prepare(lab);
      await target.ready?.();
      targets.set(row, target);
    } catch (error) {
      notes.push(`${row.id} not measured: it did not start (${(error as Error).message.split('\n')[0]})`);
      console.error(`bench: ${row.id} did not start: ${(error as Error).message}`);
    }
  }
  return targets;
}

async function runPasses(children: Children, targets: Map<RowSpec, Target>, options: Options, notes: string[]): Promise<Map<RowSpec, PassFigures[]>> {
  const figures = new Map<RowSpec, PassFigures[]>([...targets.keys()].map((row) => [row, []]));
  for (let pass = 0; pass < options.passes; pass += 1) {
    for (const [row, target] of passOrder([...targets], pass)) {
      try {
        const result = await measure(children, target, pass + 1, options);
        figures.get(row)?.push(result);
        console.log(progressLine(row.id, result, options.passes));
      } catch (error) {
        notes.push(`${row.id}, pass ${pass + 1}: ${(error as Error).message.split('\n')[0]}`);
        console.error(`bench: ${row.id}, pass ${pass + 1} failed: ${(error as Error).message}`);
      }
    }
  }
  return figures;
}

function results(figures: Map<RowSpec, PassFigures[]>): RowResult[] {
  const measured = [...figures].filter(([, passes]) => passes.length > 0);
  const baseline = measured.find(([row]) => row.id === BASELINE)?.[1];
  const baselineRate = baseline ? summarize(baseline, undefined).requestsPerSecond : undefined;
  return measured.map(([row, passes]) => ({ id: row.id, label: row.label, passes, summary: summarize(passes, baselineRate) }));
}

/**
 * A run of one stage under `node --cpu-prof`, apart from the passes (the profiler slows it
 * down); the profile is written when the proxy exits on SIGTERM.
 */
async function profileStage(lab: Lab, options: Options, stage: Stage): Promise<ProfileSummary> {
  const dir = path.join(lab.dir, 'profile');
  mkdirSync(dir, { recursive: true });
  const name = `${stage}${options.profileMismatch ? '-mismatch' : ''}`;
  const target = await prepareCutover(lab, `cutover-${name}-profiled`, { stage, newSide: options.profileMismatch ? 'differs' : 'fast', nodeArgs: ['--cpu-prof', '--cpu-prof-dir', dir] });
  if (target.pid === undefined) throw new Error('the profiled proxy has no process id');
  await target.ready?.();
  if (options.warmup > 0) await runWrk(lab.children, { url: target.url, connections: options.connections, seconds: options.warmup });
  await runWrk(lab.children, { url: target.url, connections: options.connections, seconds: options.seconds });
  await target.settle();
  const proxy = lab.children.find(target.pid);
  if (proxy) await lab.children.stop(proxy, 'SIGTERM', 15_000);
  const file = mainThreadProfile(dir, target.pid);
  if (!file) throw new Error(`no CPU profile of process ${target.pid} in ${dir}`);
  const kept = path.join(RESULTS_DIR, `proxy-${name}.cpuprofile`);
  copyFileSync(file, kept);
  return { ...summarizeProfile(file, REPO_ROOT, PROFILE_TOP), file: path.relative(REPO_ROOT, kept) };
}

function printProfile(profile: ProfileSummary): void {
  console.log(`\nCPU profile (${profile.file}): ${Math.round(profile.sampledMs - profile.idleMs)} ms busy of ${Math.round(profile.sampledMs)} ms; top self time:`);
  for (const entry of profile.top) console.log(`${entry.selfMs.toFixed(1).padStart(9)} ms ${(entry.share * 100).toFixed(1).padStart(5)} %  ${entry.where}`);
}

function machine(versions: Readonly<Record<string, string>>): Record<string, string> {
  const cpus = os.cpus();
  return {
    cpus: `${cpus.length} × ${cpus[0]?.model.trim() ?? 'unknown'}`,
    memory: `${(os.totalmem() / 2 ** 30).toFixed(1)} GiB`,
    kernel: `${os.platform()} ${os.release()}`,
    node: process.version,
    ...versions,
  };
}

async function main(args: string[]): Promise<number> {
  const options = parseOptions(args);
  const tools = ensureTools();
  for (const note of tools.notes) console.log(`bench: ${note}`);
  if (!tools.wrk) return 1;
  buildProxy(REPO_ROOT);
  const notes = [...tools.notes];
  const rows = options.rows.filter((row) => tools.nginx || !row.needsNginx);

  const children = new Children();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'cutover-bench-'));
  // Ctrl-C cannot wait for the finally below: end every process at once, then leave.
  const interrupted = () => {
    children.killAllNow();
    rmSync(dir, { recursive: true, force: true });
    process.exit(130);
  };
  process.once('SIGINT', interrupted);
  process.once('SIGTERM', interrupted);

  try {
    const lab = new Lab(children, dir, REPO_ROOT);
    const targets = await prepareAll(lab, rows, notes);
    console.log(`bench: ${targets.size} rows, ${options.passes} passes of ${options.seconds} s (after ${options.warmup} s of warm-up), ${options.connections} connections`);
    const rowResults = results(await runPasses(children, targets, options, notes));
    let profile: ProfileSummary | undefined;
    if (options.profile) {
      try {
        profile = await profileStage(lab, options, options.profile);
        printProfile(profile);
      } catch (error) {
        notes.push(`--profile failed: ${(error as Error).message.split('\n')[0]}`);
        console.error(`bench: --profile failed: ${(error as Error).message}`);
      }
    }
    const report: Report = {
      command: `npm run bench${args.length > 0 ? ` -- ${args.join(' ')}` : ''}`,
      date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
      machine: machine(tools.versions),
      settings: {
        seconds: options.seconds, passes: options.passes, warmupSeconds: options.warmup, connections: options.connections,
        wrkThreads: 1, bodyBytes: Buffer.byteLength(PRODUCT_BODY),
      },
      notes,
      rows: rowResults,
      ...(profile ? { profile } : {}),
    };
    const written = writeReport(RESULTS_DIR, report);
    console.log(`\nbench: wrote ${path.relative(REPO_ROOT, written.markdown)} and ${path.relative(REPO_ROOT, written.json)}`);
    const failed = rowResults.length < rows.length || notes.some((note) => / not measured|pass \d+:|--profile failed/.test(note));
    return failed ? 1 : 0;
  } finally {
    await children.stopAll();
    rmSync(dir, { recursive: true, force: true });
  }
}

process.exitCode = await main(process.argv.slice(2));
