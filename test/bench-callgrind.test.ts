import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { readProfile, totalOf } from '../bench/lib/callgrind.js';

/**
 * A dump as callgrind writes one (`--dump-instr=no`): `handle` (JIT code, named by address) costs
 * 100 itself and calls `Builtins_JsonStringify` twice (30 and 10), which costs 40 itself; `uv_run`
 * costs 10 and calls `handle` (140 with what it called).
 */
const DUMP = `version: 1
creator: callgrind-3.19.0
events: Ir
summary: 150

fl=(1) ???
fn=(1) 0x0000000000001040
0 60
cfn=(2) Builtins_JsonStringify
calls=1 0
0 30
0 40
cfn=(2)
calls=1 0
0 10

fn=(2)
0 40

fn=(3) uv_run
0 10
cfn=(1)
calls=1 0
0 140
`;

/** V8's perf map: the code at 0x1000 for 0x100 bytes is `handle`; a later entry for the same range wins. */
const PERF_MAP = `1000 100 JS:~handle file:///work/main/dist/proxy/traffic/handler.js:34:26
1000 100 JS:*handle file:///work/main/dist/proxy/traffic/handler.js:34:26
2000 40 JS:*other file:///elsewhere.js:1:1
`;

describe('the instruction bench\'s reading of a callgrind dump', () => {
  let dir = '';
  before(() => { dir = mkdtempSync(path.join(tmpdir(), 'cutover-callgrind-')); });
  after(() => rmSync(dir, { recursive: true, force: true }));

  function write(name: string, text: string): string {
    const file = path.join(dir, name);
    writeFileSync(file, text);
    return file;
  }

  it('names JIT code from the perf map, and tells a function\'s own instructions from those of what it called', () => {
    const profile = readProfile(write('dump', DUMP), write('perf.map', PERF_MAP));
    assert.equal(profile.total, 150);
    const byName = new Map(profile.functions.map((cost) => [cost.name, cost]));
    assert.deepEqual(byName.get('JS:*handle file:///work/main/dist/proxy/traffic/handler.js:34:26'), { name: 'JS:*handle file:///work/main/dist/proxy/traffic/handler.js:34:26', self: 100, inclusive: 140 });
    assert.deepEqual(byName.get('Builtins_JsonStringify'), { name: 'Builtins_JsonStringify', self: 40, inclusive: 40 });
    assert.deepEqual(byName.get('uv_run'), { name: 'uv_run', self: 10, inclusive: 150 });
    assert.equal(profile.functions.length, 3, 'nothing else, and the address is named');
  });

  it('keeps an address the map does not know as it is', () => {
    const profile = readProfile(write('dump', DUMP), write('empty.map', ''));
    assert.ok(profile.functions.some((cost) => cost.name === '0x0000000000001040'));
  });

  it('refuses a dump that counted nothing, rather than reading it as a free request', () => {
    assert.throws(() => readProfile(write('idle', DUMP.replace('summary: 150', 'summary: 0')), write('perf.map', PERF_MAP)), /counted no instructions/);
    assert.throws(() => totalOf(write('not-a-dump', 'hello\n')), /no summary line/);
    assert.equal(totalOf(write('dump', DUMP)), 150);
  });
});
