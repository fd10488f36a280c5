import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import {
  compare, DEFAULT_RULES, type Difference, failure, hiddenDifferences, type JsonValue, type Observation, parseRules, response, type Rules,
} from '../compare/index.js';

const JSON_API = { 'content-type': 'application/vnd.api+json' };
const json = (body: JsonValue, status = 200): Observation => response(status, JSON_API, Buffer.from(JSON.stringify(body)));

/** What compare() shows under the rules, as `kind path` lines, and what the rules hid, in full. */
function explain(rulesDocument: unknown, legacy: Observation, candidate: Observation) {
  const rules = parseRules(rulesDocument);
  const shown = compare(legacy, candidate, rules).differences;
  const hidden = hiddenDifferences(legacy, candidate, rules, shown)
    .map(({ difference: { path, kind, legacy, new: candidate }, rule }) => ({ rule, path, kind, legacy, new: candidate }));
  return { shown: shown.map((difference) => `${difference.kind} ${difference.path}`), hidden };
}

describe('hiddenDifferences: ignore', () => {
  it('credits a difference at an ignored path to its pattern', () => {
    assert.deepEqual(explain({ ignore: ['/meta/requestId'] }, json({ meta: { requestId: 'a', v: 1 } }), json({ meta: { requestId: 'b', v: 1 } })), {
      shown: [],
      hidden: [{ rule: 'ignore: /meta/requestId', path: '/meta/requestId', kind: 'changed', legacy: 'a', new: 'b' }],
    });
  });

  it('credits every difference under an ignored member to the pattern naming that member', () => {
    assert.deepEqual(explain({ ignore: ['/meta'] }, json({ meta: { at: 'x', n: 1 }, v: 1 }), json({ meta: { n: 2 }, v: 2 })), {
      shown: ['changed /v'],
      hidden: [
        { rule: 'ignore: /meta', path: '/meta/at', kind: 'removed', legacy: 'x', new: null },
        { rule: 'ignore: /meta', path: '/meta/n', kind: 'changed', legacy: 1, new: 2 },
      ],
    });
  });

  it('credits nested differences to a /** pattern, at every depth', () => {
    const legacy = json({ links: { self: 'a' }, data: [{ links: { self: 'b' }, id: '1' }], meta: { page: { n: 1 } } });
    const candidate = json({ links: { self: 'c' }, data: [{ links: { self: 'd' }, id: '1' }], meta: { page: { n: 2 } } });
    assert.deepEqual(explain({ ignore: ['/**/links/self', '/meta/**'] }, legacy, candidate), {
      shown: [],
      hidden: [
        { rule: 'ignore: /**/links/self', path: '/data/0/links/self', kind: 'changed', legacy: 'b', new: 'd' },
        { rule: 'ignore: /**/links/self', path: '/links/self', kind: 'changed', legacy: 'a', new: 'c' },
        { rule: 'ignore: /meta/**', path: '/meta/page/n', kind: 'changed', legacy: 1, new: 2 },
      ],
    });
  });

  it('credits a text body to the pattern ignoring the root', () => {
    const text = { 'content-type': 'text/plain' };
    assert.deepEqual(explain({ ignore: ['/**'] }, response(200, text, 'old'), response(200, text, 'new')), {
      shown: [],
      hidden: [{ rule: 'ignore: /**', path: '', kind: 'changed', legacy: 'old', new: 'new' }],
    });
  });
});

describe('hiddenDifferences: numbers and timestamps', () => {
  it('credits numbers within the tolerance to numericTolerance', () => {
    assert.deepEqual(explain({ numericTolerance: 0.005 }, json({ price: 12.5, n: [1] }), json({ price: 12.504, n: [0.996] })), {
      shown: [],
      hidden: [
        { rule: 'numericTolerance: 0.005', path: '/n/0', kind: 'changed', legacy: 1, new: 0.996 },
        { rule: 'numericTolerance: 0.005', path: '/price', kind: 'changed', legacy: 12.5, new: 12.504 },
      ],
    });
  });

  it('hides nothing beyond the tolerance, nor across types', () => {
    assert.deepEqual(explain({ numericTolerance: 0.005 }, json({ price: 12.5, tax: '1' }), json({ price: 12.51, tax: 1 })), {
      shown: ['changed /price', 'type /tax'],
      hidden: [],
    });
  });

  it('credits two spellings of one instant to timestamps: instant', () => {
    assert.deepEqual(explain({ timestamps: 'instant' }, json({ at: '2024-03-01T10:00:00.000Z' }), json({ at: '2024-03-01T11:30:00+01:30' })), {
      shown: [],
      hidden: [{ rule: 'timestamps: instant', path: '/at', kind: 'changed', legacy: '2024-03-01T10:00:00.000Z', new: '2024-03-01T11:30:00+01:30' }],
    });
  });

  it('hides nothing when the instants differ', () => {
    assert.deepEqual(explain({ timestamps: 'instant' }, json({ at: '2024-03-01T10:00:00.421Z' }), json({ at: '2024-03-01T10:00:00Z' })), {
      shown: ['changed /at'],
      hidden: [],
    });
  });
});

describe('hiddenDifferences: unordered', () => {
  it('credits a reordered array, as one entry with both arrays, to its rule', () => {
    assert.deepEqual(explain({ unordered: [{ path: '/tags' }] }, json({ tags: ['a', 'b', 'c'] }), json({ tags: ['c', 'a', 'b'] })), {
      shown: [],
      hidden: [{ rule: 'unordered: /tags', path: '/tags', kind: 'changed', legacy: ['a', 'b', 'c'], new: ['c', 'a', 'b'] }],
    });
  });

  it('names the key of a keyed rule', () => {
    const legacy = json({ data: [{ id: '1', n: 1 }, { id: '2', n: 2 }] }), candidate = json({ data: [{ id: '2', n: 2 }, { id: '1', n: 1 }] });
    assert.deepEqual(explain({ unordered: [{ path: '/data', key: 'id' }] }, legacy, candidate), {
      shown: [],
      hidden: [{ rule: 'unordered: /data key id', path: '/data', kind: 'changed', legacy: [{ id: '1', n: 1 }, { id: '2', n: 2 }], new: [{ id: '2', n: 2 }, { id: '1', n: 1 }] }],
    });
  });

  it('a change in a reordered array is shown at its legacy index, the reordering hidden once for the array', () => {
    assert.deepEqual(explain({ unordered: [{ path: '/tags' }] }, json({ tags: ['a', 'b', 'c'] }), json({ tags: ['c', 'a', 'x'] })), {
      shown: ['changed /tags/1'],
      hidden: [{ rule: 'unordered: /tags', path: '/tags', kind: 'changed', legacy: ['a', 'b', 'c'], new: ['c', 'a', 'x'] }],
    });
  });

  it('hides nothing when the pairing is the positional one', () => {
    assert.deepEqual(explain({ unordered: [{ path: '/tags' }] }, json({ tags: ['a', 'a', 'b'] }), json({ tags: ['a', 'b', 'b'] })), {
      shown: ['changed /tags/1'],
      hidden: [],
    });
  });

  const nested = { unordered: [{ path: '/data', key: 'id' }, { path: '/data/*/tags' }] };

  it('credits an inner array reordered in place to the inner rule, with its field', () => {
    const rules = parseRules(nested);
    const legacy = json({ data: [{ id: 1, tags: ['a', 'b'] }, { id: 2, tags: [] }] }), candidate = json({ data: [{ id: 1, tags: ['b', 'a'] }, { id: 2, tags: [] }] });
    const hidden = hiddenDifferences(legacy, candidate, rules, compare(legacy, candidate, rules).differences);
    assert.deepEqual(hidden, [{
      rule: 'unordered: /data/*/tags',
      difference: { path: '/data/0/tags', kind: 'changed', legacy: ['a', 'b'], new: ['b', 'a'], field: '/data/*/tags' },
    }]);
  });

  it('credits an outer array that was reordered once, the arrays nested in it included', () => {
    const legacy = json({ data: [{ id: 1, tags: ['a', 'b'] }, { id: 2, tags: [] }] }), candidate = json({ data: [{ id: 2, tags: [] }, { id: 1, tags: ['b', 'a'] }] });
    assert.deepEqual(explain(nested, legacy, candidate), {
      shown: [],
      hidden: [{ rule: 'unordered: /data key id', path: '/data', kind: 'changed', legacy: [{ id: 1, tags: ['a', 'b'] }, { id: 2, tags: [] }], new: [{ id: 2, tags: [] }, { id: 1, tags: ['b', 'a'] }] }],
    });
  });

  it('credits ignored members of a reordered array to the ignore pattern, position by position', () => {
    const legacy = json({ data: [{ id: 1, at: 'x' }, { id: 2, at: 'y' }] }), candidate = json({ data: [{ id: 2, at: 'z' }, { id: 1, at: 'w' }] });
    assert.deepEqual(explain({ unordered: [{ path: '/data' }], ignore: ['/data/*/at'] }, legacy, candidate), {
      shown: [],
      hidden: [
        { rule: 'unordered: /data', path: '/data', kind: 'changed', legacy: [{ id: 1, at: 'x' }, { id: 2, at: 'y' }], new: [{ id: 2, at: 'z' }, { id: 1, at: 'w' }] },
        { rule: 'ignore: /data/*/at', path: '/data/0/at', kind: 'changed', legacy: 'x', new: 'z' },
        { rule: 'ignore: /data/*/at', path: '/data/1/at', kind: 'changed', legacy: 'y', new: 'w' },
      ],
    });
  });
});

describe('hiddenDifferences: status and headers', () => {
  it('credits a status difference to status: false', () => {
    assert.deepEqual(explain({ status: false }, json({}, 200), json({}, 503)), {
      shown: [],
      hidden: [{ rule: 'status: false', path: '/status', kind: 'status', legacy: 200, new: 503 }],
    });
  });

  it('hides no status difference when the status is compared', () => {
    assert.deepEqual(explain({}, json({}, 200), json({}, 503)), { shown: ['status /status'], hidden: [] });
  });

  it('hides no header: unlisted ones are not compared, listed ones are shown', () => {
    const legacy = response(200, { etag: 'a', server: 'legacy' }), candidate = response(200, { etag: 'b', server: 'lambda' });
    assert.deepEqual(explain({ headers: ['etag'] }, legacy, candidate), { shown: ['header /headers/etag'], hidden: [] });
  });
});

describe('hiddenDifferences: a mismatch', () => {
  const rules = parseRules({ ignore: ['/meta/requestId'], numericTolerance: 0.01, unordered: [{ path: '/tags' }], status: false });
  const legacy = json({ meta: { requestId: 'r1' }, price: 1, name: 'Bowl', tags: ['x', 'y'] }, 200);
  const candidate = json({ meta: { requestId: 'r2' }, price: 1.004, name: 'Dog bowl', tags: ['y', 'x'] }, 201);

  it('lists what is hidden and nothing that is shown', () => {
    const comparison = compare(legacy, candidate, rules);
    assert.equal(comparison.verdict, 'mismatch');
    assert.deepEqual(comparison.differences.map((difference) => `${difference.kind} ${difference.path}`), ['changed /name']);
    assert.deepEqual(hiddenDifferences(legacy, candidate, rules, comparison.differences).map(({ rule, difference }) => `${rule} | ${difference.kind} ${difference.path}`), [
      'status: false | status /status',
      'ignore: /meta/requestId | changed /meta/requestId',
      'numericTolerance: 0.01 | changed /price',
      'unordered: /tags | changed /tags',
    ]);
  });

  it('gives the same answer for shown differences read back from JSON, as a store keeps them', () => {
    const shown = compare(legacy, candidate, rules).differences;
    const stored = JSON.parse(JSON.stringify(shown)) as Difference[];
    assert.deepEqual(hiddenDifferences(legacy, candidate, rules, stored), hiddenDifferences(legacy, candidate, rules, shown));
  });
});

describe('hiddenDifferences: failures', () => {
  const rules = parseRules({ ignore: ['/meta'], status: false });
  const cases: Array<[string, Observation, Observation]> = [
    ['legacy failed', failure('connection refused'), json({ meta: 1 })],
    ['new failed', json({ meta: 1 }), failure('timeout')],
    ['both failed', failure('reset'), failure('timeout')],
    ['a body cannot be decoded', json({ meta: 1 }, 200), response(500, { ...JSON_API, 'content-encoding': 'gzip' }, Buffer.from('not gzip'))],
    ['a body is too large once decoded', json({ meta: 1 }, 200), response(500, { ...JSON_API, 'content-encoding': 'gzip' }, gzipSync(JSON.stringify({ meta: 'x'.repeat(2048) })))],
  ];
  for (const [what, legacy, candidate] of cases) {
    it(`${what}: nothing is listed`, () => {
      const options = { maxDecodedBytes: 1024 };
      const comparison = compare(legacy, candidate, rules, options);
      assert.equal(comparison.verdict, 'error');
      assert.deepEqual(hiddenDifferences(legacy, candidate, rules, comparison.differences, options), []);
    });
  }
});

describe('hiddenDifferences: properties', () => {
  const rules = parseRules({
    ignore: ['/**/id'], unordered: [{ path: '/*' }, { path: '/**/items', key: 'k' }], numericTolerance: 0.01, timestamps: 'instant', status: false,
  });
  const timestamp = fc.date({ min: new Date('1970-01-01T00:00:00Z'), max: new Date('2100-01-01T00:00:00Z'), noInvalidDate: true }).map((date) => date.toISOString());
  const value = fc.letrec<{ json: JsonValue }>((tie) => ({
    json: fc.oneof({ depthSize: 'small' },
      fc.constantFrom<JsonValue>(null, true, '', 'id', 'k'), fc.double({ noNaN: true, noDefaultInfinity: true, min: -1, max: 1 }),
      fc.integer({ min: 0, max: 3 }), timestamp,
      fc.array(tie('json'), { maxLength: 4 }), fc.dictionary(fc.constantFrom('id', 'k', 'items', 'a', 'b'), tie('json'))),
  })).json;
  /** Every array reversed: a reordering at every depth, which the unordered rules must account for. */
  const reversed = (v: JsonValue): JsonValue => (Array.isArray(v) ? v.map(reversed).reverse()
    : v !== null && typeof v === 'object' ? Object.fromEntries(Object.entries(v).map(([name, inner]) => [name, reversed(inner)])) : v);
  /** Arrays where the rules look for them: members of the root, and `items` of elements keyed by `k`. */
  const shaped = fc.dictionary(fc.constantFrom('a', 'b', 'items'), fc.array(fc.oneof(value, fc.record({ k: fc.integer({ min: 0, max: 3 }), items: fc.array(value, { maxLength: 3 }) })), { minLength: 1, maxLength: 5 }));
  const document = fc.oneof(value, shaped);
  const pair = fc.oneof(fc.tuple(document, document), document.map((v) => [v, reversed(v)] as [JsonValue, JsonValue]));
  const observations = fc.tuple(pair, fc.constantFrom(200, 404)).map(([[a, b], status]) => [json(a), json(b, status)] as const);

  function check(legacy: Observation, candidate: Observation, under: Rules): void {
    const shown = compare(legacy, candidate, under).differences;
    const hidden = hiddenDifferences(legacy, candidate, under, shown);
    const key = (difference: Difference) => `${difference.kind} ${difference.path}`;
    for (const difference of compare(legacy, candidate, DEFAULT_RULES).differences) {
      if (shown.some((other) => key(other) === key(difference))) continue;
      const credited = hidden.some((entry) => key(entry.difference) === key(difference)
        || (entry.rule.startsWith('unordered: ') && difference.path.startsWith(`${entry.difference.path}/`)));
      assert.ok(credited, `${key(difference)} is neither shown nor hidden: ${JSON.stringify({ shown, hidden })}`);
    }
  }

  it('every difference that the rules removed is credited to a rule, itself or its array', () => {
    fc.assert(fc.property(observations, ([legacy, candidate]) => check(legacy, candidate, rules)), { numRuns: 1000 });
  });

  it('without rules nothing is hidden', () => {
    fc.assert(fc.property(observations, ([legacy, candidate]) => {
      assert.deepEqual(hiddenDifferences(legacy, candidate, DEFAULT_RULES, compare(legacy, candidate).differences), []);
    }), { numRuns: 300 });
  });
});

describe('hiddenDifferences: exact numbers, duplicate keys and limits', () => {
  const raw = (text: string): Observation => response(200, JSON_API, Buffer.from(text));

  it('credits big integers within the tolerance to numericTolerance, showing their exact digits', () => {
    const rules = parseRules({ numericTolerance: 1 });
    const legacy = raw('{"id":12345678901234567890}'), candidate = raw('{"id":12345678901234567891}');
    const shown = compare(legacy, candidate, rules).differences;
    assert.deepEqual(shown, []);
    assert.deepEqual(hiddenDifferences(legacy, candidate, rules, shown).map(({ rule, difference: { path, kind, legacy, new: next } }) => ({ rule, path, kind, legacy, new: next })), [
      { rule: 'numericTolerance: 1', path: '/id', kind: 'changed', legacy: { $number: '12345678901234567890' }, new: { $number: '12345678901234567891' } },
    ]);
  });

  it('shows the big numbers of a reordered array exactly', () => {
    const rules = parseRules({ unordered: [{ path: '/ids' }] });
    const legacy = raw('{"ids":[12345678901234567890,1]}'), candidate = raw('{"ids":[1,12345678901234567890]}');
    const hidden = hiddenDifferences(legacy, candidate, rules, compare(legacy, candidate, rules).differences);
    assert.deepEqual(hidden.map(({ rule, difference }) => ({ rule, legacy: difference.legacy, new: difference.new })), [
      { rule: 'unordered: /ids', legacy: [{ $number: '12345678901234567890' }, 1], new: [1, { $number: '12345678901234567890' }] },
    ]);
  });

  it('credits a duplicate key at an ignored path to the pattern', () => {
    const rules = parseRules({ ignore: ['/meta'] });
    const legacy = raw('{"meta":{"a":1,"a":2}}'), candidate = raw('{"meta":{"a":2}}');
    const shown = compare(legacy, candidate, rules).differences;
    assert.deepEqual(hiddenDifferences(legacy, candidate, rules, shown).map(({ rule, difference: { path, kind, legacy, new: next } }) => ({ rule, path, kind, legacy, new: next })), [
      { rule: 'ignore: /meta', path: '/meta/a', kind: 'duplicate_key', legacy: [1, 2], new: null },
    ]);
  });

  it('lists nothing for documents past a limit, without exhausting the stack', () => {
    const deep = raw(`${'['.repeat(10_000)}${']'.repeat(10_000)}`);
    const rules = parseRules({ ignore: ['/0'] });
    assert.deepEqual(hiddenDifferences(deep, deep, rules, []), []);
  });
});
