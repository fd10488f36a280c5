/**
 * Readings of a process from /proc (Linux only): the CPU time it used and its peak resident set
 * size. CPU time is the figure least disturbed by other tenants of a shared machine: a stolen
 * core makes requests slower and fewer, but the work each one costs stays about the same.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';

/** Clock ticks per second, the unit of utime and stime in /proc/PID/stat (100 almost everywhere). */
const TICKS_PER_SECOND = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** The fields of /proc/PID/stat after the command name, which may itself hold spaces and parentheses. */
function statFields(pid: number): string[] {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

/** utime + stime of the whole process (every thread), in microseconds. */
export function cpuMicros(pid: number): number {
  const fields = statFields(pid);
  // Fields 14 and 15 of stat(5); the array starts at field 3 (state).
  const ticks = Number(fields[11]) + Number(fields[12]);
  return (ticks * 1_000_000) / TICKS_PER_SECOND;
}

/** The summed CPU time of several processes (nginx's master and worker, say). */
export function cpuMicrosOf(pids: readonly number[]): number {
  return pids.reduce((sum, pid) => sum + cpuMicros(pid), 0);
}

/**
 * Starts a new peak-RSS window: writing 5 to clear_refs resets VmHWM to the current RSS (Linux
 * 4.0+, needs to own the process). Returns false where that is refused; VmHWM then reads the
 * peak since the process started.
 */
export function resetPeakRss(pid: number): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}

/** VmHWM: the peak resident set size, in KiB. */
export function peakRssKiB(pid: number): number {
  const match = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!match?.[1]) throw new Error(`no VmHWM in /proc/${pid}/status`);
  return Number(match[1]);
}

/** The processes whose parent is `pid` (nginx's workers, forked by the master we started). */
export function childPids(pid: number): number[] {
  const children: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (Number(statFields(Number(entry))[1]) === pid) children.push(Number(entry));
    } catch {
      // The process ended while we looked.
    }
  }
  return children;
}

/** `pid` and every process under it (a proxy's embedded Postgres and that one's own workers). */
export function processTree(pid: number): number[] {
  const tree = [pid];
  for (let at = 0; at < tree.length; at += 1) tree.push(...childPids(tree[at] as number));
  return tree;
}

/** The CPU time of the processes still running among `pids`; one that ended counts nothing. */
function cpuMicrosOfLiving(pids: readonly number[]): number {
  let sum = 0;
  for (const pid of pids) {
    try {
      sum += cpuMicros(pid);
    } catch {
      // It ended between the listing and the reading.
    }
  }
  return sum;
}

/**
 * Waits until `pid` and the processes under it use under `share` of one core over a window of
 * `windowMs`: a process that has started can still be busy starting (a Cutover's embedded store
 * takes 60-80 % of a core for about 12 s after the proxy listens), and that work must not fall
 * into a row's first window. An idle Cutover takes 2-4 %, 5-10 % under `--cpu-prof`. False when
 * they were still busy after `timeoutMs`.
 */
export async function untilIdle(pid: number, { windowMs = 1_000, share = 0.2, timeoutMs = 60_000 } = {}): Promise<boolean> {
  for (const deadline = Date.now() + timeoutMs; Date.now() < deadline;) {
    const pids = processTree(pid);
    const before = cpuMicrosOfLiving(pids);
    await new Promise((resolve) => setTimeout(resolve, windowMs));
    if (cpuMicrosOfLiving(pids) - before < windowMs * 1_000 * share) return true;
  }
  return false;
}
