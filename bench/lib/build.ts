import { execFileSync } from 'node:child_process';

/** What production runs (the Terraform task's `npx cutover start`): the build in dist/ when it is current. */
export const CUTOVER_BIN = 'bin/cutover.js';

/** Compiles the proxy first, so that the bench measures the build and not the sources through tsx. */
export function buildProxy(repoRoot: string): void {
  console.log('bench: npm run build');
  execFileSync('npm', ['run', '--silent', 'build'], { cwd: repoRoot, stdio: ['ignore', 'ignore', 'inherit'] });
}
