/**
 * Writes the dashboards of dashboards/src to dashboards/*.json:
 *   npx tsx dashboards/src/generate.ts           write them
 *   npx tsx dashboards/src/generate.ts --check   exit 1 when a committed file differs from its code
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { dashboards, fileText } from './index.js';

const folder = new URL('../', import.meta.url);
const check = process.argv.includes('--check');
let stale = 0;
for (const [name, dashboard] of Object.entries(dashboards())) {
  const file = new URL(name, folder);
  const text = fileText(dashboard);
  let committed = '';
  try {
    committed = readFileSync(file, 'utf8');
  } catch {
    // A new dashboard: no file yet.
  }
  if (committed === text) continue;
  if (check) {
    stale += 1;
    console.error(`dashboards/${name} differs from dashboards/src: run npx tsx dashboards/src/generate.ts`);
  } else {
    writeFileSync(file, text);
    console.log(`wrote dashboards/${name}`);
  }
}
process.exitCode = stale > 0 ? 1 : 0;
