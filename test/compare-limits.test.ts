import { createHash } from 'node:crypto';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import {
  compare, type Comparison, DEFAULT_RULES, type JsonValue, type Observation, parseRules, response,
} from '../compare/index.js';
import { bodyBytes } from '../proxy/evidence/size.js';

const JSON_TYPE = { 'content-type': 'application/json' };
/** A body as the proxy receives it: the bytes of this exact JSON text. */
const raw = (text: string, status = 200): Observation => response(status, JSON_TYPE, Buffer.from(text));
const parsed = (body: JsonValue): Observation => response(200, JSON_TYPE, Buffer.from(JSON.stringify(body)));

/** The differences without their fields, the form the tables below expect. */
const differences = (comparison: Comparison) => comparison.differences.map(({ path, kind, legacy, new: candidate }) => ({ path, kind, legacy, new: candidate }));

/** Text nested `depth` arrays deep, built without recursion. */
const nestedText = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;

/** The same nesting as a parsed value, built without recursion. */
function nestedValue(depth: number): JsonValue {
  const root: JsonValue[] = [];
  let inner = root;
  for (let level = 1; level < depth; level++) {
    const next: JsonValue[] = [];
    inner.push(next);
    inner = next;
  }
  return root;
}

describe('compare: numbers are compared exactly', () => {
  const cases: Array<[string, string, string, unknown, Array<{ path: string; kind: string; legacy: JsonValue; new: JsonValue }>]> = [
    ['integers beyond 2^53 that a double rounds to one', '{"n":9007199254740993}', '{"n":9007199254740992}', undefined,
      [{ path: '/n', kind: 'changed', legacy: { $number: '9007199254740993' }, new: 9007199254740992 }]],
    ['64-bit ids that differ in the last digit', '{"id":12345678901234567890}', '{"id":12345678901234567891}', undefined,
      [{ path: '/id', kind: 'changed', legacy: { $number: '12345678901234567890' }, new: { $number: '12345678901234567891' } }]],
    ['a decimal with more digits than a double keeps', '{"rate":0.1000000000000000000001}', '{"rate":0.1}', undefined,
      [{ path: '/rate', kind: 'changed', legacy: { $number: '0.1000000000000000000001' }, new: 0.1 }]],
    ['a number beyond the range of a double', '{"n":1e400}', '{"n":2e400}', undefined,
      [{ path: '/n', kind: 'changed', legacy: { $number: '1e400' }, new: { $number: '2e400' } }]],
    ['a big integer and a string of its digits differ by type', '[12345678901234567890]', '["12345678901234567890"]', undefined,
      [{ path: '/0', kind: 'type', legacy: { $number: '12345678901234567890' }, new: '12345678901234567890' }]],
    ['a removed member shows its big numbers exactly', '{"ids":[12345678901234567890, 1]}', '{}', undefined,
      [{ path: '/ids', kind: 'removed', legacy: [{ $number: '12345678901234567890' }, 1], new: null }]],
    ['equal big integers match', '{"id":12345678901234567890}', '{"id":12345678901234567890}', undefined, []],
    ['one number in two spellings matches', '[12.50, 1e20, 100, -0, 1.5E+3]', '[12.5, 100000000000000000000, 1.00e2, 0, 1500]', undefined, []],
    ['tolerance applies to big integers, exactly', '{"id":12345678901234567890}', '{"id":12345678901234567891}', { numericTolerance: 1 }, []],
    ['beyond the tolerance big integers differ', '{"id":12345678901234567890}', '{"id":12345678901234567891}', { numericTolerance: 0.5 },
      [{ path: '/id', kind: 'changed', legacy: { $number: '12345678901234567890' }, new: { $number: '12345678901234567891' } }]],
    ['at exactly the tolerance, in decimal, numbers are equal', '{"n":1.1}', '{"n":1.0}', { numericTolerance: 0.1 }, []],
    ['tolerance between a big number and a double', '{"n":9007199254740993}', '{"n":9007199254740992}', { numericTolerance: 1 }, []],
  ];
  for (const [name, legacy, candidate, rules, expected] of cases) {
    it(name, () => {
      const comparison = compare(raw(legacy), raw(candidate), rules === undefined ? DEFAULT_RULES : parseRules(rules));
      assert.deepEqual(differences(comparison), expected);
      assert.equal(comparison.verdict, expected.length > 0 ? 'mismatch' : 'match');
    });
  }

  it('a string body with a JSON type is read exactly too', () => {
    const comparison = compare(response(200, JSON_TYPE, '{"id":12345678901234567890}'), response(200, JSON_TYPE, '{"id":12345678901234567891}'));
    assert.equal(comparison.verdict, 'mismatch');
  });

  it('differences stay plain JSON, whatever their numbers', () => {
    const comparison = compare(raw('{"a":12345678901234567890,"b":[1e400]}'), raw('{"a":1,"b":[]}'));
    assert.deepEqual(JSON.parse(JSON.stringify(comparison.differences)), comparison.differences.map((difference) => ({ ...difference })));
  });
});

describe('compare: exact numbers, properties', () => {
  it('two integers of any size match exactly when they are the same integer', () => {
    fc.assert(fc.property(fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n }), fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n }), (a, b) => {
      assert.equal(compare(raw(`{"n":${a}}`), raw(`{"n":${b}}`)).verdict, a === b ? 'match' : 'mismatch');
    }), { numRuns: 500 });
  });

  it('strings holding brackets, quotes and escapes do not upset the depth, the count or the member names', () => {
    const text = '{"a":"[[[{{{\\"","b\\"":"]]]}}}","c":[1,"\\\\"],"b\\"":2}';
    assert.deepEqual(differences(compare(raw(text), raw(text), DEFAULT_RULES, { maxDepth: 2, maxValues: 7 })), [
      { path: '/b"', kind: 'duplicate_key', legacy: [']]]}}}', 2], new: [']]]}}}', 2] },
    ]);
  });
});

describe('compare: duplicate keys', () => {
  it('a repeated member is a difference of its own, the side that repeats it giving every value', () => {
    const comparison = compare(raw('{"total":10,"total":99}'), raw('{"total":99}'));
    assert.equal(comparison.verdict, 'mismatch');
    assert.deepEqual(differences(comparison), [{ path: '/total', kind: 'duplicate_key', legacy: [10, 99], new: null }]);
    assert.equal(comparison.differences[0]?.field, '/total');
  });

  it('is reported even when the values repeat too, on the side that has it', () => {
    assert.deepEqual(differences(compare(raw('{"a":1}'), raw('{"a":1,"a":1}'))), [{ path: '/a', kind: 'duplicate_key', legacy: null, new: [1, 1] }]);
  });

  it('is one difference when both sides repeat the member', () => {
    assert.deepEqual(differences(compare(raw('{"a":1,"a":2}'), raw('{"a":3,"a":2}'))), [{ path: '/a', kind: 'duplicate_key', legacy: [1, 2], new: [3, 2] }]);
  });

  it('is a difference when both sides send the same bytes, and text that only looks like JSON is not', () => {
    const same = compare(raw('{"a":1,"a":2}'), raw('{"a":1,"a":2}'));
    assert.equal(same.verdict, 'mismatch');
    assert.deepEqual(differences(same), [{ path: '/a', kind: 'duplicate_key', legacy: [1, 2], new: [1, 2] }]);
    assert.equal(compare(raw('{"a":1,"a":2'), raw('{"a":1,"a":2')).verdict, 'match');
  });

  it('reads the same bytes as JSON on one side only when that side says its body is JSON', () => {
    const bytes = Buffer.from('{"a":1,"a":2}');
    const comparison = compare({ status: 200, headers: {}, body: bytes }, { status: 200, headers: {}, body: bytes, bodyIsJson: true });
    assert.equal(comparison.verdict, 'mismatch');
    // Legacy's bytes without a JSON type are compared by their digest, the new side's as the value JSON.parse reads.
    assert.deepEqual(differences(comparison), [{ path: '', kind: 'type', legacy: `sha256:${createHash('sha256').update(bytes).digest('hex')}`, new: { a: 2 } }]);
  });

  it('the last value is the one compared, as JSON.parse reads it', () => {
    assert.deepEqual(differences(compare(raw('{"total":99,"total":10}'), raw('{"total":99}'))), [
      { path: '/total', kind: 'duplicate_key', legacy: [99, 10], new: null },
      { path: '/total', kind: 'changed', legacy: 10, new: 99 },
    ]);
  });

  it('is found at any depth, by the name after its escapes, with its field', () => {
    const comparison = compare(raw('{"items":[{"id":1},{"id":2,"\\u0069d":3}]}'), raw('{"items":[{"id":1},{"id":3}]}'));
    assert.deepEqual(differences(comparison), [{ path: '/items/1/id', kind: 'duplicate_key', legacy: [2, 3], new: null }]);
    assert.equal(comparison.differences[0]?.field, '/items/*/id');
  });

  it('is found among many members, and a name is repeated only within its own object', () => {
    const many = (extra: string) => `{${Array.from({ length: 20 }, (_, i) => `"m${i}":${i}`).join(',')}${extra}}`;
    // Repeated before and after the object has more members than are walked one by one.
    assert.deepEqual(differences(compare(raw(`{"m3":-3,${many(',"m19":33').slice(1)}`), raw(many('')))), [
      { path: '/m19', kind: 'duplicate_key', legacy: [19, 33], new: null },
      { path: '/m19', kind: 'changed', legacy: 33, new: 19 },
      { path: '/m3', kind: 'duplicate_key', legacy: [-3, 3], new: null },
    ]);
    // Objects after one another at the same depth, after a small and after a large one, share no names.
    for (const siblings of ['[{"a":1,"b":2,"c":3},{"c":4,"a":5}]', `[${many('')},{"m5":5,"m19":19}]`, '{"x":{"a":1},"y":{"a":1},"a":{"a":1}}']) {
      assert.equal(compare(raw(siblings), raw(siblings)).verdict, 'match', siblings);
    }
  });

  it('gives the path of a repeat inside arrays and objects that follow others', () => {
    assert.deepEqual(differences(compare(raw('[[{"a":1},{"a":1}],[{"b":1},{"c":{"d":1,"d":2}}]]'), raw('[[{"a":1},{"a":1}],[{"b":1},{"c":{"d":2}}]]'))), [
      { path: '/1/1/c/d', kind: 'duplicate_key', legacy: [1, 2], new: null },
    ]);
    assert.deepEqual(differences(compare(raw('[{"a":1,"a":2},{"a":3,"a":4}]'), raw('[{"a":2},{"a":4}]'))), [
      { path: '/0/a', kind: 'duplicate_key', legacy: [1, 2], new: null },
      { path: '/1/a', kind: 'duplicate_key', legacy: [3, 4], new: null },
    ]);
  });

  it('keeps big numbers and nested values of the repeated member exact', () => {
    assert.deepEqual(differences(compare(raw('{"a":{"b":[12345678901234567890]},"a":{}}'), raw('{"a":{}}'))), [
      { path: '/a', kind: 'duplicate_key', legacy: [{ b: [{ $number: '12345678901234567890' }] }, {}], new: null },
    ]);
  });

  it('an ignored path hides it', () => {
    assert.equal(compare(raw('{"meta":{"a":1,"a":2}}'), raw('{"meta":{"a":2}}'), parseRules({ ignore: ['/meta'] })).verdict, 'match');
  });
});

describe('compare: limits', () => {
  it('two identical documents nested 10,000 deep: verdict error with a one-line reason, quickly', () => {
    const started = process.hrtime.bigint();
    const comparison = compare(raw(nestedText(10_000)), raw(nestedText(10_000)));
    assert.equal(comparison.verdict, 'error');
    assert.equal(comparison.reason, 'legacy body: JSON nested deeper than 256 levels; new body: JSON nested deeper than 256 levels');
    assert.ok(process.hrtime.bigint() - started < 1_000_000_000n, 'well under a second');
  });

  it('a document at the depth limit is compared, one past it is not', () => {
    assert.equal(compare(raw(nestedText(256)), raw(nestedText(256))).verdict, 'match');
    assert.equal(compare(raw(nestedText(257)), raw(nestedText(256))).reason, 'legacy body: JSON nested deeper than 256 levels');
  });

  it('an already parsed body is held to the depth limit too', () => {
    const deep = response(200, {}, nestedValue(10_000) as Exclude<JsonValue, string>);
    assert.deepEqual(compare(deep, deep), { verdict: 'error', differences: [], reason: 'legacy body: JSON nested deeper than 256 levels; new body: JSON nested deeper than 256 levels' });
  });

  it('the limits are options', () => {
    assert.equal(compare(raw(nestedText(5)), raw(nestedText(5)), DEFAULT_RULES, { maxDepth: 4 }).reason,
      'legacy body: JSON nested deeper than 4 levels; new body: JSON nested deeper than 4 levels');
    assert.equal(compare(raw('[1,2,3]'), raw('[1,2]'), DEFAULT_RULES, { maxValues: 3 }).reason, 'legacy body: more than 3 JSON values');
    assert.equal(compare(parsed([1, 2]), parsed([1, 2]), DEFAULT_RULES, { maxValues: 3 }).verdict, 'match');
    assert.equal(compare(response(200, {}, [1, [2, 3]]), parsed([]), DEFAULT_RULES, { maxValues: 3 }).reason, 'legacy body: more than 3 JSON values');
  });

  it('the status is still compared past a limit', () => {
    const comparison = compare(raw(nestedText(300), 200), raw('[]', 500));
    assert.equal(comparison.verdict, 'error');
    assert.deepEqual(comparison.differences.map((difference) => `${difference.kind} ${difference.path}`), ['status /status']);
  });

  it('the decoded size limit holds for a body sent without a content coding too', () => {
    const big = `[${'1,'.repeat(1000)}1]`;
    assert.equal(compare(raw(big), raw(big), DEFAULT_RULES, { maxDecodedBytes: 1024 }).reason,
      `legacy body: larger than 1024 bytes; new body: larger than 1024 bytes`);
    assert.equal(compare(response(200, { 'content-type': 'text/plain' }, 'é'.repeat(600)), response(200, {}, ''), DEFAULT_RULES, { maxDecodedBytes: 1024 }).reason,
      'legacy body: larger than 1024 bytes');
  });

  it('a 300,000-element unordered array with 150,000 changes is compared', () => {
    const legacy = Array.from({ length: 300_000 }, (_, index) => index);
    const candidate = legacy.map((value, index) => (index % 2 === 0 ? -value - 1 : value)).reverse();
    const comparison = compare(parsed({ items: legacy }), parsed({ items: candidate }), parseRules({ unordered: [{ path: '/items' }] }));
    assert.equal(comparison.verdict, 'mismatch');
    assert.equal(comparison.differences.length, 150_000);
    assert.ok(comparison.differences.every((difference) => difference.kind === 'changed' && difference.field === '/items/*'));
  });
});

describe('comparator: which comparisons go to a worker', () => {
  const document = JSON.stringify({ data: Array.from({ length: 1500 }, (_, index) => ({ id: String(index), name: 'Dog bowl', price: 12.5, tags: ['dog', 'bowl'] })) });
  const gzipped = response(200, { ...JSON_TYPE, 'content-encoding': 'gzip' }, gzipSync(document));

  it('counts a body by its decoded size: two 4 KB gzip bodies of 97 KB of JSON each go to a worker', () => {
    assert.ok((gzipped.body as Buffer).length < 16 * 1024, 'the coded body is small');
    assert.ok(bodyBytes(gzipped) + bodyBytes(gzipped) >= 32 * 1024);
  });

  it('counts a small coded body by its decoded size', () => {
    const small = JSON.stringify({ id: '1', name: 'Dog bowl' });
    assert.equal(bodyBytes(response(200, { 'Content-Encoding': 'gzip' }, gzipSync(small))), small.length);
    assert.equal(bodyBytes(response(200, {}, 'héllo')), 6);
  });
});
