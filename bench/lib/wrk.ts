/** The load generator: Debian's `wrk`, one thread, a fixed number of keep-alive connections, for a fixed time. */
import { fileURLToPath } from 'node:url';
import type { Children } from './children.js';

export interface WrkResult {
  readonly requests: number;
  readonly seconds: number;
  readonly requestsPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** Connect, read, write errors and timeouts, plus answers that were not 2xx or 3xx. */
  readonly errors: number;
}

export interface WrkOptions {
  readonly url: string;
  readonly seconds: number;
  readonly connections: number;
  /**
   * Past this wrk counts a request as a timeout. Its default (2 s) would turn the "shadow side
   * slow" rows into errors instead of the latency they are meant to show.
   */
  readonly timeoutSeconds?: number;
}

/** Sends each request as one of many returning callers (see the script). */
const CALLERS = fileURLToPath(new URL('./callers.lua', import.meta.url));
/** How many returning callers the script cycles through, each run from the first. */
export const RETURNING_CALLERS = 10_000;

const UNIT_MS: Record<string, number> = { us: 0.001, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** `1.23ms`, `850.00us`, `2.01s` as milliseconds. */
function milliseconds(text: string): number {
  const match = /^([\d.]+)(us|ms|s|m|h)$/.exec(text);
  if (!match?.[1] || !match[2]) throw new Error(`wrk: cannot read the duration "${text}"`);
  return Number(match[1]) * (UNIT_MS[match[2]] ?? Number.NaN);
}

function required(output: string, pattern: RegExp, what: string): RegExpExecArray {
  const match = pattern.exec(output);
  if (!match) throw new Error(`wrk: no ${what} in its output:\n${output}`);
  return match;
}

/** Reads wrk's report (with `--latency`). */
export function parseWrk(output: string): WrkResult {
  const total = required(output, /(\d+) requests in ([\d.]+)(us|ms|s|m),/, 'request count');
  const perSecond = required(output, /Requests\/sec:\s+([\d.]+)/, 'Requests/sec');
  const p50 = required(output, /^\s+50%\s+(\S+)\s*$/m, '50th percentile (was --latency given?)');
  const p99 = required(output, /^\s+99%\s+(\S+)\s*$/m, '99th percentile');
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(output);
  const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(output);
  const socketErrors = socket ? socket.slice(1).reduce((sum, count) => sum + Number(count), 0) : 0;
  return {
    requests: Number(total[1]),
    seconds: milliseconds(`${total[2]}${total[3]}`) / 1000,
    requestsPerSecond: Number(perSecond[1]),
    p50Ms: milliseconds(p50[1] as string),
    p99Ms: milliseconds(p99[1] as string),
    errors: socketErrors + Number(non2xx?.[1] ?? 0),
  };
}

export async function runWrk(children: Children, options: WrkOptions): Promise<WrkResult> {
  const args = [
    '-t1', `-c${options.connections}`, `-d${options.seconds}s`, `--timeout`, `${options.timeoutSeconds ?? 10}s`, '--latency',
    '--script', CALLERS, options.url,
  ];
  const { code, stdout, stderr } = await children.run('wrk', args);
  if (code !== 0) throw new Error(`wrk ${args.join(' ')} exited ${code}: ${stderr || stdout}`);
  return parseWrk(stdout);
}
