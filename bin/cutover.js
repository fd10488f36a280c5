#!/usr/bin/env node
// `npx cutover`: runs the compiled proxy in dist/, which `npm run build` writes (`npm install` and
// `npm ci` run it too): no tsx loader in the process, which keeps about 40 MB of resident memory
// out of it (README, "Measured figures"). The TypeScript sources run through tsx only when the
// build is missing or older than them, and `cutover start` then says so.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { fileURLToPath, URL } from 'node:url';

const root = fileURLToPath(new URL('../', import.meta.url));
const compiled = new URL('../dist/proxy/cli.js', import.meta.url);

/** The latest change to the sources the build compiles. */
function newestSource() {
  let newest = 0;
  for (const dir of ['proxy', 'compare']) {
    for (const entry of readdirSync(`${root}${dir}`, { recursive: true, withFileTypes: true })) {
      if (entry.isFile() && entry.name.endsWith('.ts')) newest = Math.max(newest, statSync(`${entry.parentPath}/${entry.name}`).mtimeMs);
    }
  }
  return newest;
}

if (existsSync(compiled) && statSync(compiled).mtimeMs >= newestSource()) {
  await import(compiled.href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../proxy/cli.ts');
}
