/**
 * The bench's outside tools, nginx and wrk, installed from Debian when missing and the bench runs
 * as root; otherwise it says what is missing (wrk is required, the nginx rows are skipped).
 */
import { spawnSync } from 'node:child_process';

export interface Tools {
  readonly wrk: boolean;
  readonly nginx: boolean;
  /** What was done or is missing, for the console and the report's header. */
  readonly notes: string[];
  readonly versions: Readonly<Record<string, string>>;
}

function installed(command: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;
}

function apt(args: string[]): { ok: boolean; output: string } {
  const result = spawnSync('apt-get', args, { encoding: 'utf8', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  return { ok: result.status === 0, output: `${result.stdout ?? ''}${result.stderr ?? ''}${result.error?.message ?? ''}` };
}

/** apt-get install; on failure (often a stale or empty package list) apt-get update and once more. */
function install(packages: string[], notes: string[]): void {
  console.log(`bench: installing ${packages.join(' ')} (apt-get install -y)`);
  let result = apt(['install', '-y', ...packages]);
  if (!result.ok) {
    console.log('bench: apt-get install failed; apt-get update, then again');
    const update = apt(['update']);
    if (!update.ok) notes.push(`apt-get update failed: ${update.output.trim().split('\n').slice(-1)[0] ?? ''}`);
    result = apt(['install', '-y', ...packages]);
  }
  notes.push(result.ok ? `installed ${packages.join(' ')} with apt-get` : `apt-get install ${packages.join(' ')} failed: ${result.output.trim().split('\n').slice(-2).join(' ')}`);
}

/** `nginx -v` and `wrk -v` print their version on stderr, and wrk then exits 1. */
function version(command: string, pattern: RegExp): string {
  const result = spawnSync(command, ['-v'], { encoding: 'utf8' });
  return pattern.exec(`${result.stdout ?? ''}${result.stderr ?? ''}`)?.[0] ?? 'unknown version';
}

/**
 * One command from the Debian package of its name: installed when missing and the bench runs as
 * root; otherwise false, with what to install in `notes`.
 */
export function ensureCommand(command: string, notes: string[]): boolean {
  if (!installed(command)) {
    if (process.getuid?.() === 0) install([command], notes);
    else notes.push(`${command} is not installed, and the bench is not root: install it with "apt-get install -y ${command}"`);
  }
  return installed(command);
}

export function ensureTools(): Tools {
  const notes: string[] = [];
  const missing = ['nginx', 'wrk'].filter((command) => !installed(command));
  if (missing.length > 0) {
    if (process.getuid?.() === 0) install(missing, notes);
    else notes.push(`${missing.join(' and ')} not installed, and the bench is not root: install with "apt-get install -y ${missing.join(' ')}"`);
  }
  const tools = { wrk: installed('wrk'), nginx: installed('nginx') };
  if (!tools.nginx) notes.push('nginx is missing: its rows are skipped');
  if (!tools.wrk) notes.push('wrk is missing: nothing can be measured');
  const versions: Record<string, string> = {};
  if (tools.nginx) versions.nginx = version('nginx', /nginx\/\S+/);
  if (tools.wrk) versions.wrk = version('wrk', /wrk \S+/);
  return { ...tools, notes, versions };
}
