import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { openDecider } from '../proxy/decide.js';
import { createLogger } from '../proxy/telemetry/log.js';
import { switchOff } from './support/datafile.js';

const BIN = JSON.parse(readFileSync('package.json', 'utf8')).bin.cutover as string;
const CALLERS = Array.from({ length: 2_000 }, (_, index) => `caller-${index}`);

interface Run { status: number | null; stdout: string; stderr: string }

describe('cutover flags set: a rollout in the local datafile', function () {
  this.timeout(60_000);
  let dir: string;
  let config: string;
  let datafile: string;

  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'cutover-flags-set-'));
    cpSync('demo', dir, { recursive: true, filter: (source) => !source.includes('.data') });
    config = path.join(dir, 'cutover.yaml');
    datafile = path.join(dir, 'optimizely-datafile.json');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const cutover = (...args: string[]): Run => {
    const result = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 30_000 });
    return { status: result.status, stdout: result.stdout, stderr: result.stderr };
  };
  const set = (...args: string[]) => cutover('flags', 'set', ...args, '--config', config);

  /** The stage each caller gets for catalog, as every project decides it (cutover/decide). */
  async function stages(): Promise<Map<string, string>> {
    const decider = await openDecider({ config, log: createLogger('silent') });
    try {
      return new Map(CALLERS.map((caller) => [caller, decider.decide('catalog', caller).stage]));
    } finally {
      await decider.close();
    }
  }
  const share = (decided: Map<string, string>, stage: string) => [...decided.values()].filter((value) => value === stage).length / decided.size;

  it('rolls catalog out to live 10 %, then 50 %, keeping every caller live that was, then to complete; flags check passes each', async () => {
    const tenth = set('catalog', 'live', '10%');
    assert.equal(tenth.status, 0, tenth.stderr);
    assert.match(tenth.stdout, /^cutover flags set: group catalog: live 10 % · shadow 90 % \(rule "catalog_stage" of flag "catalog_migration", revision \d+\)/);
    assert.equal(cutover('flags', 'check', '--config', config).status, 0, 'the datafile written passes flags check');
    const atTen = await stages();
    assert.ok(Math.abs(share(atTen, 'live') - 0.1) < 0.03, `about 10 % live: ${share(atTen, 'live')}`);
    assert.equal(share(atTen, 'live') + share(atTen, 'shadow'), 1, 'the others stay in shadow');

    assert.equal(set('catalog', 'live', '50%').status, 0);
    const atHalf = await stages();
    assert.ok(Math.abs(share(atHalf, 'live') - 0.5) < 0.04, `about half live: ${share(atHalf, 'live')}`);
    const movedBack = CALLERS.filter((caller) => atTen.get(caller) === 'live' && atHalf.get(caller) !== 'live');
    assert.deepEqual(movedBack, [], 'a growing share keeps every caller it had');

    const whole = set('catalog', 'complete');
    assert.equal(whole.status, 0, whole.stderr);
    assert.match(whole.stdout, /group catalog: complete 100 % /);
    assert.equal(share(await stages(), 'complete'), 1);
  });

  it('says so when a change moves callers from the new side back', () => {
    assert.equal(set('catalog', 'live', '50%').status, 0);
    const shrunk = set('catalog', 'live', '20%');
    assert.equal(shrunk.status, 0, shrunk.stderr);
    assert.match(shrunk.stdout, /; 30 % of callers move from the new side back toward legacy$/m);
    assert.doesNotMatch(set('catalog', 'live', '40%').stdout, /move from the new side back/, 'growing moves nobody back');
  });

  it('refuses a stage the rule has no variation for (exit 2, one line naming the rule), writing nothing', () => {
    const without = JSON.parse(readFileSync(datafile, 'utf8')) as { rollouts: Array<{ experiments: Array<{ variations: Array<{ key: string }> }> }> };
    for (const rollout of without.rollouts) for (const rule of rollout.experiments) rule.variations = rule.variations.filter((variation) => variation.key !== 'live');
    writeFileSync(datafile, JSON.stringify(without));
    const before = readFileSync(datafile, 'utf8');
    const run = set('catalog', 'live', '10%');
    assert.equal(run.status, 2, run.stderr);
    assert.match(run.stderr, /^cutover flags set: rule "catalog_stage" of flag "catalog_migration" has no variation "live"\n$/);
    assert.equal(readFileSync(datafile, 'utf8'), before);
  });

  it('writes nothing when the datafile it would write fails flags check (exit 1, one line naming why)', () => {
    switchOff(datafile, 'complete');
    const before = readFileSync(datafile, 'utf8');
    const run = set('catalog', 'live', '10%');
    assert.equal(run.status, 1, run.stderr);
    assert.match(run.stderr, /^cutover flags set: nothing written, the result would not pass flags check: group catalog: variation "complete" of flag "catalog_migration" is disabled/);
    assert.equal(run.stderr.trim().split('\n').length, 1, 'one line');
    assert.equal(readFileSync(datafile, 'utf8'), before);
  });

  it('refuses what it cannot do with one line and exit 2, the datafile untouched', () => {
    const before = readFileSync(datafile, 'utf8');
    for (const [args, message] of [
      [['catalog', 'half-live'], /"half-live" is not a stage/],
      [['catalog', 'live', '0%'], /the share must be above 0 and at most 100 %/],
      [['catalog', 'live', '150%'], /the share must be above 0 and at most 100 %/],
      [['catalog', 'live', 'ten'], /the share must be a percentage such as 10%: ten/],
      [['kennel', 'live', '10%'], /no group "kennel"/],
    ] as const) {
      const run = set(...args);
      assert.equal(run.status, 2, `${args.join(' ')}: ${run.stderr}`);
      assert.match(run.stderr, message);
      assert.equal(run.stderr.trim().split('\n').length, 1, 'one line');
    }
    assert.equal(readFileSync(datafile, 'utf8'), before);
  });
});
