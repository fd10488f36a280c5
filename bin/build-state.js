// Whether dist/ is a build of the sources beside it. bin/cutover.js runs dist/ only then, and
// `npm run prepare` (scripts/build.js --if-stale) builds only otherwise. The report page's files
// are copied into dist/ as they are, so an edit of one makes the build stale just as a .ts does.
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';

/** What the build is made from: the TypeScript of proxy/ and compare/, and the report page (and the compiler's settings, below). */
function isSource(file) {
  return file.endsWith('.ts') || file.includes(`${path.sep}review${path.sep}page${path.sep}`);
}

function newestSource(root) {
  let newest = Math.max(...['tsconfig.json', 'tsconfig.build.json'].map((file) => statSync(path.join(root, file), { throwIfNoEntry: false })?.mtimeMs ?? 0));
  for (const dir of ['proxy', 'compare']) {
    for (const entry of readdirSync(path.join(root, dir), { recursive: true, withFileTypes: true })) {
      const file = path.join(entry.parentPath, entry.name);
      if (entry.isFile() && isSource(file)) newest = Math.max(newest, statSync(file).mtimeMs);
    }
  }
  return newest;
}

/** The entry point of the build. */
export function compiledEntry(root) {
  return path.join(root, 'dist', 'proxy', 'cli.js');
}

/**
 * True when dist/ exists and nothing it is built from changed since. An installed package carries
 * dist/ and no sources, so its build is current by definition.
 */
export function buildIsCurrent(root) {
  const entry = compiledEntry(root);
  if (!existsSync(entry)) return false;
  if (!existsSync(path.join(root, 'proxy'))) return true;
  return statSync(entry).mtimeMs >= newestSource(root);
}
