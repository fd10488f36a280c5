#!/usr/bin/env node
// Builds dist/ (the compiled proxy and compare/, with type declarations, and the report page's
// files) without ever taking it away from a proxy that runs from it: tsc writes into a folder of
// its own under build/, and each file is then renamed into dist/ (a rename replaces a file in one
// step, so every path of dist/ always holds a whole file); files the new build no longer has are
// removed last. `--if-stale` (npm's `prepare`, which npm install, npm ci, npm pack and npx run)
// builds only when dist/ is older than its sources, so a current checkout is not rebuilt.
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import process from 'node:process';
import { fileURLToPath, URL } from 'node:url';
import { buildIsCurrent } from '../bin/build-state.js';

const root = fileURLToPath(new URL('../', import.meta.url));
const dist = path.join(root, 'dist');

if (process.argv.includes('--if-stale') && buildIsCurrent(root)) {
  process.stderr.write('build: dist/ is current, nothing to build\n');
  process.exit(0);
}

const files = (dir) => readdirSync(dir, { recursive: true, withFileTypes: true })
  .filter((entry) => entry.isFile())
  .map((entry) => path.relative(dir, path.join(entry.parentPath, entry.name)));

// Beside dist/ on the same file system, so that the renames below are renames and not copies.
const next = path.join(root, 'build', `dist-${process.pid}`);
rmSync(next, { recursive: true, force: true });
try {
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  execFileSync(process.execPath, [tsc, '-p', path.join(root, 'tsconfig.build.json'), '--outDir', next], { stdio: 'inherit' });
  cpSync(path.join(root, 'proxy', 'review', 'page'), path.join(next, 'proxy', 'review', 'page'), { recursive: true });
  const built = files(next);
  for (const file of built) {
    mkdirSync(path.dirname(path.join(dist, file)), { recursive: true });
    renameSync(path.join(next, file), path.join(dist, file));
  }
  const kept = new Set(built);
  for (const file of files(dist)) if (!kept.has(file)) rmSync(path.join(dist, file));
} finally {
  rmSync(next, { recursive: true, force: true });
}
