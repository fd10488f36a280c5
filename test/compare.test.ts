import assert from 'node:assert/strict';
import { brotliCompressSync, deflateRawSync, deflateSync, gzipSync } from 'node:zlib';
import fc from 'fast-check';
import {
  compare, type Comparison, DEFAULT_RULES, failure, type JsonValue, type Observation, parsePointer, parseRfc3339,
  parseRules, response, RulesError, rulesToJson,
} from '../compare/index.js';
import { matchesPattern, compilePattern, formatPointer } from '../compare/pointer.js';

const JSON_API = { 'content-type': 'application/vnd.api+json' };
const json = (body: JsonValue, status = 200): Observation => response(status, JSON_API, Buffer.from(JSON.stringify(body)));

/** The differences as compact `kind path` lines, the form most tables below expect. */
const summary = (comparison: Comparison) => comparison.differences.map((d) => `${d.kind} ${d.path}`);

describe('compare: JSON Pointers and patterns', () => {
  const pointers: Array<[string, string[]]> = [
    ['', []],
    ['/', ['']],
    ['/data/0/id', ['data', '0', 'id']],
    ['/a~1b/c~0d', ['a/b', 'c~d']],
    ['/~01', ['~1']],
  ];
  for (const [text, segments] of pointers) {
    it(`parses ${JSON.stringify(text)}`, () => {
      assert.deepEqual(parsePointer(text), segments);
      assert.equal(formatPointer(segments), text);
    });
  }

  for (const bad of ['data', 'data/0', '/a~2', '/a~']) {
    it(`rejects ${JSON.stringify(bad)}`, () => assert.throws(() => parsePointer(bad), /not a JSON Pointer/));
  }

  const matches: Array<[string, Array<string | number>, boolean]> = [
    ['/meta/requestId', ['meta', 'requestId'], true],
    ['/meta/requestId', ['meta'], false],
    ['/meta/requestId', ['meta', 'requestId', 'x'], false],
    ['/data/*/attributes/updatedAt', ['data', 3, 'attributes', 'updatedAt'], true],
    ['/data/*/attributes/updatedAt', ['data', 'attributes', 'updatedAt'], false],
    ['/**/links/self', ['links', 'self'], true],
    ['/**/links/self', ['data', 0, 'links', 'self'], true],
    ['/**/links/self', ['data', 0, 'links', 'related'], false],
    ['/**', [], true],
    ['/data/**', ['data', 1, 'x'], true],
    ['', [], true],
    ['', ['a'], false],
  ];
  for (const [pattern, path, expected] of matches) {
    it(`${pattern} ${expected ? 'matches' : 'does not match'} ${formatPointer(path)}`, () => {
      assert.equal(matchesPattern(compilePattern(pattern), path), expected);
    });
  }
});

describe('compare: RFC 3339 timestamps', () => {
  const valid = ['2024-03-01T10:00:00Z', '2024-03-01t10:00:00z', '2024-03-01T10:00:00.123456789+05:30', '2024-02-29T23:59:60Z', '0001-01-01T00:00:00-23:59'];
  for (const text of valid) it(`accepts ${text}`, () => assert.ok(parseRfc3339(text)));
  const invalid = ['2024-03-01', '2024-03-01T10:00:00', '2024-03-01 10:00:00Z', 'Fri, 01 Mar 2024 10:00:00 GMT', '2023-02-29T10:00:00Z',
    '2024-13-01T10:00:00Z', '2024-04-31T10:00:00Z', '2024-03-01T24:00:00Z', '2024-03-01T10:60:00Z', '2024-03-01T10:00:00+24:00', '2024-03-01T10:00:00.Z', '1709287200'];
  for (const text of invalid) it(`rejects ${JSON.stringify(text)}`, () => assert.equal(parseRfc3339(text), undefined));

  it('computes the instant with the offset and the full fraction', () => {
    assert.deepEqual(parseRfc3339('1970-01-01T01:00:00.500+01:00'), { seconds: 0, fraction: '5' });
    assert.deepEqual(parseRfc3339('2024-03-01T10:00:00Z'), { seconds: Date.UTC(2024, 2, 1, 10) / 1000, fraction: '' });
  });
});

describe('compare: rules documents', () => {
  it('fills in the defaults and lower-cases header names', () => {
    const rules = parseRules({ headers: ['Content-Type'] });
    assert.deepEqual({ ...rules, headers: [...rules.headers] }, { ...DEFAULT_RULES, headers: ['content-type'] });
  });

  it('reads the example of docs/architecture.md and writes it back', () => {
    const document = {
      ignore: ['/meta/requestId', '/data/*/attributes/updatedAt', '/**/links/self'],
      unordered: [{ path: '/data', key: 'id' }, { path: '/data/*/attributes/tags' }],
      numericTolerance: 0.005, timestamps: 'instant', headers: ['content-type'],
    };
    assert.deepEqual(rulesToJson(parseRules({ ...document, status: true })), document);
  });

  const rejected: Array<[string, unknown, RegExp]> = [
    ['an unknown key', { ignored: ['/a'] }, /^rules: unknown key "ignored"$/],
    ['an unknown key inside unordered', { unordered: [{ path: '/a', by: 'id' }] }, /^unordered\[0\]: unknown key "by"$/],
    ['a malformed pointer', { ignore: ['/ok', 'meta/requestId'] }, /^ignore\[1\]: "meta\/requestId" is not a JSON Pointer/],
    ['a bad escape', { unordered: [{ path: '/a~2' }] }, /^unordered\[0\]\.path: "\/a~2" is not a JSON Pointer/],
    ['a negative tolerance', { numericTolerance: -1 }, /^numericTolerance: /],
    ['another timestamps mode', { timestamps: 'loose' }, /^timestamps: the only value is "instant"$/],
    ['a header that is not a name', { headers: ['content type'] }, /^headers\[0\]: a header name$/],
    ['a status that is not a boolean', { status: 'yes' }, /^status: /],
    ['a document that is not an object', [], /^rules: /],
  ];
  for (const [what, document, message] of rejected) {
    it(`rejects ${what} with one line naming the key`, () => {
      assert.throws(() => parseRules(document), (error: unknown) => {
        assert.ok(error instanceof RulesError);
        assert.match(error.message, message);
        assert.doesNotMatch(error.message, /\n/);
        return true;
      });
    });
  }
});

interface RuleCase {
  readonly name: string;
  readonly rules?: unknown;
  readonly legacy: JsonValue;
  readonly new: JsonValue;
  readonly differences: string[];
}

function table(title: string, cases: readonly RuleCase[]): void {
  describe(title, () => {
    for (const c of cases) {
      it(c.name, () => {
        const rules = c.rules === undefined ? DEFAULT_RULES : parseRules(c.rules);
        const comparison = compare(json(c.legacy), json(c.new), rules);
        assert.deepEqual(summary(comparison), c.differences);
        assert.equal(comparison.verdict, c.differences.length > 0 ? 'mismatch' : 'match');
      });
    }
  });
}

table('compare: JSON trees without rules', [
  { name: 'equal documents match, whatever the member order', legacy: { a: 1, b: [1, 2] }, new: { b: [1, 2], a: 1 }, differences: [] },
  { name: 'a changed value', legacy: { a: 1 }, new: { a: 2 }, differences: ['changed /a'] },
  { name: 'an added and a removed member', legacy: { a: 1 }, new: { b: 1 }, differences: ['removed /a', 'added /b'] },
  { name: 'a member named ""', legacy: {}, new: { '': 1 }, differences: ['added /'] },
  { name: 'array elements added at the end', legacy: [1], new: [1, 2, 3], differences: ['added /1', 'added /2'] },
  { name: 'array elements removed at the end', legacy: [1, 2, 3], new: [1], differences: ['removed /1', 'removed /2'] },
  { name: 'order matters in an ordered array', legacy: [1, 2], new: [2, 1], differences: ['changed /0', 'changed /1'] },
  { name: '"12.50" and 12.5 are a type difference', legacy: { price: '12.50' }, new: { price: 12.5 }, differences: ['type /price'] },
  { name: 'null and an object are a type difference', legacy: { a: null }, new: { a: {} }, differences: ['type /a'] },
  { name: 'an array and an object are a type difference', legacy: { a: [] }, new: { a: {} }, differences: ['type /a'] },
  { name: 'different roots', legacy: [1], new: { a: 1 }, differences: ['type '] },
  { name: 'paths are escaped', legacy: { 'a/b': { 'c~d': 1 } }, new: { 'a/b': { 'c~d': 2 } }, differences: ['changed /a~1b/c~0d'] },
  { name: 'differences come in path order, indexes numerically', legacy: { z: 1, a: Array.from({ length: 11 }, () => 0) }, new: { z: 2, a: [...Array.from({ length: 10 }, () => 0), 1] }, differences: ['changed /a/10', 'changed /z'] },
]);

table('compare: ignore', [
  { name: 'an exact path', rules: { ignore: ['/meta/requestId'] }, legacy: { meta: { requestId: 'a', v: 1 } }, new: { meta: { requestId: 'b', v: 1 } }, differences: [] },
  { name: 'a path that is only on one side', rules: { ignore: ['/meta'] }, legacy: { meta: { generatedAt: 'x' } }, new: {}, differences: [] },
  { name: 'only the path given', rules: { ignore: ['/meta/requestId'] }, legacy: { meta: { requestId: 'a', v: 1 } }, new: { meta: { requestId: 'b', v: 2 } }, differences: ['changed /meta/v'] },
  { name: '* matches every array element', rules: { ignore: ['/data/*/updatedAt'] }, legacy: { data: [{ updatedAt: 1 }, { updatedAt: 2 }] }, new: { data: [{ updatedAt: 3 }, { updatedAt: 4 }] }, differences: [] },
  { name: '* matches one segment only', rules: { ignore: ['/*/updatedAt'] }, legacy: { data: [{ updatedAt: 1 }] }, new: { data: [{ updatedAt: 3 }] }, differences: ['changed /data/0/updatedAt'] },
  { name: '** matches at any depth, the top included', rules: { ignore: ['/**/links/self'] }, legacy: { links: { self: 'a' }, data: [{ links: { self: 'b' } }] }, new: { links: { self: 'c' }, data: [{ links: { self: 'd' } }] }, differences: [] },
  { name: 'ignoring an array element by index', rules: { ignore: ['/data/1'] }, legacy: { data: [1, 2] }, new: { data: [1, 3] }, differences: [] },
  { name: 'ignoring an element past the end of the other array', rules: { ignore: ['/data/1'] }, legacy: { data: [1] }, new: { data: [1, 2, 3] }, differences: ['added /data/2'] },
]);

table('compare: unordered', [
  { name: 'a multiset in another order matches', rules: { unordered: [{ path: '/tags' }] }, legacy: { tags: ['a', 'b', 'c'] }, new: { tags: ['c', 'a', 'b'] }, differences: [] },
  { name: 'a multiset counts repeats', rules: { unordered: [{ path: '/tags' }] }, legacy: { tags: ['a', 'a', 'b'] }, new: { tags: ['a', 'b', 'b'] }, differences: ['changed /tags/1'] },
  { name: 'a multiset element only in legacy', rules: { unordered: [{ path: '/tags' }] }, legacy: { tags: ['a', 'b', 'c'] }, new: { tags: ['c', 'a'] }, differences: ['removed /tags/1'] },
  { name: 'a multiset element only in new is reported at its index in new', rules: { unordered: [{ path: '/tags' }] }, legacy: { tags: ['a'] }, new: { tags: ['x', 'a'] }, differences: ['added /tags/0'] },
  { name: 'multiset elements equal by the rules pair up', rules: { unordered: [{ path: '/data' }], ignore: ['/data/*/at'] }, legacy: { data: [{ id: 1, at: 'x' }, { id: 2, at: 'y' }] }, new: { data: [{ id: 2, at: 'z' }, { id: 1, at: 'w' }] }, differences: [] },
  { name: 'by key: elements in another order match', rules: { unordered: [{ path: '/data', key: 'id' }] }, legacy: { data: [{ id: '1', n: 1 }, { id: '2', n: 2 }] }, new: { data: [{ id: '2', n: 2 }, { id: '1', n: 1 }] }, differences: [] },
  { name: 'by key: a change is reported at the legacy index', rules: { unordered: [{ path: '/data', key: 'id' }] }, legacy: { data: [{ id: '1', n: 1 }, { id: '2', n: 2 }] }, new: { data: [{ id: '2', n: 3 }, { id: '1', n: 1 }] }, differences: ['changed /data/1/n'] },
  { name: 'by key: another key is a removal and an addition', rules: { unordered: [{ path: '/data', key: 'id' }] }, legacy: { data: [{ id: '1' }, { id: '2' }] }, new: { data: [{ id: '3' }, { id: '1' }] }, differences: ['added /data/0', 'removed /data/1'] },
  { name: 'by key: elements without the key pair by content', rules: { unordered: [{ path: '/data', key: 'id' }] }, legacy: { data: [{ x: 1 }, { id: '1' }] }, new: { data: [{ id: '1' }, { x: 1 }] }, differences: [] },
  { name: 'a pattern with * reaches nested arrays', rules: { unordered: [{ path: '/data/*/tags' }] }, legacy: { data: [{ tags: [1, 2] }, { tags: [3, 4] }] }, new: { data: [{ tags: [2, 1] }, { tags: [4, 3] }] }, differences: [] },
  { name: 'nested unordered arrays inside keyed elements', rules: { unordered: [{ path: '/data', key: 'id' }, { path: '/data/*/tags' }] }, legacy: { data: [{ id: 1, tags: ['a', 'b'] }, { id: 2, tags: [] }] }, new: { data: [{ id: 2, tags: [] }, { id: 1, tags: ['b', 'a'] }] }, differences: [] },
  { name: 'the root array', rules: { unordered: [{ path: '' }] }, legacy: [1, 2], new: [2, 1], differences: [] },
  { name: 'not an array on one side: a type difference', rules: { unordered: [{ path: '/tags' }] }, legacy: { tags: ['a'] }, new: { tags: 'a' }, differences: ['type /tags'] },
]);

table('compare: numericTolerance', [
  { name: 'numbers within the tolerance are equal', rules: { numericTolerance: 0.005 }, legacy: { price: 12.5 }, new: { price: 12.504 }, differences: [] },
  { name: 'at exactly the tolerance they are equal', rules: { numericTolerance: 0.5 }, legacy: { n: 1 }, new: { n: 1.5 }, differences: [] },
  { name: 'beyond it they differ', rules: { numericTolerance: 0.005 }, legacy: { price: 12.5 }, new: { price: 12.51 }, differences: ['changed /price'] },
  { name: 'types still matter: "12.50" and 12.5', rules: { numericTolerance: 0.005 }, legacy: { price: '12.50' }, new: { price: 12.5 }, differences: ['type /price'] },
  { name: 'inside unordered arrays of objects', rules: { numericTolerance: 0.01, unordered: [{ path: '/items' }] }, legacy: { items: [{ p: 1, n: 'a' }, { p: 2, n: 'b' }] }, new: { items: [{ p: 2.001, n: 'b' }, { p: 0.999, n: 'a' }] }, differences: [] },
  { name: 'inside unordered arrays too', rules: { numericTolerance: 0.01, unordered: [{ path: '/n' }] }, legacy: { n: [1, 2] }, new: { n: [2.001, 0.999] }, differences: [] },
  { name: 'without the rule numbers are exact', legacy: { n: 0.3 }, new: { n: 0.1 + 0.2 }, differences: ['changed /n'] },
]);

table('compare: timestamps "instant"', [
  { name: 'milliseconds of zero and none', rules: { timestamps: 'instant' }, legacy: { at: '2024-03-01T10:00:00.000Z' }, new: { at: '2024-03-01T10:00:00Z' }, differences: [] },
  { name: 'another offset, same instant', rules: { timestamps: 'instant' }, legacy: { at: '2024-03-01T10:00:00Z' }, new: { at: '2024-03-01T11:30:00+01:30' }, differences: [] },
  { name: 'a lost fraction is another instant', rules: { timestamps: 'instant' }, legacy: { at: '2024-03-01T10:00:00.421Z' }, new: { at: '2024-03-01T10:00:00Z' }, differences: ['changed /at'] },
  { name: 'a date alone is not a date-time', rules: { timestamps: 'instant' }, legacy: { at: '2024-03-01' }, new: { at: '2024-03-01T00:00:00Z' }, differences: ['changed /at'] },
  { name: 'loose formats are not parsed', rules: { timestamps: 'instant' }, legacy: { at: 'Fri, 01 Mar 2024 10:00:00 GMT' }, new: { at: '2024-03-01T10:00:00Z' }, differences: ['changed /at'] },
  { name: 'without the rule the strings are compared', legacy: { at: '2024-03-01T10:00:00.000Z' }, new: { at: '2024-03-01T10:00:00Z' }, differences: ['changed /at'] },
]);

describe('compare: status and headers', () => {
  const cases: Array<[string, unknown, Observation, Observation, string[]]> = [
    ['a status difference', undefined, response(200, JSON_API, '{}'), response(404, JSON_API, '{}'), ['status /status']],
    ['the status of empty bodies', undefined, response(204, {}), response(200, {}, Buffer.alloc(0)), ['status /status']],
    ['no status comparison with status: false', { status: false }, response(200, {}, ''), response(500, {}, ''), []],
    ['unlisted headers are ignored', undefined, response(200, { etag: 'a' }), response(200, { etag: 'b' }), []],
    ['listed headers, names in any case', { headers: ['ETag'] }, response(200, { ETag: 'a' }), response(200, { etag: 'b' }), ['header /headers/etag']],
    ['a listed header on one side only', { headers: ['cache-control'] }, response(200, { 'cache-control': 'no-store' }), response(200, {}), ['header /headers/cache-control']],
    ['repeated headers are joined', { headers: ['vary'] }, response(200, { vary: ['accept', 'origin'] }), response(200, { vary: 'accept, origin' }), []],
  ];
  for (const [name, rules, legacy, candidate, expected] of cases) {
    it(name, () => {
      const comparison = compare(legacy, candidate, rules === undefined ? DEFAULT_RULES : parseRules(rules));
      assert.deepEqual(summary(comparison), expected);
    });
  }

  it('reports the values of a status and a header difference', () => {
    const comparison = compare(response(200, { 'content-type': 'application/json' }, '{}'), response(201, { 'content-type': 'application/vnd.api+json' }, '{}'), parseRules({ headers: ['content-type'] }));
    assert.deepEqual(comparison.differences.map(({ path, kind, legacy, new: candidate, field }) => ({ path, kind, legacy, new: candidate, field })), [
      { path: '/status', kind: 'status', legacy: 200, new: 201, field: '/status' },
      { path: '/headers/content-type', kind: 'header', legacy: 'application/json', new: 'application/vnd.api+json', field: '/headers/content-type' },
    ]);
  });
});

describe('compare: bodies by media type', () => {
  const text = { 'content-type': 'text/plain; charset=utf-8' };
  const png = { 'content-type': 'image/png' };
  const cases: Array<[string, Observation, Observation, string[]]> = [
    ['JSON by +json media type', response(200, JSON_API, '{"a":1}'), response(200, JSON_API, '{ "a": 1 }'), []],
    ['JSON with parameters in the media type', response(200, { 'content-type': 'Application/JSON; charset=utf-8' }, Buffer.from('[1]')), response(200, JSON_API, [1]), []],
    ['a parsed body and a raw one', response(200, {}, { a: 1 }), response(200, JSON_API, Buffer.from('{"a":2}')), ['changed /a']],
    ['invalid JSON is compared as text', response(200, JSON_API, '{oops'), response(200, JSON_API, '{oops'), []],
    ['invalid JSON against JSON is a type difference', response(200, JSON_API, '{oops'), response(200, JSON_API, '{}'), ['type ']],
    ['text is compared as text', response(200, text, '{"a":1}'), response(200, text, '{ "a": 1 }'), ['changed ']],
    ['equal text matches', response(200, text, Buffer.from('héllo')), response(200, text, 'héllo'), []],
    ['other bodies by SHA-256', response(200, png, Buffer.from([1, 2, 3])), response(200, png, Buffer.from([1, 2, 4])), ['changed ']],
    ['equal bytes match', response(200, png, Buffer.from([1, 2, 3])), response(200, png, Buffer.from([1, 2, 3])), []],
    ['empty bodies are equal whatever their types say', response(204, JSON_API), response(204, png, Buffer.alloc(0)), []],
    ['an empty body and a JSON one', response(200, JSON_API, ''), response(200, JSON_API, '{}'), ['type ']],
  ];
  for (const [name, legacy, candidate, expected] of cases) it(name, () => assert.deepEqual(summary(compare(legacy, candidate)), expected));

  it('shows bytes by their digest', () => {
    const [difference] = compare(response(200, png, Buffer.from('a')), response(200, png, Buffer.from('b'))).differences;
    assert.match(String(difference?.legacy), /^sha256:ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb$/);
  });

  it('ignoring the root hides a text body', () => {
    assert.equal(compare(response(200, text, 'a'), response(200, text, 'b'), parseRules({ ignore: [''] })).verdict, 'match');
  });
});

describe('compare: content encodings', () => {
  const document = JSON.stringify({ data: { id: '1', name: 'Dog bowl' } });
  const encoded: Array<[string, Buffer]> = [
    ['gzip', gzipSync(document)], ['br', brotliCompressSync(document)], ['deflate', deflateSync(document)],
  ];
  for (const [coding, bytes] of encoded) {
    it(`decodes ${coding} before comparing`, () => {
      assert.equal(compare(response(200, { ...JSON_API, 'content-encoding': coding }, bytes), json(JSON.parse(document))).verdict, 'match');
    });
  }

  it('decodes raw deflate, which some servers send as "deflate"', () => {
    assert.equal(compare(response(200, { ...JSON_API, 'content-encoding': 'deflate' }, deflateRawSync(document)), json(JSON.parse(document))).verdict, 'match');
  });

  it('undoes stacked codings from the last', () => {
    const twice = brotliCompressSync(gzipSync(document));
    assert.equal(compare(response(200, { ...JSON_API, 'content-encoding': 'gzip, br' }, twice), json(JSON.parse(document))).verdict, 'match');
  });

  const undecodable: Array<[string, Observation, RegExp]> = [
    ['an unknown coding', response(200, { 'content-encoding': 'zstd' }, Buffer.from('x')), /^new body: unsupported content-encoding "zstd"$/],
    ['a corrupt body', response(200, { 'content-encoding': 'gzip' }, Buffer.from('not gzip')), /^new body: corrupt gzip body/],
    ['a zip bomb', response(200, { 'content-encoding': 'gzip' }, gzipSync(Buffer.alloc(1 << 20))), /^new body: gzip body larger than 65536 bytes once decoded$/],
  ];
  for (const [what, candidate, reason] of undecodable) {
    it(`gives verdict error for ${what}, naming the side`, () => {
      const comparison = compare(response(500, {}, Buffer.from('x')), candidate, DEFAULT_RULES, { maxDecodedBytes: 65536 });
      assert.equal(comparison.verdict, 'error');
      assert.match(comparison.reason ?? '', reason);
      assert.deepEqual(summary(comparison), ['status /status'], 'the status difference is still reported');
    });
  }
});

describe('compare: transport failures', () => {
  const cases: Array<[string, Observation, Observation, string]> = [
    ['legacy refused the connection', failure('connection refused'), json({}), 'legacy: connection refused'],
    ['new timed out', json({}), failure('timeout'), 'new: timeout'],
    ['both failed', failure('reset'), failure('timeout'), 'legacy: reset; new: timeout'],
  ];
  for (const [what, legacy, candidate, reason] of cases) {
    it(`${what}: verdict error with the reason`, () => {
      assert.deepEqual(compare(legacy, candidate), { verdict: 'error', differences: [], reason });
    });
  }
});

describe('compare: across a thread boundary', () => {
  it('rules, observations and comparisons are plain data that structured clone keeps', () => {
    const rules = parseRules({ ignore: ['/meta'], unordered: [{ path: '/data', key: 'id' }], timestamps: 'instant', headers: ['etag'] });
    const legacy = json({ data: [{ id: '1' }, { id: '2' }], meta: 1 }), candidate = json({ data: [{ id: '2' }, { id: '3' }] });
    const comparison = compare(legacy, candidate, rules);
    assert.deepEqual(compare(structuredClone(legacy), structuredClone(candidate), structuredClone(rules)), comparison);
    assert.deepEqual(structuredClone(comparison), comparison);
  });
});

describe('compare: properties', () => {
  const rules = parseRules({
    ignore: ['/**/id'], unordered: [{ path: '/*' }, { path: '/**/items', key: 'k' }], numericTolerance: 0.01, timestamps: 'instant',
  });
  const timestamp = fc.date({ min: new Date('1970-01-01T00:00:00Z'), max: new Date('2100-01-01T00:00:00Z'), noInvalidDate: true }).map((date) => date.toISOString());
  const value = fc.letrec<{ json: JsonValue }>((tie) => ({
    json: fc.oneof({ depthSize: 'small' },
      fc.constantFrom<JsonValue>(null, true, false, '', 'id', 'k', 'items'), fc.double({ noNaN: true, noDefaultInfinity: true, min: -10, max: 10 }),
      fc.integer(), fc.string(), timestamp,
      fc.array(tie('json')), fc.dictionary(fc.constantFrom('id', 'k', 'items', '', 'a', 'b'), tie('json')), fc.dictionary(fc.string(), tie('json'))),
  })).json;
  const observation = fc.oneof(
    fc.record({ status: fc.constantFrom(200, 404), body: value }).map(({ status, body }) => json(body, status)),
    fc.constantFrom(failure('timeout'), response(204, {})),
  );

  it('an observation compared with itself is a match (or an error for a failure)', () => {
    fc.assert(fc.property(observation, (o) => {
      const expected = 'error' in o ? 'error' : 'match';
      assert.equal(compare(o, o, rules).verdict, expected);
      assert.equal(compare(o, o).verdict, expected);
    }), { numRuns: 300 });
  });

  it('the verdict is symmetric', () => {
    fc.assert(fc.property(observation, observation, (a, b) => {
      assert.equal(compare(a, b, rules).verdict, compare(b, a, rules).verdict);
      assert.equal(compare(a, b).verdict, compare(b, a).verdict);
    }), { numRuns: 500 });
  });

  it('without rules, equal JSON is exactly what matches', () => {
    fc.assert(fc.property(value, value, (a, b) => {
      const canonical = (v: JsonValue): string => JSON.stringify(v, (_key, inner: JsonValue) => (inner && typeof inner === 'object' && !Array.isArray(inner) ? Object.fromEntries(Object.entries(inner).sort(([x], [y]) => (x < y ? -1 : 1))) : inner));
      assert.equal(compare(json(a), json(b)).verdict === 'match', canonical(a) === canonical(b));
    }), { numRuns: 300 });
  });
});
