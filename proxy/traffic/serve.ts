import { type Answer, failedAnswer, type UpstreamFailure } from '../backends/answer.js';
import { type LambdaBackend, MAX_PAYLOAD_BYTES, writeResponse } from '../backends/lambda.js';
import type { HttpResponse } from '../backends/lambda-event.js';
import type { Forwarded, LegacyBackend } from '../backends/legacy.js';
import { type Exchange, type UpstreamRequest, upstreamRequest } from '../backends/upstream.js';
import { BodyStalled, type BufferedBody, bufferUpTo, ClientLeft } from '../http/body.js';
import { CircuitBreaker, type CircuitState } from '../backends/circuit.js';
import type { Config } from '../config/config.js';
import type { Metrics } from '../telemetry/metrics.js';
import { asCompared, SAFE_METHODS, type Shadows, type SkipReason } from '../shadow/shadow.js';
import type { Side } from '../decision/stage.js';
import type { Tally } from '../evidence/tally.js';
import type { Plan } from './plan.js';
import type { Inbound } from '../http/request.js';
import { delivered, sendProblem } from '../http/respond.js';

/** How the primary side served a request: what accounting reads. */
export interface Served {
  readonly servedBy: Side;
  /** Time to the answering side's response, when it gave one. */
  readonly primaryMs: number | undefined;
  /** Time the new side took, when legacy answered a request the new side failed. */
  readonly failedOverMs?: number;
}

/** The body of a request without one (neither a length nor chunked framing). */
const NO_BODY = Buffer.alloc(0);

const CIRCUIT_GAUGE: Record<CircuitState, number> = { closed: 0, half_open: 1, open: 2 };

/** Legacy's answer as the client got it, when there is one to compare: not when the client ended the exchange. */
function comparable(forwarded: Forwarded): Answer | undefined {
  return 'clientEnded' in forwarded ? undefined : forwarded;
}

/** What the primary side is made of, given by the server that assembles the proxy. */
export interface PrimaryParts {
  readonly config: Config;
  readonly legacy: LegacyBackend;
  readonly lambda: LambdaBackend;
  readonly shadows: Shadows;
  readonly metrics: Metrics;
  readonly tally: Tally;
  readonly random: () => number;
  /** Told when a group's breaker around its new side changes state. */
  readonly onCircuit: (group: string, state: CircuitState) => void;
}

/** The primary side's half of the request path: serve, fall back when allowed, and send the shadow the plan says. */
export class Primary {
  private readonly breakers: ReadonlyMap<string, CircuitBreaker>;
  /** Request bodies streaming to legacy now, and how many may. */
  private streaming = 0;
  private readonly maxStreaming: number;

  private readonly config: Config;
  private readonly legacy: LegacyBackend;
  private readonly lambda: LambdaBackend;
  private readonly shadows: Shadows;
  private readonly metrics: Metrics;
  private readonly tally: Tally;
  private readonly random: () => number;

  constructor(parts: PrimaryParts) {
    const { config, metrics, onCircuit } = parts;
    ({ config: this.config, legacy: this.legacy, lambda: this.lambda, shadows: this.shadows, metrics: this.metrics, tally: this.tally, random: this.random } = parts);
    this.maxStreaming = Math.max(1, Math.floor(config.legacy.connections * config.legacy.streamedShare));
    this.breakers = new Map(config.groups.map((group) => {
      metrics.circuitState.set({ group: group.name }, 0);
      return [group.name, new CircuitBreaker(group.circuit, (state) => {
        metrics.circuitState.set({ group: group.name }, CIRCUIT_GAUGE[state]);
        onCircuit(group.name, state);
      })];
    }));
  }

  circuits(): ReadonlyMap<string, CircuitState> {
    return new Map([...this.breakers].map(([name, breaker]) => [name, breaker.state]));
  }

  /**
   * Traffic outside the route table, and a routed request whose stage is served by legacy without
   * a shadow: its body's first `legacy.bufferBodyBytes` are read before a pooled connection is taken.
   */
  async passThrough(exchange: Exchange, plan?: Plan): Promise<Served> {
    // Nothing to read first: the request goes at once, without the body's promise in between.
    if (exchange.inbound.framing.kind === 'none') return this.forwardWhole(exchange, NO_BODY);
    let buffered: BufferedBody;
    try {
      buffered = await this.bodyOf(exchange, this.config.legacy.bufferBodyBytes);
    } catch (error) {
      return this.unread(exchange, error, plan);
    }
    return this.forwardToLegacy(exchange, buffered);
  }

  serve(exchange: Exchange, plan: Plan): Promise<Served> {
    if (plan.shadow !== undefined && plan.shadow !== 'send') this.skipped(plan, plan.shadow);
    if (plan.side === 'new') return this.serveNew(exchange, plan);
    return plan.shadow === 'send' ? this.serveLegacyShadowed(exchange, plan) : this.passThrough(exchange, plan);
  }

  private answeredByLegacy(exchange: Exchange, forwarded: Forwarded): Served {
    if ('clientEnded' in forwarded && forwarded.clientEnded === 'stalled') return this.stalled(exchange);
    this.metrics.upstreamDuration.observe({ group: exchange.group, backend: 'legacy', role: 'primary' }, forwarded.ms / 1000);
    if ('failure' in forwarded && forwarded.failure) {
      this.metrics.upstreamErrors.inc({ group: exchange.group, backend: 'legacy', role: 'primary', reason: forwarded.failure.reason });
      exchange.log.warn({ reason: forwarded.failure.reason }, forwarded.failure.detail);
      this.fail(exchange, forwarded.failure);
      return { servedBy: 'legacy', primaryMs: undefined };
    }
    return { servedBy: 'legacy', primaryMs: forwarded.ms };
  }

  private fail(exchange: Exchange, failure: UpstreamFailure): void {
    sendProblem(exchange, failure.status, failure.reason, failure.detail, failure.headers);
  }

  /**
   * The body is buffered first (up to the group's cap) so that both sides get it; a larger one
   * streams to legacy alone, once its first `legacy.bufferBodyBytes` have come.
   */
  private async serveLegacyShadowed(exchange: Exchange, plan: Plan): Promise<Served> {
    const { group, match } = plan;
    const { framing } = exchange.inbound;
    const shadowable = framing.kind !== 'length' || framing.bytes <= group.shadow.maxBodyBytes;
    let buffered: BufferedBody;
    try {
      buffered = await this.bodyOf(exchange, shadowable ? Math.max(group.shadow.maxBodyBytes, this.config.legacy.bufferBodyBytes) : this.config.legacy.bufferBodyBytes);
    } catch (error) {
      return this.unread(exchange, error, plan);
    }
    if ('stream' in buffered || buffered.body.length > group.shadow.maxBodyBytes) {
      this.skipped(plan, 'body_too_large');
      return this.forwardToLegacy(exchange, buffered);
    }
    const forwarded = this.legacy.forward(exchange, buffered.body, this.config.shadow.captureBytes);
    this.dispatch(plan, exchange.inbound, upstreamRequest(exchange.inbound, group.name, match, buffered.body, this.config.legacy.timeoutMs), forwarded.then(comparable));
    return this.answeredByLegacy(exchange, await forwarded);
  }

  /** The new side answers; a failed idempotent request falls back to legacy when the group allows it. */
  private async serveNew(exchange: Exchange, plan: Plan): Promise<Served> {
    const { group, match } = plan;
    const { framing } = exchange.inbound;
    let buffered: BufferedBody | undefined;
    if (framing.kind !== 'length' || framing.bytes <= MAX_PAYLOAD_BYTES) {
      try {
        buffered = await this.bodyOf(exchange, MAX_PAYLOAD_BYTES);
      } catch (error) {
        return this.unread(exchange, error, plan);
      }
    }
    if (buffered === undefined || 'stream' in buffered) {
      buffered?.stream.destroy();
      if (plan.shadow === 'send') this.skipped(plan, 'body_too_large');
      // The rest of the body is never read: the connection cannot carry another request.
      sendProblem({ ...exchange, keepAlive: () => false }, 413, 'too_large', `The request is larger than the ${MAX_PAYLOAD_BYTES} bytes a Lambda invocation takes.`);
      return { servedBy: 'new', primaryMs: undefined };
    }
    const { body } = buffered;
    const request = upstreamRequest(exchange.inbound, group.name, match, body, group.timeoutMs);
    const answering = this.invoke(exchange, plan, request);
    if (plan.shadow === 'send') {
      if (body.length > group.shadow.maxBodyBytes) this.skipped(plan, 'body_too_large');
      else this.dispatch(plan, exchange.inbound, request, answering.then(async (answer) => (await this.deliveredWhole(exchange)) ? asCompared(request.method, answer) : undefined));
    }

    const answer = await answering;
    if (!answer.failure && answer.observation.status < 500) {
      writeResponse(exchange, answer.observation);
      return { servedBy: 'new', primaryMs: answer.ms };
    }
    const failure: UpstreamFailure = answer.failure ?? { reason: 'status_5xx', status: answer.observation.status, detail: `The new service answered ${answer.observation.status}.` };
    if (exchange.res.destroyed) return { servedBy: 'new', primaryMs: answer.ms };
    if (group.fallback && SAFE_METHODS.has(exchange.inbound.method) && failure.reason !== 'too_large') {
      this.metrics.fallbacks.inc({ group: group.name, reason: failure.reason });
      exchange.log.warn({ reason: failure.reason }, `new side failed; legacy answers instead: ${failure.detail}`);
      const served = this.answeredByLegacy(exchange, await this.legacy.forward(exchange, body));
      return { ...served, failedOverMs: answer.ms };
    }
    if (answer.failure) this.fail(exchange, failure);
    else writeResponse(exchange, answer.observation);
    return { servedBy: 'new', primaryMs: answer.ms };
  }

  /**
   * A body read whole goes at once; one still streaming holds its pooled connection at the
   * client's pace, so such bodies may take only `legacy.streamedShare` of the pool together.
   */
  private async forwardToLegacy(exchange: Exchange, buffered: BufferedBody): Promise<Served> {
    if ('body' in buffered) return this.forwardWhole(exchange, buffered.body);
    if (this.streaming >= this.maxStreaming) {
      buffered.stream.destroy();
      exchange.log.warn({ streaming: this.streaming }, 'a streamed upload refused: streamed uploads hold their share of the legacy pool');
      sendProblem({ ...exchange, keepAlive: () => false }, 503, 'legacy_busy', `${this.streaming} streamed uploads hold their share of the connections to the legacy system; send it again later.`, { 'retry-after': '1' });
      return { servedBy: 'legacy', primaryMs: undefined };
    }
    this.streaming += 1;
    try {
      return this.answeredByLegacy(exchange, await this.legacy.forward(exchange, buffered.stream));
    } finally {
      this.streaming -= 1;
    }
  }

  private forwardWhole(exchange: Exchange, body: Buffer): Promise<Served> {
    return this.legacy.forward(exchange, body).then((forwarded) => this.answeredByLegacy(exchange, forwarded));
  }

  private bodyOf(exchange: Exchange, limit: number): Promise<BufferedBody> {
    return bufferUpTo(exchange.req, exchange.inbound.framing, limit, this.config.traffic.bodyIdleMs);
  }

  /** A body that never came whole, before any side was asked: the client left or stalled. */
  private unread(exchange: Exchange, error: unknown, plan: Plan | undefined): Served {
    if (!(error instanceof ClientLeft || error instanceof BodyStalled)) throw error;
    if (plan?.shadow === 'send') this.skipped(plan, 'client_aborted');
    if (error instanceof BodyStalled) return this.stalled(exchange, plan);
    exchange.log.info('the client left before its request body was complete');
    exchange.res.destroy();
    return { servedBy: plan?.side ?? 'legacy', primaryMs: undefined };
  }

  /** A client that paused its body past `traffic.bodyIdleMs`: 408, and its connection closed, since the rest of the body may still come. */
  private stalled(exchange: Exchange, plan?: Plan): Served {
    const idleMs = this.config.traffic.bodyIdleMs;
    exchange.log.info({ idleMs }, 'the client paused its request body too long');
    sendProblem({ ...exchange, keepAlive: () => false }, 408, 'body_timeout', `No byte of the request body came for ${idleMs} ms.`);
    return { servedBy: plan?.side ?? 'legacy', primaryMs: undefined };
  }

  /** Whether the client received all of its answer: only then is there a primary to compare. */
  private async deliveredWhole(exchange: Exchange): Promise<boolean> {
    await delivered(exchange.res);
    return exchange.res.writableFinished;
  }

  private invoke(exchange: Exchange, plan: Plan, request: UpstreamRequest): Promise<Answer<HttpResponse>> {
    const { group } = plan;
    const breaker = this.breakers.get(group.name);
    if (breaker && !breaker.permit()) {
      return Promise.resolve(failedAnswer({ reason: 'circuit_open', status: 503, detail: 'The new service is failing; its circuit is open.', headers: { 'retry-after': String(Math.ceil(group.circuit.openMs / 1000)) } }, 0));
    }
    return this.lambda.invoke(request).then((answer) => {
      this.metrics.upstreamDuration.observe({ group: group.name, backend: 'new', role: 'primary' }, answer.ms / 1000);
      if (answer.failure) {
        this.metrics.upstreamErrors.inc({ group: group.name, backend: 'new', role: 'primary', reason: answer.failure.reason });
        exchange.log.warn({ reason: answer.failure.reason }, answer.failure.detail);
      }
      // An oversized request says nothing about the new side's health.
      if (answer.failure?.reason === 'too_large' || (!answer.failure && answer.observation.status < 500)) breaker?.success();
      else breaker?.failure();
      return answer;
    });
  }

  private dispatch(plan: Plan, inbound: Inbound, request: UpstreamRequest, primary: Promise<Answer | undefined>): void {
    const { group, match } = plan;
    const dispatched = this.shadows.dispatch({
      group, route: match.route.key, request, receivedAt: inbound.receivedAt, decision: plan.decision, primarySide: plan.side, primary,
      calibrate: SAFE_METHODS.has(request.method) && this.random() * 100 < group.shadow.calibrationPercent,
    });
    if (dispatched !== 'dispatched') this.skipped(plan, dispatched);
  }

  private skipped({ group, match }: Plan, reason: SkipReason): void {
    this.metrics.shadowSkipped.inc({ group: group.name, reason });
    this.tally.countSkip(group.name, match.route.key, reason);
  }
}
