import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const DEPCRUISE = path.resolve('node_modules/dependency-cruiser/bin/dependency-cruise.mjs');
const RULES = path.resolve('.dependency-cruiser.cjs');

interface Run { status: number | null; output: string }

/** The import check as `npm run lint` runs it, over the folders given, from `cwd`. */
function checkImports(cwd: string, folders: string[]): Run {
  const result = spawnSync(process.execPath, [DEPCRUISE, ...folders, '--config', RULES, '--output-type', 'err'], { cwd, encoding: 'utf8', timeout: 60_000 });
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

  // Each planted import breaks one rule; the check must name every one of them, rule and files.
  const violations: Array<{ rule: string; from: string; to: string; reported?: string }> = [
    { rule: 'no-cycle', from: 'proxy/shadow/a.ts', to: 'proxy/shadow/b.ts' },
    { rule: 'compare-is-pure', from: 'compare/proxy-user.ts', to: 'proxy/http/b.ts' },
    { rule: 'compare-is-pure', from: 'compare/io-user.ts', to: 'node:fs', reported: 'fs' },
    { rule: 'services-stand-alone', from: 'new-services/catalog/a.ts', to: 'proxy/http/b.ts' },
    { rule: 'services-stand-alone', from: 'legacy/a.ts', to: 'compare/b.ts' },
    { rule: 'foundations-import-no-concern', from: 'proxy/http/a.ts', to: 'proxy/traffic/b.ts' },
    { rule: 'config-is-parsed-first', from: 'proxy/config/a.ts', to: 'proxy/decision/b.ts' },
    { rule: 'sides-know-no-path', from: 'proxy/backends/a.ts', to: 'proxy/store/b.ts' },
    { rule: 'the-path-is-a-leaf', from: 'proxy/evidence/a.ts', to: 'proxy/traffic/b.ts' },
    { rule: 'review-and-admin-on-top', from: 'proxy/store/a.ts', to: 'proxy/review/b.ts' },
    { rule: 'commands-for-the-cli', from: 'proxy/review/a.ts', to: 'proxy/commands/b.ts' },
    { rule: 'entry-points-on-top', from: 'proxy/decision/a.ts', to: 'proxy/server.ts' },
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
      assert.match(run.output, new RegExp(`error ${rule}: ${escaped(from)} →\\s*${escaped(reported)}`), `${rule} (${from} -> ${to}) is not reported`);
    }
  });
});
