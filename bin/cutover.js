#!/usr/bin/env node
// `npx cutover`: runs the compiled proxy in dist/, which `npm run build` writes (`npm install` and
// `npm ci` run it too, when it is stale): no tsx loader in the process, which keeps about 40 MB of
// resident memory out of it (docs/performance.md). In a checkout whose build is missing or
// older than its sources (bin/build-state.js), the TypeScript sources run through tsx, and
// `cutover start` then says so. The installed package has no sources and always runs dist/.
import { fileURLToPath, pathToFileURL, URL } from 'node:url';
import { buildIsCurrent, compiledEntry } from './build-state.js';

const root = fileURLToPath(new URL('../', import.meta.url));

if (buildIsCurrent(root)) {
  await import(pathToFileURL(compiledEntry(root)).href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../proxy/cli.ts');
}
