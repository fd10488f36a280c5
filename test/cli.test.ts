import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

function cutover(...args: string[]) {
  const result = spawnSync(process.execPath, ['--import', 'tsx', 'proxy/cli.ts', ...args], { encoding: 'utf8', timeout: 20_000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr.split('\n').filter((line) => line.startsWith('cutover')).join('\n') };
}

describe('the cutover command', function () {
  this.timeout(30_000);
  let dir: string;
  before(() => { dir = mkdtempSync(path.join(tmpdir(), 'cutover-cli-')); });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('diffs two observations with exit 0 on match, 1 on mismatch, 2 on unusable input', () => {
    const legacy = path.join(dir, 'legacy.json');
    const candidate = path.join(dir, 'new.json');
    const rules = path.join(dir, 'rules.json');
    writeFileSync(legacy, JSON.stringify({ status: 200, headers: { 'content-type': 'application/json' }, body: { price: 12.5, at: '2024-01-01T10:00:00.000Z' } }));
    writeFileSync(candidate, JSON.stringify({ status: 200, headers: { 'content-type': 'application/json' }, body: { price: 12.5, at: '2024-01-01T10:00:00Z' } }));
    writeFileSync(rules, JSON.stringify({ timestamps: 'instant' }));

    const mismatch = cutover('diff', legacy, candidate);
    assert.equal(mismatch.status, 1);
    assert.deepEqual(JSON.parse(mismatch.stdout), { verdict: 'mismatch', differences: [{ path: '/at', kind: 'changed', legacy: '2024-01-01T10:00:00.000Z', new: '2024-01-01T10:00:00Z' }] });

    const match = cutover('diff', '--rules', rules, legacy, candidate);
    assert.equal(match.status, 0);
    assert.deepEqual(JSON.parse(match.stdout), { verdict: 'match', differences: [] });

    const unusable = cutover('diff', legacy, path.join(dir, 'absent.json'));
    assert.equal(unusable.status, 2);
    assert.match(unusable.stderr, /^cutover diff: .*absent\.json.*$/);
  });

  it('checks the demo flags, and rejects an unknown command with exit 2', () => {
    const check = cutover('flags', 'check', '--config', 'demo/cutover.yaml');
    assert.equal(check.status, 0, check.stderr);
    const unknown = cutover('launch');
    assert.equal(unknown.status, 2);
    assert.match(unknown.stderr, /^cutover: unknown command "launch"/);
  });
});
