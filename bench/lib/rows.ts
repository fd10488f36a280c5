/**
 * The rows of the proxy benchmark: what each one puts between wrk and the fixed-response upstream.
 * Every proxy under test is a process of its own, so that its CPU time and memory can be read
 * from /proc; the upstreams too, so that none shares an event loop with the bench driver.
 */
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Stage } from '../../proxy/decision/stage.js';
import type { LogLevel } from '../../proxy/telemetry/log.js';
import type { Children } from './children.js';
import { type Accounting, MATCHED_PATH, readAccounting, untilReady, settleShadows, startCutover, UNMATCHED_PATH } from './cutover.js';
import { startNginx } from './nginx.js';
import { untilIdle } from './procfs.js';
import { RETURNING_CALLERS, runWrk } from './wrk.js';

/** Nothing listens on port 1 of loopback, and no other process can take it meanwhile: always refused. */
export const REFUSED = '127.0.0.1:1';
/** How long the slow shadow side takes to answer. */
export const SLOW_MS = 2_000;

/** A row ready to be measured. */
export interface Target {
  /** The URL wrk requests. */
  readonly url: string;
  /** The proxy process whose CPU and RSS are the row's; absent for the direct row. */
  readonly pid?: number;
  /**
   * Resolves once the work the load started is done (shadows settled, the store quiet), so that a window's CPU and
   * accounting hold its own requests and none of the previous row's. False if it did not settle.
   */
  settle(): Promise<boolean>;
  /**
   * Cutover rows: resolves once the proxy is ready (`/readyz`), it and the processes under it (the
   * embedded store) have gone quiet, and it has met every returning caller once, so that no
   * start-up work falls into a window.
   */
  ready?(): Promise<void>;
  /** Cutover rows: the group's counters from /metrics. */
  accounting?(): Promise<Accounting>;
}

export interface RowSpec {
  readonly id: string;
  readonly label: string;
  readonly needsNginx?: boolean;
  prepare(lab: Lab): Promise<Target>;
}

type UpstreamKind = 'legacy' | 'mirror' | 'slow';
type NewSide = 'fast' | 'slow' | 'refused' | 'differs';

/** Responses are small and in memory: a short pause is enough for the last ones to leave. */
const brief = async () => {
  await sleep(250);
  return true;
};

/** A process of the lab and where it serves. */
export interface Service { readonly url: string; readonly pid: number }

/**
 * The processes rows need, each started once on first use and shared by the rows that need it
 * (the legacy upstream serves every row).
 */
export class Lab {
  private readonly started = new Map<string, Promise<Service>>();

  constructor(readonly children: Children, readonly dir: string, readonly repoRoot: string) {}

  private once(key: string, start: () => Promise<Service>): Promise<Service> {
    let service = this.started.get(key);
    if (!service) {
      service = start();
      this.started.set(key, service);
    }
    return service;
  }

  /** A bench script run with tsx, which prints `listening URL` once it serves. */
  private async script(name: string, file: string, args: string[]): Promise<Service> {
    const started = await this.children.start(name, process.execPath, ['--import', 'tsx', file, ...args], {
      cwd: this.repoRoot,
      ready: /listening (\S+)/,
    });
    return { url: started.ready[1] as string, pid: started.pid };
  }

  /** The fixed-response upstream: legacy, a second one for nginx's mirror, or the slow one. */
  upstream(kind: UpstreamKind): Promise<Service> {
    const args = kind === 'slow' ? ['--delay-ms', String(SLOW_MS)] : [];
    return this.once(`upstream-${kind}`, () => this.script(`upstream (${kind})`, 'bench/upstream.ts', args));
  }

  /** The new side: the local Lambda host, fast, slow, answering a price changed, or a port that refuses connections. */
  async newSide(kind: NewSide): Promise<string> {
    if (kind === 'refused') return `http://${REFUSED}`;
    const args = kind === 'slow' ? ['--delay-ms', String(SLOW_MS)] : kind === 'differs' ? ['--differs'] : [];
    return (await this.once(`lambda-${kind}`, () => this.script(`lambda host (${kind})`, 'bench/lambda-upstream.ts', args))).url;
  }

  /** A bare forwarder of bench/forwarders.ts: `http-proxy` is the baseline. */
  forwarder(kind: string): Promise<Service> {
    return this.once(`forwarder-${kind}`, async () => this.script(`bare ${kind}`, 'bench/forwarders.ts', ['--kind', kind, '--target', (await this.upstream('legacy')).url]));
  }
}

const hostPort = (url: string) => new URL(url).host;

function nginxRow(id: string, label: string, mirror?: UpstreamKind | 'refused'): RowSpec {
  return {
    id, label, needsNginx: true,
    async prepare(lab) {
      const upstream = hostPort((await lab.upstream('legacy')).url);
      const mirrorTo = mirror === undefined ? undefined : mirror === 'refused' ? REFUSED : hostPort((await lab.upstream(mirror)).url);
      const nginx = await startNginx(lab.children, id, { dir: path.join(lab.dir, id), upstream, ...(mirrorTo ? { mirror: mirrorTo } : {}) });
      // nginx keeps a client's next request waiting until the slow mirror answered: let those finish.
      const settle = mirror === 'slow' ? () => sleep(SLOW_MS + 500).then(() => true) : brief;
      return { url: `${nginx.url}${MATCHED_PATH}`, pid: nginx.worker, settle };
    },
  };
}

export interface CutoverRowOptions {
  readonly stage: Stage;
  readonly newSide: NewSide;
  readonly unmatched?: boolean;
  /** Node options before the script: `--cpu-prof` for the profile. */
  readonly nodeArgs?: readonly string[];
  /** What runs the proxy, when not the build: the sources through tsx. */
  readonly entry?: readonly string[];
  readonly heapGrowthPercent?: number;
  readonly logLevel?: LogLevel;
}

/**
 * One wrk run long enough to send every returning caller once: the proxy remembers a caller's
 * flag decision, and the first of its requests pays the SDK's (about 15 µs, more on a busy
 * machine). Without it pass 1 of a Cutover row paid for up to 10,000 of them, and later passes none.
 */
async function meetEveryCaller(children: Children, url: string): Promise<void> {
  for (let seconds = 3; seconds <= 48; seconds *= 2) {
    if ((await runWrk(children, { url, connections: 32, seconds })).requests > RETURNING_CALLERS) return;
  }
  throw new Error(`${url} did not answer ${RETURNING_CALLERS} requests in one run of 48 s`);
}

/** Starts a Cutover process for one row, against the shared legacy upstream. */
export async function prepareCutover(lab: Lab, id: string, options: CutoverRowOptions): Promise<Target> {
  const cutover = await startCutover(lab.children, id, lab.repoRoot, {
    dir: path.join(lab.dir, id),
    stage: options.stage,
    legacyUrl: (await lab.upstream('legacy')).url,
    lambdaUrl: await lab.newSide(options.newSide),
    ...(options.nodeArgs ? { nodeArgs: options.nodeArgs } : {}),
    ...(options.entry ? { entry: options.entry } : {}),
    ...(options.heapGrowthPercent === undefined ? {} : { heapGrowthPercent: options.heapGrowthPercent }),
    ...(options.logLevel === undefined ? {} : { logLevel: options.logLevel }),
  });
  return {
    url: `${cutover.url}${options.unmatched ? UNMATCHED_PATH : MATCHED_PATH}`,
    pid: cutover.process.pid,
    // Until its store has written what the window kept, too: the mismatch row's rows, written
    // during the next row's window, weighed on that row (complete 172-197 against 133 µs after it).
    settle: async () => (await settleShadows(cutover)) && untilIdle(cutover.process.pid, { timeoutMs: 30_000 }),
    accounting: () => readAccounting(cutover),
    async ready() {
      await untilReady(cutover, 60_000);
      if (!await untilIdle(cutover.process.pid)) throw new Error(`${id} and its store were still busy a minute after starting`);
      await meetEveryCaller(lab.children, cutover.url + MATCHED_PATH);
    },
  };
}

function forwarderRow(kind: string, label: string): RowSpec {
  return {
    id: kind, label,
    async prepare(lab) {
      const proxy = await lab.forwarder(kind);
      return { url: `${proxy.url}${MATCHED_PATH}`, pid: proxy.pid, settle: brief };
    },
  };
}

/**
 * An earlier build of Cutover, compiled apart (`git worktree add` at the commit, `npm run build`,
 * or a copy of its dist/), in three rows beside this build's: an A/B within one run.
 */
export function beforeRows(dist: string, name: string): RowSpec[] {
  const entry = [path.resolve(dist, 'proxy/cli.js')];
  return (['legacy', 'shadow', 'complete'] as const).map((stage) => cutoverRow(`before-${stage}`, `${name}: ${stage}, default configuration`, { stage, newSide: 'fast', entry }));
}

function cutoverRow(id: string, label: string, options: CutoverRowOptions): RowSpec {
  return { id, label, prepare: (lab) => prepareCutover(lab, id, options) };
}

/** The lean rows' heap growth: what memory at saturation costs in CPU, side by side with V8's own. */
const LEAN_HEAP_GROWTH = 25;

/**
 * In the order of the table: peers first, then Cutover's stages, then the isolation rows in pairs.
 * Cutover runs at its default configuration, access log on, as operators run it; the `warn` row
 * beside `legacy` says what the access line costs.
 */
export const ROWS: readonly RowSpec[] = [
  {
    id: 'direct', label: 'direct (no proxy)',
    async prepare(lab) {
      return { url: `${(await lab.upstream('legacy')).url}${MATCHED_PATH}`, settle: brief };
    },
  },
  forwarderRow('http-proxy', 'bare http-proxy, keep-alive agent (baseline)'),
  forwarderRow('http-proxy-3', 'bare http-proxy-3, keep-alive agent'),
  forwarderRow('httpxy', 'bare httpxy, keep-alive agent'),
  forwarderRow('node-http', 'bare node:http request piped, keep-alive agent'),
  forwarderRow('undici', 'bare undici dispatch handler, keep-alive pool'),
  nginxRow('nginx', 'nginx reverse proxy (1 worker, keep-alive upstream)'),
  nginxRow('nginx-mirror', 'nginx mirror to a second upstream', 'mirror'),
  cutoverRow('cutover-legacy', 'Cutover legacy (default configuration: an access line per request)', { stage: 'legacy', newSide: 'fast' }),
  cutoverRow('cutover-legacy-warn', 'Cutover legacy, log.level warn (no access line)', { stage: 'legacy', newSide: 'fast', logLevel: 'warn' }),
  cutoverRow('cutover-legacy-sources', 'Cutover legacy, the sources through tsx (no build)', { stage: 'legacy', newSide: 'fast', entry: ['--import', 'tsx', 'proxy/cli.ts'] }),
  cutoverRow('cutover-unmatched', 'Cutover unmatched path (/other)', { stage: 'legacy', newSide: 'fast', unmatched: true }),
  cutoverRow('cutover-shadow', 'Cutover shadow (100 % mirrored and compared)', { stage: 'shadow', newSide: 'fast' }),
  cutoverRow('cutover-live', 'Cutover live (new side serves, legacy mirrored)', { stage: 'live', newSide: 'fast' }),
  cutoverRow('cutover-complete', 'Cutover complete (new side only)', { stage: 'complete', newSide: 'fast' }),
  cutoverRow('cutover-legacy-lean', `Cutover legacy, memory.heapGrowthPercent ${LEAN_HEAP_GROWTH}`, { stage: 'legacy', newSide: 'fast', heapGrowthPercent: LEAN_HEAP_GROWTH }),
  cutoverRow('cutover-shadow-lean', `Cutover shadow, memory.heapGrowthPercent ${LEAN_HEAP_GROWTH}`, { stage: 'shadow', newSide: 'fast', heapGrowthPercent: LEAN_HEAP_GROWTH }),
  cutoverRow('cutover-shadow-mismatch', 'Cutover shadow, every comparison a mismatch (a bad release: each one kept in the store)', { stage: 'shadow', newSide: 'differs' }),
  cutoverRow('cutover-shadow-slow', 'Cutover shadow, shadow side 2 s slow', { stage: 'shadow', newSide: 'slow' }),
  nginxRow('nginx-mirror-slow', 'nginx mirror, mirror side 2 s slow', 'slow'),
  cutoverRow('cutover-shadow-refused', 'Cutover shadow, shadow side refused', { stage: 'shadow', newSide: 'refused' }),
  nginxRow('nginx-mirror-refused', 'nginx mirror, mirror side refused', 'refused'),
];

export const BASELINE = 'http-proxy';
