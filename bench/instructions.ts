/**
 * Instructions a request of the proxy's main thread, counted by valgrind's callgrind: the
 * bench for a change of a few per cent, which the wall-clock bench cannot resolve on a shared
 * machine (its passes differ by up to 40 %; the same count repeats within 5 %). Each row's
 * process runs under callgrind uninstrumented through a warm-up (the JIT settles), then
 * `--requests` requests as the 10,000 returning callers are counted, thread by thread. The main
 * thread is the figure: it runs the request path, and it is what saturates first (93-95 % of a
 * `legacy` process's CPU; docs/performance.md). V8's compiler threads are not: under callgrind
 * they are still compiling what a process at full speed finished long before.
 *
 *   npm run bench:instructions [-- --rows http-proxy,undici,cutover-legacy,cutover-shadow,cutover-complete]
 *     [--warmup 30000] [--requests 3000] [--top 15] [--before DIR] [--before-name NAME] [--keep DIR]
 *
 * `--keep DIR` keeps each row's dumps and V8's map of its code in DIR/ROW, for callgrind_annotate
 * or a closer look at who calls what (the map names the addresses callgrind could not).
 *
 * Needs valgrind (installed with apt-get when missing, as root). Writes bench/results/instructions.md.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { Pool } from 'undici';
import type { Stage } from '../proxy/decision/stage.js';
import { buildProxy } from './lib/build.js';
import { type Profile, readProfile, totalOf } from './lib/callgrind.js';
import { Children, type Started } from './lib/children.js';
import { MATCHED_PATH, startCutover, untilReady } from './lib/cutover.js';
import { count } from './lib/options.js';
import { Lab } from './lib/rows.js';
import { ensureCommand } from './lib/tools.js';
import { RETURNING_CALLERS } from './lib/wrk.js';

const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));
const CONNECTIONS = 32;
/** A process under callgrind starts 20-50 times slower. */
const START_TIMEOUT_MS = 300_000;

const { values } = parseArgs({
  options: {
    rows: { type: 'string', default: 'http-proxy,undici,cutover-legacy,cutover-shadow,cutover-complete' },
    warmup: { type: 'string', default: '30000' },
    requests: { type: 'string', default: '3000' },
    top: { type: 'string', default: '15' },
    before: { type: 'string' },
    'before-name': { type: 'string', default: 'before' },
    keep: { type: 'string' },
  },
});

interface Row {
  readonly id: string;
  readonly label: string;
  /** Starts the row's process under `launcher`; the URL to load, and the process. */
  start(lab: Lab, launcher: readonly string[], dir: string): Promise<{ url: string; process: Started }>;
}

function forwarder(kind: string): Row {
  return {
    id: kind,
    label: `bare ${kind}`,
    async start(lab, launcher) {
      const upstream = await lab.upstream('legacy');
      const [command = '', ...args] = [...launcher, process.execPath, '--perf-basic-prof', '--import', 'tsx', 'bench/forwarders.ts', '--kind', kind, '--target', upstream.url];
      const started = await lab.children.start(`bare ${kind}`, command, args, { cwd: REPO_ROOT, ready: /listening (\S+)/, timeoutMs: START_TIMEOUT_MS });
      return { url: `${started.ready[1] as string}${MATCHED_PATH}`, process: started };
    },
  };
}

function cutover(id: string, label: string, stage: Stage, dist?: string): Row {
  return {
    id,
    label,
    async start(lab, launcher, dir) {
      const running = await startCutover(lab.children, id, REPO_ROOT, {
        dir,
        stage,
        legacyUrl: (await lab.upstream('legacy')).url,
        lambdaUrl: await lab.newSide('fast'),
        nodeArgs: ['--perf-basic-prof'],
        ...(dist ? { entry: [path.resolve(dist, 'proxy/cli.js')] } : {}),
        launcher: { command: launcher, startTimeoutMs: START_TIMEOUT_MS },
      });
      await untilReady(running, START_TIMEOUT_MS);
      return { url: `${running.url}${MATCHED_PATH}`, process: running.process };
    },
  };
}

const STAGES: readonly Stage[] = ['legacy', 'shadow', 'live', 'complete'];
const ROWS: readonly Row[] = [
  forwarder('http-proxy'),
  forwarder('undici'),
  ...STAGES.map((stage) => cutover(`cutover-${stage}`, `Cutover ${stage}`, stage)),
  ...(values.before ? STAGES.map((stage) => cutover(`before-${stage}`, `${values['before-name']}: ${stage}`, stage, values.before)) : []),
];

/** `requests` GETs as the returning callers, `CONNECTIONS` at a time; every answer must be a 200. */
async function load(url: string, requests: number): Promise<void> {
  const target = new URL(url);
  const pool = new Pool(target.origin, { connections: CONNECTIONS });
  let sent = 0;
  const connection = async () => {
    while (sent < requests) {
      sent += 1;
      const cookie = `cutover_caller=c${(sent * 7919) % RETURNING_CALLERS}`;
      const { statusCode, body } = await pool.request({ path: target.pathname, method: 'GET', headers: { cookie } });
      await body.dump();
      if (statusCode !== 200) throw new Error(`${url} answered ${statusCode}: the count would not be of the request path`);
    }
  };
  try {
    await Promise.all(Array.from({ length: CONNECTIONS }, connection));
  } finally {
    await pool.close();
  }
}

function callgrindControl(pid: number, ...args: string[]): void {
  execFileSync('callgrind_control', [...args, String(pid)], { stdio: 'ignore' });
}

interface Measured {
  readonly row: Row;
  /** The main thread's instructions a request. */
  readonly main: number;
  /** Every thread's, V8's compiler and collector included. */
  readonly all: number;
  readonly profile: Profile;
}

async function measure(lab: Lab, row: Row, dir: string, warmup: number, requests: number): Promise<Measured> {
  mkdirSync(dir, { recursive: true });
  const launcher = ['valgrind', '--tool=callgrind', '--smc-check=all-non-file', '--instr-atstart=no', '--separate-threads=yes', '--dump-instr=no', `--callgrind-out-file=${dir}/callgrind.%p`];
  const { url, process: started } = await row.start(lab, launcher, dir);
  try {
    console.log(`bench: ${row.id}: ${warmup} requests of warm-up, uninstrumented`);
    await load(url, warmup);
    callgrindControl(started.pid, '--instr=on');
    callgrindControl(started.pid, '--zero');
    console.log(`bench: ${row.id}: ${requests} requests counted`);
    await load(url, requests);
    callgrindControl(started.pid, '--dump');
    callgrindControl(started.pid, '--instr=off');
    const dumps = readdirSync(dir).filter((file) => file.startsWith(`callgrind.${started.pid}.1-`));
    const main = dumps.find((file) => file.endsWith('-01'));
    if (!main) throw new Error(`${row.id}: callgrind wrote no dump of the main thread in ${dir}`);
    const perfMap = `/tmp/perf-${started.pid}.map`;
    const profile = readProfile(path.join(dir, main), perfMap);
    if (values.keep) copyFileSync(perfMap, path.join(dir, 'perf.map'));
    rmSync(perfMap, { force: true });
    const all = dumps.reduce((sum, file) => sum + totalOf(path.join(dir, file)), 0);
    return { row, main: profile.total / requests, all: all / requests, profile };
  } finally {
    // Time for `cutover start` to close its store under callgrind, rather than leave it running.
    await lab.children.stop(started.child, 'SIGTERM', 60_000);
  }
}

const perRequest = (value: number) => Math.round(value).toLocaleString('en-US');
/** A function's name with its file relative to the repository. */
const shortName = (name: string) => name.replace('file://', '').replace(REPO_ROOT, '');

function report(measured: readonly Measured[], requests: number, top: number): string {
  const baseline = measured.find((entry) => entry.row.id === 'http-proxy');
  const lines = [
    '# Instructions a request',
    '',
    `\`npm run bench:instructions\`, ${new Date().toISOString()}: each row under valgrind's callgrind, ${requests} requests counted after the warm-up, ${CONNECTIONS} connections, the 10,000 returning callers; Node ${process.version}.`,
    '',
    '| row | main thread, instructions a request | × bare http-proxy | every thread (V8\'s compiler included) |',
    '|---|---|---|---|',
    ...measured.map((entry) => `| ${entry.row.label} | ${perRequest(entry.main)} | ${baseline ? `${(entry.main / baseline.main).toFixed(2)}×` : '—'} | ${perRequest(entry.all)} |`),
  ];
  for (const entry of measured) {
    const functions = [...entry.profile.functions];
    const own = functions.filter((cost) => cost.name.includes('/dist/proxy/')).sort((a, b) => b.inclusive - a.inclusive).slice(0, top);
    const heaviest = functions.sort((a, b) => b.self - a.self).slice(0, top);
    lines.push('', `## ${entry.row.label}: where the main thread's instructions go`, '', '| own instructions a request | share | function |', '|---|---|---|');
    for (const cost of heaviest) lines.push(`| ${perRequest(cost.self / requests)} | ${((100 * cost.self) / entry.profile.total).toFixed(1)} % | \`${shortName(cost.name).slice(0, 140)}\` |`);
    if (own.length > 0) {
      lines.push('', '| with what it calls, a request | Cutover\'s function |', '|---|---|');
      for (const cost of own) lines.push(`| ${perRequest(cost.inclusive / requests)} | \`${shortName(cost.name)}\` |`);
    }
  }
  return `${lines.join('\n')}\n`;
}

async function main(): Promise<void> {
  const warmup = count(values.warmup, 'warmup');
  const requests = count(values.requests, 'requests');
  const top = count(values.top, 'top');
  const wanted = values.rows.split(',');
  const unknown = wanted.filter((id) => !ROWS.some((row) => row.id === id));
  if (unknown.length > 0) throw new Error(`--rows: no row ${unknown.join(', ')}; the rows are ${ROWS.map((row) => row.id).join(', ')}`);
  const notes: string[] = [];
  if (!ensureCommand('valgrind', notes)) throw new Error(notes.join('; '));
  for (const note of notes) console.log(`bench: ${note}`);
  if (wanted.some((id) => id.startsWith('cutover-'))) buildProxy(REPO_ROOT);
  if (values.before && !existsSync(path.resolve(values.before, 'proxy/cli.js'))) throw new Error(`--before ${values.before} holds no proxy/cli.js: give an earlier build's dist/`);

  const children = new Children();
  const dir = values.keep ? path.resolve(values.keep) : mkdtempSync(path.join(os.tmpdir(), 'cutover-instructions-'));
  const stop = () => {
    children.killAllNow();
    process.exit(130);
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    const lab = new Lab(children, dir, REPO_ROOT);
    const measured: Measured[] = [];
    for (const row of ROWS.filter((candidate) => wanted.includes(candidate.id))) {
      const entry = await measure(lab, row, path.join(dir, row.id), warmup, requests);
      console.log(`bench: ${row.id}: ${perRequest(entry.main)} instructions a request on the main thread, ${perRequest(entry.all)} on every thread`);
      measured.push(entry);
    }
    const file = path.join(REPO_ROOT, 'bench/results/instructions.md');
    writeFileSync(file, report(measured, requests, top));
    console.log(`\nbench: wrote ${path.relative(REPO_ROOT, file)}`);
  } finally {
    await children.stopAll();
    if (!values.keep) rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(`bench: ${(error as Error).message}`);
  process.exit(1);
});
