import assert from 'node:assert/strict';
import { type Answer, NO_ANSWER, send } from './answers.js';
import { sample, sampleAll, samplesWith } from './metrics.js';
import type { TestProxy } from './proxy.js';
import { until } from './until.js';

/** What a client should have got. */
export type Want =
  | { readonly kind: 'passed'; readonly status: number; readonly body: string | undefined }
  | { readonly kind: 'problem'; readonly status: number; readonly code: string }
  | { readonly kind: 'cut'; readonly status: number | undefined };

/** An answer passed on whole (with this body, when given). */
export const passed = (status: number, body?: string): Want => ({ kind: 'passed', status, body });

/** The proxy's own JSON:API error document, with this status and code. */
export const problem = (status: number, code: string): Want => ({ kind: 'problem', status, code });

/** The connection cut: after the headers of `status` (a response that could not be finished), or before any response. */
export const cut = (status?: number): Want => ({ kind: 'cut', status });

/** Every one of these answers should be `want`. */
export const each = (answers: ReadonlyArray<Answer | undefined>, want: Want) => answers.map((answer) => [answer, want] as const);

/** Counts by labels: each entry the sum of the samples that carry those labels (and any others). */
export type Counts = ReadonlyArray<readonly [Readonly<Record<string, string>>, number]>;

export interface Accounting {
  /** What each client got (undefined: nothing), and what it should have got. */
  readonly answers: ReadonlyArray<readonly [Answer | undefined, Want]>;
  /** Every request the case sent, by its labels in cutover_requests_total: together, all that was counted. */
  readonly requests: Counts;
  /** Other counters the case moves (comparisons, skipped shadows, upstream errors, fallbacks…), read strictly. */
  readonly counters?: Readonly<Record<string, Counts>>;
}

const REQUESTS = 'cutover_requests_total';
const COMPARING_STAGES: ReadonlySet<string> = new Set(['shadow', 'live']);

function shown(answer: Answer): string {
  const text = JSON.stringify(answer);
  return text.length > 400 ? `${text.slice(0, 400)}…` : text;
}

function check(answer: Answer, want: Want): void {
  const got = `the client got ${shown(answer)}`;
  if (want.kind === 'cut') {
    assert.equal(answer.status, want.status, `a cut connection${want.status === undefined ? ' before any response' : ` after the headers of ${want.status}`}: ${got}`);
    assert.equal(answer.complete, false, `the answer is cut short: ${got}`);
    return;
  }
  assert.equal(answer.status, want.status, got);
  assert.ok(answer.complete, `the answer is whole: ${got}`);
  assert.match(answer.headers['x-request-id'] ?? '', /\S/, `every answer carries x-request-id: ${got}`);
  if (want.kind === 'passed') {
    if (want.body !== undefined) assert.equal(answer.body, want.body, got);
    return;
  }
  assert.equal(answer.headers['content-type'], 'application/vnd.api+json', `the proxy's own error document: ${got}`);
  const document = JSON.parse(answer.body) as { errors?: Array<{ status?: string; code?: string }> };
  assert.deepEqual([document.errors?.[0]?.status, document.errors?.[0]?.code], [String(want.status), want.code], got);
}

function listed(metrics: string, name: string): string {
  return samplesWith(metrics, name).map((entry) => `${JSON.stringify(entry.labels)} ${entry.value}`).join('; ') || 'no samples';
}

/** Each expected count, read strictly: a count the case expects to have happened must be exposed, never read as 0. */
function checkCounts(metrics: string, name: string, counts: Counts): void {
  for (const [labels, expected] of counts) {
    const found = samplesWith(metrics, name, labels);
    if (expected > 0 && found.length === 0) assert.fail(`${name} has no sample ${JSON.stringify(labels)} (expected ${expected}); it has: ${listed(metrics, name)}`);
    assert.equal(sampleAll(metrics, name, labels), expected, `${name} ${JSON.stringify(labels)}; it has: ${listed(metrics, name)}`);
  }
}

/** How many requests of a comparing stage have ended, compared or skipped. */
export function shadowsEnded(metrics: string): number {
  return sampleAll(metrics, 'cutover_comparisons_total', {}) + sampleAll(metrics, 'cutover_shadow_skipped_total', {});
}

/** Every request of a comparing stage ends in exactly one comparison or skipped shadow (the second sum of "Metrics"). */
function shadowsSettled(metrics: string): boolean {
  const comparing = samplesWith(metrics, REQUESTS).filter((entry) => COMPARING_STAGES.has(entry.labels.stage ?? '')).reduce((total, entry) => total + entry.value, 0);
  return sample(metrics, 'cutover_shadow_inflight', {}) === 0 && shadowsEnded(metrics) === comparing;
}

/** Waits for `probe`; when it never holds, the error says what the counters showed last. */
async function settle(s: TestProxy, probe: (metrics: string) => boolean, what: string): Promise<void> {
  try {
    await until(async () => probe(await s.metrics()), what);
  } catch (error) {
    const metrics = await s.metrics();
    const names = [REQUESTS, 'cutover_comparisons_total', 'cutover_shadow_skipped_total'];
    throw new Error(`${(error as Error).message}\n${names.map((name) => `${name}: ${listed(metrics, name)}`).join('\n')}`);
  }
}

/**
 * The three things every case of the fault matrix asserts:
 *  - each client got what it should: the upstream's answer, the proxy's own error document, or a
 *    cut connection where a response could not be finished;
 *  - the counters account for every request: cutover_requests_total counts exactly the requests
 *    listed, every request of a comparing stage is compared or skipped with no shadow left in
 *    flight, and the other counters named read as expected;
 *  - the proxy lives: the admin port says ok, and the traffic port still answers a request
 *    (one the proxy refuses itself, so that a broken upstream cannot fail it; it is counted
 *    after the counts above are read).
 */
export async function accounted(s: TestProxy, expected: Accounting): Promise<void> {
  for (const [answer, want] of expected.answers) check(answer ?? NO_ANSWER, want);
  const total = expected.requests.reduce((all, [, count]) => all + count, 0);
  await settle(s, (metrics) => {
    const counted = sampleAll(metrics, REQUESTS, {});
    if (counted > total) throw new Error(`${counted} requests counted, more than the ${total} sent: ${listed(metrics, REQUESTS)}`);
    return counted === total;
  }, `${total} request(s) counted in ${REQUESTS}`);
  await settle(s, shadowsSettled, 'every request of a comparing stage compared or skipped, and no shadow in flight');
  const metrics = await s.metrics();
  checkCounts(metrics, REQUESTS, expected.requests);
  for (const [name, counts] of Object.entries(expected.counters ?? {})) checkCounts(metrics, name, counts);

  const health = await fetch(`${s.proxy.adminUrl}/healthz`);
  assert.deepEqual([health.status, await health.json()], [200, { status: 'ok' }], 'the admin port answers: the process lives');
  check(await send(s.proxy.trafficUrl, 'OPTIONS *'), problem(400, 'bad_request_target'));
}
