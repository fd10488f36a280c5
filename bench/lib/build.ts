import { type ChildProcess, execFileSync, spawn } from 'node:child_process';

/** The command, which runs the build in dist/ when it is current, as the image's `node dist/proxy/cli.js` does. */
export const CUTOVER_BIN = 'bin/cutover.js';

/** Compiles the proxy first, so that the bench measures the build and not the sources through tsx. */
export function buildProxy(repoRoot: string): void {
  console.log('bench: npm run build');
  execFileSync('npm', ['run', '--silent', 'build'], { cwd: repoRoot, stdio: ['ignore', 'ignore', 'inherit'] });
}

/** Starts `cutover start` on a configuration file and reads its two URLs from its first line; its output is drained after that. */
export function startCutoverProcess(config: string, env: NodeJS.ProcessEnv = process.env): Promise<{ child: ChildProcess; traffic: string; admin: string }> {
  const child = spawn(process.execPath, [CUTOVER_BIN, 'start', '--config', config], { stdio: ['ignore', 'pipe', 'inherit'], env });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (chunk) => {
      out += String(chunk);
      const urls = /traffic on (\S+), admin on (\S+)/.exec(out);
      if (urls?.[1] && urls[2]) resolve({ child, traffic: urls[1], admin: urls[2] });
    });
    child.once('exit', () => reject(new Error(`the proxy did not start: ${out}`)));
  });
}
