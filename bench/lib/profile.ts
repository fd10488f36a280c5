/**
 * Reading of a V8 CPU profile (`node --cpu-prof`): the functions that spent the most time on the
 * CPU themselves (self time, not counting what they called), the place to start optimising.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
}

interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  /** Microseconds between consecutive samples; the first is from the profile's start. */
  readonly timeDeltas: readonly number[];
}

export interface HotFunction {
  /** `name file:line`. */
  readonly where: string;
  readonly selfMs: number;
  /** Of the time the thread was busy (not idle). */
  readonly share: number;
}

export interface ProfileSummary {
  readonly file: string;
  readonly sampledMs: number;
  readonly idleMs: number;
  readonly top: readonly HotFunction[];
}

/** Paths as a reader finds them: relative to the repository, or from the package on in node_modules. */
function shortUrl(url: string, repoRoot: string): string {
  const file = url.replace(/^file:\/\//, '');
  const inModules = file.lastIndexOf('/node_modules/');
  if (inModules >= 0) return file.slice(inModules + '/node_modules/'.length);
  return file.startsWith(repoRoot) ? path.relative(repoRoot, file) : file;
}

function label(node: ProfileNode, repoRoot: string): string {
  const { functionName, url, lineNumber } = node.callFrame;
  const name = functionName || '(anonymous)';
  if (!url) return name;
  // tsx hands V8 our TypeScript with its whitespace minified (a module on a line or two): there
  // the line number says nothing, and a reader finds the function by its name.
  return url.endsWith('.ts') ? `${name} ${shortUrl(url, repoRoot)}` : `${name} ${shortUrl(url, repoRoot)}:${lineNumber + 1}`;
}

export function summarizeProfile(file: string, repoRoot: string, count: number): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const selfMicros = new Map<string, number>();
  // Each delta is the time up to its sample, charged to the function that sample found running.
  profile.samples.forEach((id, index) => {
    const node = byId.get(id);
    if (!node) return;
    const key = label(node, repoRoot);
    selfMicros.set(key, (selfMicros.get(key) ?? 0) + (profile.timeDeltas[index] ?? 0));
  });
  const sampled = [...selfMicros.values()].reduce((sum, micros) => sum + micros, 0);
  const idle = selfMicros.get('(idle)') ?? 0;
  const busy = Math.max(1, sampled - idle);
  const top = [...selfMicros.entries()]
    .filter(([where]) => where !== '(idle)')
    .sort((a, b) => b[1] - a[1])
    .slice(0, count)
    .map(([where, micros]) => ({ where, selfMs: micros / 1000, share: micros / busy }));
  return { file, sampledMs: sampled / 1000, idleMs: idle / 1000, top };
}

/**
 * The profile of the main thread among those `--cpu-prof` wrote to `dir`
 * (CPU.<date>.<time>.<pid>.<thread>.<seq>.cpuprofile, the main thread is 0); worker threads
 * (large-body comparisons) write their own.
 */
export function mainThreadProfile(dir: string, pid: number): string | undefined {
  const file = readdirSync(dir).find((name) => name.includes(`.${pid}.0.`) && name.endsWith('.cpuprofile'));
  return file === undefined ? undefined : path.join(dir, file);
}
