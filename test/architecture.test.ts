import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';

const DEPCRUISE = path.resolve('node_modules/dependency-cruiser/bin/dependency-cruise.mjs');
const RULES = path.resolve('.dependency-cruiser.cjs');

interface Rule { name: string; from: { path?: string }; to: { path?: string; pathNot?: string[] } }
const { forbidden } = createRequire(import.meta.url)(RULES) as { forbidden: Rule[] };

/** docs/architecture.md's table of proxy/'s folders: the files each names, and the folders it may import. */
function folderMap(): Map<string, { files: string[]; mayImport: string[] }> {
  const map = new Map<string, { files: string[]; mayImport: string[] }>();
  for (const line of readFileSync('docs/architecture.md', 'utf8').split('\n')) {
    const cells = line.split(' | ');
    const folder = /^\| `(proxy\/(?:[a-z]+\/)?)`$/.exec(cells[0] ?? '')?.[1];
    if (!folder || cells.length < 4) continue;
    const names = (cell: string) => [...cell.matchAll(/`([^`]+)`/g)].map((match) => match[1] as string);
    map.set(folder, { files: names(cells[1] as string).map((name) => `${folder}${name}`), mayImport: names((cells[3] as string).split(';')[0] as string).filter((name) => /^[a-z]+\/$/.test(name) && name !== 'compare/') });
  }
  return map;
}

interface Run { status: number | null; output: string }

/** The import check as `npm run lint` runs it, over the folders given, from `cwd`. */
function checkImports(cwd: string, folders: string[]): Run {
  // NO_COLOR: with CI set, its colour detection would colour the lines read here.
  const result = spawnSync(process.execPath, [DEPCRUISE, ...folders, '--config', RULES, '--output-type', 'err'], { cwd, encoding: 'utf8', timeout: 60_000, env: { ...process.env, NO_COLOR: '1' } });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

/**
 * A scratch tree laid out like the project, with the files given (path -> the relative modules it
 * imports); every other file imports nothing. One planted violation a tree.
 */
function plant(files: Record<string, string[]>): string {
  const root = mkdtempSync(path.join(tmpdir(), 'cutover-imports-'));
  copyFileSync('tsconfig.json', path.join(root, 'tsconfig.json'));
  for (const [file, imports] of Object.entries(files)) {
    mkdirSync(path.join(root, path.dirname(file)), { recursive: true });
    writeFileSync(path.join(root, file), `${imports.map((name, i) => `import * as m${i} from '${name}';\nvoid m${i};\n`).join('')}export const here = '${file}';\n`);
  }
  return root;
}

describe('the import rules (npm run lint)', function () {
  this.timeout(120_000);
  const scratch: string[] = [];
  after(() => { for (const dir of scratch) rmSync(dir, { recursive: true, force: true }); });

  it('hold for the project as it stands, over every folder of the proxy', () => {
    const folders = readdirSync('proxy', { withFileTypes: true }).filter((entry) => entry.isDirectory()).map((entry) => entry.name);
    assert.ok(folders.length >= 8, `proxy/ has its concerns in folders: ${folders.join(', ')}`);
    const run = checkImports(process.cwd(), ['proxy', 'compare', 'new-services', 'legacy', 'demo', 'bench']);
    assert.equal(run.status, 0, run.output);
  });

  it('are the folder map of docs/architecture.md: every folder\'s may-import list, and every file of proxy/ named once', () => {
    const map = folderMap();
    const folders = readdirSync('proxy', { withFileTypes: true }).filter((entry) => entry.isDirectory()).map((entry) => `proxy/${entry.name}/`);
    assert.deepEqual([...map.keys()].sort(), ['proxy/', ...folders].sort(), 'a row for the entry points and for every folder');
    for (const folder of folders) {
      const rule = forbidden.find((candidate) => candidate.name === `proxy-${folder.slice('proxy/'.length, -1)}`);
      assert.ok(rule, `.dependency-cruiser.cjs has a rule for ${folder}`);
      const allowed = (rule.to.pathNot ?? []).map((pattern) => pattern.replace(/^\^proxy\//, '')).filter((name) => `proxy/${name}` !== folder);
      assert.deepEqual(map.get(folder)?.mayImport.sort(), allowed.sort(), `what docs/architecture.md says ${folder} may import`);
    }
    const tracked = spawnSync('git', ['ls-files', 'proxy'], { encoding: 'utf8' }).stdout.split('\n').filter((file) => file !== '' && !file.endsWith('/README.md'));
    assert.ok(tracked.length > 40, `git ls-files proxy lists the proxy's files (${tracked.length})`);
    const named = [...map.values()].flatMap((row) => row.files);
    for (const name of named) assert.ok(existsSync(name), `docs/architecture.md names ${name}, which does not exist`);
    const covered = (file: string) => named.some((name) => name === file || (name.endsWith('/') && file.startsWith(name)));
    assert.deepEqual(tracked.filter((file) => !covered(file)), [], 'files of proxy/ that the folder map does not name');
  });

  // Each planted import breaks one rule; the check must name every one of them, rule and files.
  const violations: Array<{ rule: string; from: string; to: string; reported?: string }> = [
    { rule: 'no-cycle', from: 'proxy/shadow/a.ts', to: 'proxy/shadow/b.ts' },
    { rule: 'compare-is-pure', from: 'compare/proxy-user.ts', to: 'proxy/http/b.ts' },
    { rule: 'compare-is-pure', from: 'compare/io-user.ts', to: 'node:fs', reported: 'fs' },
    { rule: 'services-stand-alone', from: 'new-services/catalog/a.ts', to: 'proxy/http/b.ts' },
    { rule: 'services-stand-alone', from: 'legacy/a.ts', to: 'compare/b.ts' },
    { rule: 'entry-points-on-top', from: 'proxy/decision/a.ts', to: 'proxy/server.ts' },
    { rule: 'proxy-http', from: 'proxy/http/a.ts', to: 'proxy/traffic/b.ts' },
    { rule: 'proxy-config', from: 'proxy/config/a.ts', to: 'proxy/decision/b.ts' },
    { rule: 'proxy-backends', from: 'proxy/backends/a.ts', to: 'proxy/store/b.ts' },
    { rule: 'proxy-evidence', from: 'proxy/evidence/a.ts', to: 'proxy/traffic/b.ts' },
    { rule: 'proxy-store', from: 'proxy/store/a.ts', to: 'proxy/review/b.ts' },
    { rule: 'proxy-review', from: 'proxy/review/a.ts', to: 'proxy/commands/b.ts' },
  ];

  it('fail on each planted violation, naming its rule and its files', () => {
    const files: Record<string, string[]> = { 'proxy/shadow/b.ts': ['./a.js'] };
    for (const { from, to } of violations) {
      files[to] ??= [];
      const target = to.startsWith('node:') ? to : path.relative(path.dirname(from), to).replace(/\.ts$/, '.js');
      (files[from] ??= []).push(target.startsWith('.') || target.startsWith('node:') ? target : `./${target}`);
    }
    const root = plant(files);
    scratch.push(root);
    const run = checkImports(root, ['proxy', 'compare', 'new-services', 'legacy']);
    assert.notEqual(run.status, 0, `the check passed planted violations:\n${run.output}`);
    const escaped = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    for (const { rule, from, to, reported = to } of violations) {
      // A cycle is reported from whichever of its files the cruise meets first.
      const named = rule === 'no-cycle' ? `(${escaped(from)} →\\s*${escaped(reported)}|${escaped(reported)} →\\s*${escaped(from)})` : `${escaped(from)} →\\s*${escaped(reported)}`;
      assert.match(run.output, new RegExp(`error ${rule}: ${named}`), `${rule} (${from} -> ${to}) is not reported`);
    }
  });
});
