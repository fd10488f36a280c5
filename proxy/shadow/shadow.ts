import { setImmediate as loopTurn } from 'node:timers/promises';
import { compare, type Comparison, response } from '../../compare/index.js';
import type { Answer } from '../backends/answer.js';
import type { LambdaBackend } from '../backends/lambda.js';
import type { LegacyBackend } from '../backends/legacy.js';
import type { UpstreamRequest } from '../backends/upstream.js';
import { CircuitBreaker } from '../backends/circuit.js';
import type { Comparator } from './comparator.js';
import type { Config, Group } from '../config/config.js';
import { SHADOW_HEADER, withHeader } from '../http/headers.js';
import { comparisonRecord, type ComparisonRecord, splitTarget } from '../evidence/record.js';
import type { Decision } from '../decision/flags.js';
import type { Logger } from '../telemetry/log.js';
import type { Metrics } from '../telemetry/metrics.js';
import type { ShadowPool } from './pool.js';
import { otherSide, type Side } from '../decision/stage.js';
import type { Tally } from '../evidence/tally.js';

/**
 * Why a request of a comparing stage was not compared: label values of `cutover_shadow_skipped_total`.
 * `client_aborted`: the client left before its answer was complete, so there is no primary to compare.
 * `shadow_circuit_open`: the shadow side failed `circuit.failures` times in a row; it is left alone
 * for `circuit.openMs`, then one shadow probes it.
 */
export type SkipReason = 'capacity' | 'body_too_large' | 'unsafe_method' | 'sampled_out' | 'client_aborted' | 'shadow_circuit_open';

/** Methods that change nothing, and so may be sent twice. */
export const SAFE_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS']);

/** Whether a request may be sent to a second side: an idempotent one, or a write in a dry-run group. */
export function maySendTwice(group: Group, method: string): boolean {
  return SAFE_METHODS.has(method) || group.shadow.writes === 'dry-run';
}

/** Whether a request is shadowed: writes only in dry-run groups, then the flag's or the group's share. */
export function shadowChoice(group: Group, decision: Decision, method: string, random: () => number): 'send' | SkipReason {
  if (!maySendTwice(group, method)) return 'unsafe_method';
  const percent = decision.shadowPercent ?? group.shadow.percent;
  return random() * 100 < percent ? 'send' : 'sampled_out';
}

export interface ShadowInput {
  readonly group: Group;
  readonly route: string;
  readonly request: UpstreamRequest;
  /** When the proxy received the client's request (epoch ms). */
  readonly receivedAt: number;
  readonly decision: Decision;
  readonly primarySide: Side;
  /** What the client got, once the client has it; undefined when the client left before that. */
  readonly primary: Promise<Answer | undefined>;
  /** Also send the request a second time to the primary's side, to learn noise. */
  readonly calibrate: boolean;
}

/** About 0.5 ms of comparing and publishing a turn, for bodies of a few KB. */
const COMPARISONS_PER_TURN = 16;

/** What the shadows are made of, given by the server that assembles the proxy. */
export interface ShadowsParts {
  readonly config: Config;
  readonly legacy: LegacyBackend;
  readonly lambda: LambdaBackend;
  readonly pool: ShadowPool;
  readonly comparator: Comparator;
  readonly publish: (record: ComparisonRecord) => void;
  readonly metrics: Metrics;
  readonly tally: Tally;
  readonly log: Logger;
}

/**
 * Sends shadows and compares. Everything here runs in the pool, after dispatch returns, so the
 * primary path never waits on the other side, and a shadow's failure never reaches the client.
 */
export class Shadows {
  private readonly breakers = new Map<string, CircuitBreaker>();
  /** The turn comparisons are waiting for now, and how many wait for it. */
  private nextTurn: { ready: Promise<void>; waiting: number; passed: boolean } | undefined;

  private readonly config: Config;
  private readonly legacy: LegacyBackend;
  private readonly lambda: LambdaBackend;
  private readonly pool: ShadowPool;
  private readonly comparator: Comparator;
  private readonly publish: (record: ComparisonRecord) => void;
  private readonly metrics: Metrics;
  private readonly tally: Tally;
  private readonly log: Logger;

  constructor(parts: ShadowsParts) {
    ({ config: this.config, legacy: this.legacy, lambda: this.lambda, pool: this.pool, comparator: this.comparator, publish: this.publish, metrics: this.metrics, tally: this.tally, log: this.log } = parts);
  }

  /** Starts the shadow, or says why not: a full pool drops it (never queues), an open breaker spares a failing side. */
  dispatch(input: ShadowInput): 'dispatched' | 'capacity' | 'shadow_circuit_open' {
    if (this.pool.full) return 'capacity';
    if (!this.breaker(input.group, otherSide(input.primarySide)).permit()) return 'shadow_circuit_open';
    this.pool.run(() => this.shadow(input));
    return 'dispatched';
  }

  private breaker(group: Group, side: Side): CircuitBreaker {
    const key = `${group.name} ${side}`;
    let breaker = this.breakers.get(key);
    if (!breaker) {
      breaker = new CircuitBreaker(group.circuit, (state) => this.log.warn({ group: group.name, shadowSide: side, circuit: state }, `shadow: the ${side} side of group ${group.name} as a shadow is ${state.replace('_', '-')}`));
      this.breakers.set(key, breaker);
    }
    return breaker;
  }

  private async shadow(input: ShadowInput): Promise<void> {
    const { group, route, primarySide } = input;
    const request: UpstreamRequest = {
      ...input.request,
      headers: withHeader(input.request.headers, SHADOW_HEADER, '1'),
      timeoutMs: group.shadow.timeoutMs,
    };
    const shadowSide = otherSide(primarySide);
    const [shadow, primary, second] = await Promise.all([
      this.call(shadowSide, request),
      input.primary,
      input.calibrate ? this.call(primarySide, request) : undefined,
    ]);
    const breaker = this.breaker(group, shadowSide);
    if (shadow.failure) breaker.failure();
    else breaker.success();
    // Compared still (an error), but what the other side would have answered is not known.
    if (shadow.failure?.reason === 'timeout') this.tally.countLost(group.name, route, 'shadow_timeout');
    if (!primary) {
      this.metrics.shadowSkipped.inc({ group: group.name, reason: 'client_aborted' });
      this.tally.countSkip(group.name, route, 'client_aborted');
      this.log.info({ requestId: request.requestId, group: group.name, route, shadowSide, shadowMs: shadow.ms }, 'shadow not compared: the client left before its answer');
      return;
    }
    await this.turn();
    const [legacy, newSide] = shadowSide === 'new' ? [primary, shadow] : [shadow, primary];
    const target = splitTarget(request.url);
    const { query } = target;
    const { comparison, noiseFields, rules } = await this.comparator.recordAB(group.name, route, query, legacy.observation, newSide.observation);
    const { decision } = input;
    this.publish(comparisonRecord({
      at: new Date(), group: group.name, route, primarySide, legacy, new: newSide, comparison, noiseFields, rules,
      request: {
        method: request.method, ...target, requestId: request.requestId, caller: decision.caller, stage: decision.stage,
        rule: decision.rule, variation: decision.variation, headers: input.request.headers, body: request.body, receivedAt: input.receivedAt,
      },
    }));
    if (second) await this.comparator.recordAA(group.name, route, query, primary.observation, second.observation);
  }

  /**
   * A later turn of the event loop than the one that answered the client, shared by at most
   * COMPARISONS_PER_TURN comparisons. Shadows that settle together (a slow side answering a whole
   * pool at once) are then compared a few a turn, with the clients' I/O in between, rather than in
   * one long stall; one a turn would hold shadows (and their pool slots) behind a busy loop.
   */
  private turn(): Promise<void> {
    let turn = this.nextTurn;
    if (!turn || turn.passed || turn.waiting >= COMPARISONS_PER_TURN) {
      const after = turn?.ready ?? Promise.resolve();
      const next = { ready: Promise.resolve(), waiting: 0, passed: false };
      next.ready = after.then(() => loopTurn()).then(() => { next.passed = true; });
      this.nextTurn = turn = next;
    }
    turn.waiting += 1;
    return turn.ready;
  }

  /**
   * Sends a stored request again to both sides, marked as a shadow, and compares the answers
   * under the group's rules: the loop after a fix. Nothing is learned or counted as a comparison.
   */
  async recheck(group: Group, request: UpstreamRequest): Promise<Comparison> {
    const marked: UpstreamRequest = { ...request, headers: withHeader(request.headers, SHADOW_HEADER, '1'), timeoutMs: group.shadow.timeoutMs };
    const [legacy, newSide] = await Promise.all([this.call('legacy', marked), this.call('new', marked)]);
    return compare(legacy.observation, newSide.observation, this.comparator.rulesFor(group.name, request.match.route.key, splitTarget(request.url).query));
  }

  private async call(side: Side, request: UpstreamRequest): Promise<Answer> {
    const labels = { group: request.group, backend: side, role: 'shadow' };
    const answer = side === 'legacy'
      ? await this.legacy.fetch(request, this.config.shadow.captureBytes)
      : asCompared(request.method, await this.lambda.invoke(request));
    this.metrics.upstreamDuration.observe(labels, answer.ms / 1000);
    if (answer.failure) this.metrics.upstreamErrors.inc({ ...labels, reason: answer.failure.reason });
    return answer;
  }
}

/** A function's answer as the client sees it: an answer to HEAD has no body, whatever the function returned. */
export function asCompared(method: string, answer: Answer): Answer {
  if (method !== 'HEAD' || answer.failure || !('body' in answer.observation)) return answer;
  const { status, headers } = answer.observation;
  return { ...answer, observation: response(status, headers) };
}
