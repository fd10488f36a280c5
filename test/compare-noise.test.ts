import assert from 'node:assert/strict';
import {
  compare, type Comparison, DEFAULT_NOISE_THRESHOLDS, failure, isNoisyField, type JsonValue, NoiseModel, type Observation, parseRules, response, rulesToJson, suggestRules,
} from '../compare/index.js';

const ROUTE = 'GET /products/{id}';
const rules = parseRules({ headers: ['content-type', 'x-served-by'] });

/** A deterministic pseudo-random sequence (mulberry32), so that the synthetic traffic is the same on every run. */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Variant {
  readonly generatedAt: string;
  readonly price: number;
  readonly servedBy: string;
  readonly reviews: number[];
}

function product({ generatedAt, price, servedBy, reviews }: Variant): Observation {
  const body: JsonValue = {
    data: { type: 'products', id: '1001', attributes: { name: 'Dog bowl', price, reviews: reviews.map((stars) => ({ stars })) } },
    meta: { generatedAt },
  };
  return response(200, { 'content-type': 'application/vnd.api+json', 'x-served-by': servedBy }, Buffer.from(JSON.stringify(body)));
}

/**
 * Synthetic traffic for one route: meta.generatedAt and the x-served-by header differ on every
 * response (noise, A/A and A/B alike), and the new side has a real regression: 3 % of its
 * prices are off by a cent, which A/A never shows.
 */
function traffic(requests: number, aaShare: number) {
  const next = random(42);
  const model = new NoiseModel();
  const ab: Comparison[] = [];
  let served = 0;
  for (let i = 0; i < requests; i++) {
    const reviews = [5, 4, 3].slice(0, 1 + (i % 3));
    const side = (regression: boolean): Variant => ({
      generatedAt: new Date(Date.UTC(2024, 2, 1) + ++served).toISOString(),
      price: regression && next() < 0.03 ? 12.51 : 12.5,
      servedBy: `instance-${served}`,
      reviews,
    });
    const legacy = product(side(false));
    const comparison = compare(legacy, product(side(true)), rules);
    model.recordAB(ROUTE, comparison);
    ab.push(comparison);
    if (next() < aaShare) model.recordAA(ROUTE, compare(legacy, product(side(false)), rules));
  }
  return { model, ab };
}

describe('noise calibration', () => {
  const { model, ab } = traffic(4000, 0.1);
  const fields = () => model.snapshot().routes[0]?.fields ?? [];
  const field = (name: string) => fields().find((f) => f.field === name);

  it('counts, per field, the comparisons in which it differs on each side', () => {
    const route = model.snapshot().routes[0];
    assert.equal(route?.route, ROUTE);
    assert.equal(route?.comparisonsAB, 4000);
    assert.ok(route && route.comparisonsAA > 300 && route.comparisonsAA < 500, `about 10 % A/A, got ${route?.comparisonsAA}`);
    assert.equal(field('/meta/generatedAt')?.differencesAB, 4000);
    assert.equal(field('/meta/generatedAt')?.differencesAA, route?.comparisonsAA);
    assert.equal(field('/data/attributes/price')?.differencesAA, 0);
  });

  it('classifies a field that differs A/A as often as A/B as noise', () => {
    assert.equal(field('/meta/generatedAt')?.noisy, true);
    assert.equal(field('/headers/x-served-by')?.target, 'header');
    assert.equal(field('/headers/x-served-by')?.noisy, true, `x-served-by: ${JSON.stringify(field('/headers/x-served-by'))}`);
  });

  it('never classifies the real regression as noise', () => {
    const price = field('/data/attributes/price');
    assert.ok(price && price.differencesAB > 60 && price.differencesAB < 180, `about 3 % of 4000, got ${price?.differencesAB}`);
    assert.equal(price.noisy, false);
  });

  it('gives verdict noise to a comparison whose every difference is noise, mismatch to the regressions', () => {
    const verdicts = ab.map((comparison) => model.classify(ROUTE, comparison));
    const regressions = verdicts.filter((c) => c.differences.some((d) => d.field === '/data/attributes/price'));
    assert.ok(regressions.length > 0);
    assert.ok(regressions.every((c) => c.verdict === 'mismatch'), 'a regression is never hidden');
    const others = verdicts.filter((c) => !regressions.includes(c));
    assert.ok(others.length > 0);
    assert.ok(others.every((c) => c.verdict === 'noise'));
  });

  it('generalises array indexes, so that a route has a bounded set of fields', () => {
    const comparison = compare(product({ generatedAt: 'a', price: 1, servedBy: 'a', reviews: [1, 2, 3] }), product({ generatedAt: 'a', price: 1, servedBy: 'a', reviews: [2, 3, 4] }), rules);
    assert.deepEqual([...new Set(comparison.differences.map((d) => d.field))], ['/data/attributes/reviews/*/stars']);
    const counting = new NoiseModel();
    counting.recordAB(ROUTE, comparison);
    assert.deepEqual(counting.snapshot().routes[0]?.fields.map((f) => [f.field, f.differencesAB]), [['/data/attributes/reviews/*/stars', 1]], 'once per comparison');
  });

  it('turns learned noise into suggested rules for a person to adopt', () => {
    const suggested = suggestRules(fields(), rules);
    assert.deepEqual(rulesToJson(suggested), { ignore: ['/meta/generatedAt'], headers: ['content-type'] });
    assert.ok(Object.isFrozen(suggested));
  });

  it('the suggested rules, once adopted, leave exactly the regressions', () => {
    const suggested = suggestRules(fields(), rules);
    const [legacy, candidate] = [12.5, 12.51].map((price, i) => product({ generatedAt: `2024-03-01T10:00:0${i}Z`, price, servedBy: `instance-${i}`, reviews: [5] })) as [Observation, Observation];
    assert.deepEqual(compare(legacy, candidate, suggested).differences.map((d) => d.path), ['/data/attributes/price']);
  });

  it('suggests status: false for a noisy status, and keeps rules the person already has', () => {
    const noisy = new NoiseModel({ thresholds: { minSamplesAA: 1 } });
    const ok = response(200, {}, ''), teapot = response(418, {}, '');
    noisy.recordAB('GET /x', compare(ok, teapot));
    noisy.recordAA('GET /x', compare(ok, teapot));
    const base = parseRules({ ignore: ['/meta'] });
    assert.deepEqual(rulesToJson(suggestRules(noisy.snapshot().routes[0]?.fields ?? [], base)), { ignore: ['/meta'], status: false });
  });

  it('snapshots are immutable and do not change with later traffic', () => {
    const counting = new NoiseModel();
    counting.recordAB(ROUTE, compare(response(200), response(201)));
    const before = counting.snapshot();
    counting.recordAB(ROUTE, compare(response(200), response(201)));
    assert.equal(before.routes[0]?.comparisonsAB, 1);
    assert.ok(Object.isFrozen(before) && Object.isFrozen(before.routes) && Object.isFrozen(before.routes[0]?.fields[0]));
  });

  it('counts no error and classifies only mismatches', () => {
    const counting = new NoiseModel();
    const error = compare(failure('timeout'), response(200));
    counting.recordAB(ROUTE, error);
    counting.recordAA(ROUTE, error);
    assert.deepEqual(counting.snapshot().routes, []);
    assert.equal(counting.classify(ROUTE, error), error);
    const match = compare(response(200), response(200));
    assert.equal(counting.classify(ROUTE, match), match);
  });

  it('without A/A traffic nothing is noise', () => {
    const uncalibrated = new NoiseModel();
    const comparison = compare(response(200), response(500));
    for (let i = 0; i < 10; i++) uncalibrated.recordAB(ROUTE, comparison);
    assert.equal(uncalibrated.classify(ROUTE, comparison).verdict, 'mismatch');
  });

  it('tracks a capped number of fields per route; the others are counted and never noise', () => {
    const capped = new NoiseModel({ maxFieldsPerRoute: 2 });
    const comparison = compare(response(200, {}, { a: 1, b: 1, c: 1 }), response(200, {}, { a: 2, b: 2, c: 2 }));
    capped.recordAB(ROUTE, comparison);
    capped.recordAA(ROUTE, comparison);
    const route = capped.snapshot().routes[0];
    assert.deepEqual(route?.fields.map((f) => f.field), ['/a', '/b']);
    assert.equal(route?.untracked, 2);
    assert.equal(capped.classify(ROUTE, comparison).verdict, 'mismatch', '/c is not known to be noise');
  });
});

describe('noise calibration over time and across replicas', () => {
  const differs = (field: string) => compare(response(200, {}, { [field]: 1 }), response(200, {}, { [field]: 2 }));
  const same = compare(response(200, {}, { a: 1 }), response(200, {}, { a: 1 }));
  const thresholds = { minSamplesAA: 5, decayEvery: 100 };

  it('calls a field real again once it stops differing A/A: old counts decay', () => {
    const learn = (model: NoiseModel) => {
      for (let i = 0; i < 1000; i++) {
        model.recordAB(ROUTE, differs('id'));
        model.recordAA(ROUTE, differs('id'));
      }
      // The side stops generating ids per call: A/A pairs now agree, A/B still differs (a regression).
      for (let i = 0; i < 400; i++) {
        model.recordAB(ROUTE, differs('id'));
        if (i % 2 === 0) model.recordAA(ROUTE, same);
      }
      return model.snapshot().routes[0]?.fields[0];
    };
    const remembering = learn(new NoiseModel({ thresholds: { ...thresholds, decayEvery: 1e9 } }));
    assert.equal(remembering?.noisy, true, `without decay the old A/A differences keep it noise: ${remembering?.why}`);
    const forgetting = learn(new NoiseModel({ thresholds }));
    assert.equal(forgetting?.noisy, false, forgetting?.why);
  });

  it('says why a field is or is not noise, with the figures', () => {
    const model = new NoiseModel({ thresholds });
    for (let i = 0; i < 4; i++) model.recordAA(ROUTE, differs('id'));
    model.recordAB(ROUTE, differs('id'));
    assert.equal(model.snapshot().routes[0]?.fields[0]?.why, 'real: 4 A/A comparisons, fewer than the 5 needed to call anything noise');
    model.recordAA(ROUTE, differs('id'));
    assert.equal(model.snapshot().routes[0]?.fields[0]?.why, 'noise: differs A/A (100 %) at least as often as A/B (100 %)');
  });

  it('adds up what several replicas counted, keeping what each counted since', () => {
    const [one, two] = [new NoiseModel({ thresholds }), new NoiseModel({ thresholds })];
    for (let i = 0; i < 3; i++) one.recordAA(ROUTE, differs('id'));
    for (let i = 0; i < 3; i++) two.recordAA(ROUTE, differs('id'));
    one.recordAB(ROUTE, differs('id'));
    // The shared store adds both replicas' changes; each loads the sum.
    const shared = [...one.takeChanges(), ...two.takeChanges()];
    assert.deepEqual(one.takeChanges(), [], 'changes are handed over once');
    two.recordAB(ROUTE, differs('id'));
    two.load(shared);
    const [route] = two.snapshot().routes;
    assert.equal(route?.comparisonsAA, 6);
    assert.equal(route?.comparisonsAB, 2, 'the sum, and the comparison counted since');
    assert.equal(route?.fields[0]?.noisy, true, '6 A/A samples reach the minimum only together');
  });
});

describe('noise calibration: the thresholds', () => {
  const cases: Array<[string, { ab: number; nAB: number; aa: number; nAA: number }, boolean]> = [
    ['A/A as often as A/B', { ab: 500, nAB: 1000, aa: 50, nAA: 100 }, true],
    ['A/A more often than A/B', { ab: 10, nAB: 1000, aa: 5, nAA: 100 }, true],
    ['A/B clearly more often than A/A (a regression on a noisy field)', { ab: 500, nAB: 1000, aa: 10, nAA: 100 }, false],
    ['a gap below both thresholds', { ab: 1000, nAB: 100_000, aa: 99, nAA: 10_000 }, true],
    // Diffy: real only when the gap exceeds both thresholds, so failing either one is noise.
    ['a gap below the relative threshold only', { ab: 500, nAB: 1000, aa: 45, nAA: 100 }, true],
    ['a gap below the absolute threshold only', { ab: 20, nAB: 100_000, aa: 1, nAA: 10_000 }, true],
    ['a gap above both thresholds', { ab: 500, nAB: 1000, aa: 20, nAA: 100 }, false],
    ['fewer A/A comparisons than the minimum, however noisy', { ab: 10, nAB: 1000, aa: 19, nAA: 19 }, false],
    ['no A/A difference at all', { ab: 1, nAB: 100_000, aa: 0, nAA: 10_000 }, false],
    ['no A/A comparison at all', { ab: 1, nAB: 100_000, aa: 0, nAA: 0 }, false],
  ];
  for (const [what, { ab, nAB, aa, nAA }, noisy] of cases) {
    it(`${what}: ${noisy ? 'noise' : 'not noise'}`, () => {
      assert.equal(isNoisyField({ differencesAB: ab, differencesAA: aa }, nAB, nAA), noisy);
    });
  }

  it('are configurable, and a field never seen differing A/A stays real under any of them', () => {
    const counts = { differencesAB: 500, differencesAA: 45 };
    assert.equal(isNoisyField({ differencesAB: 500, differencesAA: 20 }, 1000, 100, { ...DEFAULT_NOISE_THRESHOLDS, absolute: 0.5 }), true);
    assert.equal(isNoisyField(counts, 1000, 100, { ...DEFAULT_NOISE_THRESHOLDS, minSamplesAA: 101 }), false);
    assert.equal(isNoisyField({ differencesAB: 1, differencesAA: 0 }, 1000, 100, { ...DEFAULT_NOISE_THRESHOLDS, relative: 10, absolute: 10 }), false);
    const model = new NoiseModel({ thresholds: { absolute: 0.1 } });
    assert.deepEqual(model.thresholds, { relative: 0.2, absolute: 0.1, minSamplesAA: 20, decayEvery: 10_000 });
  });
});
