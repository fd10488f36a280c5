import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { diffCommand } from '../proxy/commands/diff.js';

const fixtures = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'compare');
const fixture = (name: string) => path.join(fixtures, name);

interface Run { readonly code: number; readonly stdout: string; readonly stderr: string }

/** Runs the command against an in-memory file system (plus the fixtures on disk). */
async function run(args: string[], files: Record<string, string> = {}): Promise<Run> {
  let stdout = '', stderr = '';
  const code = await diffCommand(args, {
    stdout: (text) => { stdout += text; },
    stderr: (text) => { stderr += text; },
    readFile: async (file) => (file in files ? files[file] as string : readFile(file, 'utf8')),
  });
  return { code, stdout, stderr };
}

const observation = (body: unknown, status = 200, headers: Record<string, string> = { 'content-type': 'application/json' }) => JSON.stringify({ status, headers, body });

describe('cutover diff', () => {
  it('exits 0 and prints a match under the rules of docs/architecture.md', async () => {
    const result = await run(['--rules', fixture('rules.json'), fixture('legacy.json'), fixture('new.json')]);
    assert.equal(result.stderr, '');
    assert.deepEqual(JSON.parse(result.stdout), { verdict: 'match', differences: [] });
    assert.equal(result.code, 0);
  });

  it('exits 1 and prints every difference as path, kind, legacy, new', async () => {
    const result = await run(['a.json', 'b.json'], {
      'a.json': observation({ id: '1', price: 12.5, gone: true }, 200),
      'b.json': observation({ id: '1', price: '12.50', added: [1] }, 201),
    });
    assert.equal(result.code, 1);
    assert.deepEqual(JSON.parse(result.stdout), {
      verdict: 'mismatch',
      differences: [
        { path: '/status', kind: 'status', legacy: 200, new: 201 },
        { path: '/added', kind: 'added', legacy: null, new: [1] },
        { path: '/gone', kind: 'removed', legacy: true, new: null },
        { path: '/price', kind: 'type', legacy: 12.5, new: '12.50' },
      ],
    });
  });

  it('without rules the fixtures differ, field by field', async () => {
    const result = await run([fixture('legacy.json'), fixture('new.json')]);
    assert.equal(result.code, 1);
    const { differences } = JSON.parse(result.stdout) as { differences: Array<{ path: string }> };
    assert.ok(differences.some((difference) => difference.path === '/meta'), 'the removed meta member is listed');
  });

  it('parses a string body when the content type is JSON, and compares it as text otherwise', async () => {
    const files = {
      'json.json': JSON.stringify({ status: 200, headers: { 'Content-Type': 'application/vnd.api+json' }, body: '{"a": 1}' }),
      'value.json': observation({ a: 1 }),
      'text.json': JSON.stringify({ status: 200, headers: { 'content-type': 'text/plain' }, body: '{"a": 1}' }),
      'text2.json': JSON.stringify({ status: 200, headers: { 'content-type': 'text/plain' }, body: '{"a":1}' }),
    };
    assert.equal((await run(['json.json', 'value.json'], files)).code, 0);
    assert.equal((await run(['text.json', 'text2.json'], files)).code, 1);
  });

  it('compares the status of observations without a body or headers', async () => {
    const result = await run(['a.json', 'b.json'], { 'a.json': '{"status": 204}', 'b.json': '{"status": 404}' });
    assert.equal(result.code, 1);
    assert.deepEqual(JSON.parse(result.stdout).differences, [{ path: '/status', kind: 'status', legacy: 204, new: 404 }]);
  });

  const unusable: Array<[string, string[], Record<string, string>, RegExp]> = [
    ['an unreadable file', ['missing.json', 'b.json'], { 'b.json': observation({}) }, /^cutover diff: missing\.json: cannot read \(ENOENT\)$/],
    ['invalid JSON', ['a.json', 'b.json'], { 'a.json': '{"status": 200,', 'b.json': observation({}) }, /^cutover diff: a\.json: not valid JSON: /],
    ['an unreadable rules file', ['--rules', 'nope.json', 'a.json', 'b.json'], {}, /^cutover diff: nope\.json: cannot read \(ENOENT\)$/],
    ['rules that are not JSON', ['--rules', 'r.json', 'a.json', 'b.json'], { 'r.json': 'ignore: [/a]' }, /^cutover diff: r\.json: not valid JSON: /],
    ['rules with an unknown key', ['--rules', 'r.json', 'a.json', 'b.json'], { 'r.json': '{"ignores": ["/a"]}' }, /^cutover diff: r\.json: rules: unknown key "ignores"$/],
    ['rules with a malformed pointer', ['--rules', 'r.json', 'a.json', 'b.json'], { 'r.json': '{"ignore": ["meta/requestId"]}' }, /^cutover diff: r\.json: ignore\[0\]: "meta\/requestId" is not a JSON Pointer/],
    ['an observation without a status', ['a.json', 'b.json'], { 'a.json': '{"body": {}}', 'b.json': observation({}) }, /^cutover diff: a\.json: status: /],
    ['an observation with an unknown key', ['a.json', 'b.json'], { 'a.json': '{"status": 200, "statusCode": 200}', 'b.json': observation({}) }, /^cutover diff: a\.json: \(top level\): unknown key "statusCode"$/],
    ['an observation that is not an object', ['a.json', 'b.json'], { 'a.json': '[]', 'b.json': observation({}) }, /^cutover diff: a\.json: \(top level\): /],
    ['one file only', ['a.json'], {}, /^cutover diff: two observation files are needed \(usage: cutover diff \[--rules FILE\] \[--explain\] LEGACY\.json NEW\.json\)$/],
    ['three files', ['a.json', 'b.json', 'c.json'], {}, /^cutover diff: two observation files are needed/],
    ['an unknown option', ['--rule', 'r.json', 'a.json', 'b.json'], {}, /^cutover diff: Unknown option '--rule' \(usage: /],
    ['--rules without a file', ['a.json', 'b.json', '--rules'], {}, /^cutover diff: Option '--rules <value>' argument missing/],
  ];
  for (const [what, args, files, message] of unusable) {
    it(`exits 2 with one line on stderr for ${what}`, async () => {
      const result = await run(args, files);
      assert.equal(result.code, 2);
      assert.equal(result.stdout, '');
      assert.match(result.stderr.replace(/\n$/, ''), message);
      assert.match(result.stderr, /^[^\n]*\n$/, 'one line');
    });
  }

  it('compares numbers exactly and shows a number a double cannot hold as {"$number": its text}', async () => {
    const result = await run(['a.json', 'b.json'], {
      'a.json': '{"status": 200, "headers": {"content-type": "application/json"}, "body": {"id": 12345678901234567890, "n": 9007199254740993, "price": 12.50}}',
      'b.json': '{"status": 200, "headers": {"content-type": "application/json"}, "body": {"id": 12345678901234567891, "n": 9007199254740992, "price": 12.5}}',
    });
    assert.equal(result.code, 1);
    assert.deepEqual(JSON.parse(result.stdout).differences, [
      { path: '/id', kind: 'changed', legacy: { $number: '12345678901234567890' }, new: { $number: '12345678901234567891' } },
      { path: '/n', kind: 'changed', legacy: { $number: '9007199254740993' }, new: 9007199254740992 },
    ]);
  });

  it('reads a string body with a JSON type exactly too', async () => {
    const result = await run(['a.json', 'b.json'], {
      'a.json': JSON.stringify({ status: 200, headers: { 'content-type': 'application/json' }, body: '{"id": 12345678901234567890}' }),
      'b.json': JSON.stringify({ status: 200, headers: { 'content-type': 'application/json' }, body: '{"id": 12345678901234567891}' }),
    });
    assert.equal(result.code, 1);
  });

  it('reports a duplicate key in a body, whatever the content type', async () => {
    const result = await run(['a.json', 'b.json'], { 'a.json': '{"status": 200, "body": {"total": 10, "total": 99}}', 'b.json': '{"status": 200, "body": {"total": 99}}' });
    assert.equal(result.code, 1);
    assert.deepEqual(JSON.parse(result.stdout), { verdict: 'mismatch', differences: [{ path: '/total', kind: 'duplicate_key', legacy: [10, 99], new: null }] });
  });

  it('exits 2 with the limit that two 10,000-deep documents pass, on one line', async () => {
    const deep = `{"status": 200, "body": ${'['.repeat(10_000)}${']'.repeat(10_000)}}`;
    const result = await run(['a.json', 'b.json'], { 'a.json': deep, 'b.json': deep });
    assert.equal(result.code, 2);
    assert.equal(result.stdout, '');
    assert.equal(result.stderr, 'cutover diff: legacy body: JSON nested deeper than 256 levels; new body: JSON nested deeper than 256 levels\n');
  });

  describe('--explain', () => {
    const files = {
      'r.json': JSON.stringify({ ignore: ['/meta/requestId'], numericTolerance: 0.01, unordered: [{ path: '/tags' }] }),
      'a.json': '{"status": 200, "body": {"meta": {"requestId": "r1"}, "price": 1, "id": 12345678901234567890, "tags": ["x", "y"], "name": "Bowl"}}',
      'b.json': '{"status": 200, "body": {"meta": {"requestId": "r2"}, "price": 1.004, "id": 12345678901234567890, "tags": ["y", "x"], "name": "Dog bowl"}}',
    };

    it('lists what the rules hid, each with its rule', async () => {
      const result = await run(['--explain', '--rules', 'r.json', 'a.json', 'b.json'], files);
      assert.equal(result.code, 1);
      assert.deepEqual(JSON.parse(result.stdout), {
        verdict: 'mismatch',
        differences: [{ path: '/name', kind: 'changed', legacy: 'Bowl', new: 'Dog bowl' }],
        hidden: [
          { path: '/meta/requestId', kind: 'changed', legacy: 'r1', new: 'r2', rule: 'ignore: /meta/requestId' },
          { path: '/price', kind: 'changed', legacy: 1, new: 1.004, rule: 'numericTolerance: 0.01' },
          { path: '/tags', kind: 'changed', legacy: ['x', 'y'], new: ['y', 'x'], rule: 'unordered: /tags' },
        ],
      });
    });

    it('lists an empty hidden on a match without rules, and nothing new without --explain', async () => {
      const same = { 'a.json': '{"status": 200, "body": {"a": 1}}', 'b.json': '{"status": 200, "body": {"a": 1}}' };
      assert.deepEqual(JSON.parse((await run(['a.json', 'b.json', '--explain'], same)).stdout), { verdict: 'match', differences: [], hidden: [] });
      assert.deepEqual(JSON.parse((await run(['--rules', 'r.json', 'a.json', 'b.json'], files)).stdout).hidden, undefined);
    });

    it('is in the command\'s --help', () => {
      const child = spawnSync(process.execPath, ['bin/cutover.js', 'diff', '--help'], { encoding: 'utf8', timeout: 20_000 });
      assert.equal(child.status, 0, child.stderr);
      assert.match(child.stdout, /--explain/);
      assert.match(child.stdout, /"hidden"/);
    });
  });

  it('reads real files through the io it is given', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'cutover-diff-'));
    try {
      writeFileSync(path.join(dir, 'a.json'), observation({ a: 1 }));
      writeFileSync(path.join(dir, 'b.json'), observation({ a: 2 }));
      const result = await run([path.join(dir, 'a.json'), path.join(dir, 'b.json')]);
      assert.equal(result.code, 1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('runs as a process with the documented exit code', () => {
    const script = `import { readFile } from 'node:fs/promises';
      import { diffCommand } from ${JSON.stringify(path.join(fixtures, '..', '..', '..', 'proxy', 'commands', 'diff.ts'))};
      process.exitCode = await diffCommand(process.argv.slice(1), { stdout: (t) => process.stdout.write(t), stderr: (t) => process.stderr.write(t), readFile: (f) => readFile(f, 'utf8') });`;
    const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script, '--', '--rules', fixture('rules.json'), fixture('legacy.json'), fixture('new.json')], { encoding: 'utf8' });
    assert.equal(child.status, 0, child.stderr);
    assert.equal(JSON.parse(child.stdout).verdict, 'match');
  });
});
