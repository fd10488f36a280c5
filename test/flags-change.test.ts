import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { flagsCheckCommand } from '../proxy/commands/flags-check.js';
import { checkChange, type Datafile } from '../proxy/decision/datafile/check.js';
import { buildDatafile, type FlagSpec } from './support/datafile.js';

const GROUPS = [{ name: 'orders', flag: 'orders_flag' }];
const live = (percent: number, key = 'canary'): FlagSpec => ({ key: 'orders_flag', rules: [{ key, variation: 'live', percent }], everyoneElse: 'shadow' });
const datafile = (spec: FlagSpec) => buildDatafile([spec]) as Datafile;

describe('cutover flags check --previous: rule changes that move callers back', () => {
  it('lets a live rule grow, and the stages that serve legacy change freely', () => {
    assert.deepEqual(checkChange(datafile(live(10)), datafile(live(25)), GROUPS), []);
    assert.deepEqual(checkChange(datafile(live(10)), datafile({ ...live(10), everyoneElse: 'legacy' }), GROUPS), []);
  });

  it('fails on a live rule that shrinks', () => {
    assert.deepEqual(checkChange(datafile(live(25)), datafile(live(10)), GROUPS),
      ['group orders: rule "canary" of flag "orders_flag" shrinks live from 25 % to 10 %, which moves callers back to legacy']);
  });

  it('fails on a live rule that is re-created (a new id re-buckets every caller) or removed', () => {
    const recreated = datafile(live(25));
    const rule = (recreated.rollouts?.[0]?.experiments ?? [])[0] as { id: string };
    rule.id = '99999';
    assert.deepEqual(checkChange(datafile(live(25)), recreated, GROUPS),
      ['group orders: rule "canary" of flag "orders_flag" is re-created with a new id, which re-buckets its 25 % of callers in live']);
    assert.deepEqual(checkChange(datafile(live(25)), datafile({ key: 'orders_flag', everyoneElse: 'shadow' }), GROUPS),
      ['group orders: rule "canary" of flag "orders_flag" is removed, which moves its 25 % of callers in live']);
  });

  it('fails the command with exit code 1, and passes a growing rollout with exit code 0', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'cutover-flags-'));
    try {
      const write = (name: string, content: unknown) => {
        writeFileSync(path.join(dir, name), JSON.stringify(content));
        return path.join(dir, name);
      };
      const config = write('cutover.json', { legacy: { url: 'http://127.0.0.1:1' }, flags: { datafile: 'next.json' }, groups: { orders: { flag: 'orders_flag', function: 'orders', routes: ['GET /orders'] } } });
      const published = write('published.json', datafile(live(25)));
      let out = '', err = '';
      const io = { stdout: (text: string) => { out += text; }, stderr: (text: string) => { err += text; } };
      write('next.json', datafile(live(50)));
      assert.equal(await flagsCheckCommand(['-c', config, '--previous', published], io), 0);
      assert.match(out, /1 group\(s\) sound in .*next\.json, and no caller moves back from .*published\.json/);
      write('next.json', datafile(live(5)));
      assert.equal(await flagsCheckCommand(['-c', config, '--previous', published], io), 1);
      assert.match(err, /shrinks live from 25 % to 5 %/);
      assert.equal(await flagsCheckCommand(['-c', config, '--previous', path.join(dir, 'missing.json')], io), 2);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
