import type { IncomingMessage, ServerResponse } from 'node:http';
import { finished } from 'node:stream/promises';
import { failure as failed, type Observation } from '../compare/index.js';
import { type LambdaAnswer, type LambdaBackend, MAX_PAYLOAD_BYTES, writeResponse } from './backends/lambda.js';
import type { HttpResponse } from './backends/lambda-event.js';
import type { LegacyBackend } from './backends/legacy.js';
import { type Exchange, type Failure, type UpstreamRequest, upstreamRequest } from './backends/upstream.js';
import { BodyTooLarge, bufferUpTo, readBody } from './body.js';
import { identifyCaller } from './caller.js';
import { CircuitBreaker, type CircuitState } from './circuit.js';
import type { Config, Group } from './config.js';
import type { Decision, Flags } from './flags.js';
import { addForwarded, removeHopByHop } from './headers.js';
import { type Metrics, statusClass } from './metrics.js';
import { sendProblem } from './problem.js';
import { requestIdOf } from './request-id.js';
import type { RouteMatch, RouteTable } from './route.js';
import { type Mirror, observedResponse, SAFE_METHODS, shadowChoice } from './shadow.js';
import type { ShadowPool } from './shadow-pool.js';
import { primarySide, type Side, type Stage, shadowSide } from './stage.js';

export interface TrafficDependencies {
  readonly config: Config;
  readonly routes: RouteTable;
  readonly flags: Flags;
  readonly legacy: LegacyBackend;
  readonly lambda: LambdaBackend;
  readonly mirror: Mirror;
  readonly pool: ShadowPool;
  readonly metrics: Metrics;
  readonly log: (line: string) => void;
  /** Sampling's source of chance; tests make it predictable. */
  readonly random?: () => number;
}

/** The label of traffic that no route matched: it goes to legacy, untouched and never mirrored. */
export const UNMATCHED = 'unmatched';

const CIRCUIT_GAUGE: Record<CircuitState, number> = { closed: 0, half_open: 1, open: 2 };

/** The labels of `cutover_requests_total`; `servedBy` changes when legacy answers for a failed new side. */
interface Served { readonly group: string; readonly route: string; readonly stage: Stage; servedBy: Side }

/** A routed request on its way: what it needs beyond the exchange to be served and mirrored. */
interface Routed {
  readonly exchange: Exchange;
  readonly match: RouteMatch;
  readonly group: Group;
  readonly served: Served;
  /** Set when this request is mirrored. */
  readonly mirrored: boolean;
}

export interface TrafficHandler {
  (req: IncomingMessage, res: ServerResponse): void;
  /** The state of each group's breaker around its new side. */
  circuits(): ReadonlyMap<string, CircuitState>;
}

function observationOf(method: string, answer: LambdaAnswer): Observation {
  return answer.failure ? failed(`${answer.failure.reason}: ${answer.failure.detail}`) : observedResponse(method, answer.response);
}

/** Settles once the response is done or abandoned; a client that went away is not an error here. */
function delivered(res: ServerResponse): Promise<void> {
  return finished(res).catch(() => undefined);
}

/** The request path of the proxy: identify, route, decide, mirror, serve (falling back when allowed), account. */
export function createTrafficHandler(deps: TrafficDependencies): TrafficHandler {
  const { config, routes, flags, legacy, lambda, mirror, pool, metrics } = deps;
  const random = deps.random ?? Math.random;
  const groups = new Map<string, Group>(config.groups.map((group) => [group.name, group]));
  const breakers = new Map(config.groups.map((group) => {
    metrics.circuitState.set({ group: group.name }, 0);
    return [group.name, new CircuitBreaker(group.circuit, (state) => {
      metrics.circuitState.set({ group: group.name }, CIRCUIT_GAUGE[state]);
      deps.log(`circuit: new side of group ${group.name} is ${state.replace('_', '-')}`);
    })];
  }));

  /** Counts the request once, when its response is finished or, for an aborted one, closed. */
  function account(res: ServerResponse, served: Served): void {
    let counted = false;
    const count = () => {
      if (counted) return;
      counted = true;
      metrics.requests.inc({ group: served.group, route: served.route, stage: served.stage, served_by: served.servedBy, status_class: statusClass(res.statusCode) });
    };
    res.once('finish', count);
    res.once('close', count);
  }

  function observe(group: string, side: Side, seconds: number, failure: Failure | undefined): void {
    metrics.upstreamDuration.observe({ group, backend: side, role: 'primary' }, seconds);
    if (failure) metrics.upstreamErrors.inc({ group, backend: side, role: 'primary', reason: failure.reason });
  }

  function fail(res: ServerResponse, failure: Failure): void {
    sendProblem(res, failure.status, failure.reason, failure.detail, failure.headers);
  }

  /** Whether to mirror this request; a skip is counted. Nothing is mirrored in `legacy` and `complete`. */
  function wantsMirror(group: Group, decision: Decision, method: string): boolean {
    if (!shadowSide(decision.stage)) return false;
    const choice = pool.full ? 'capacity' : shadowChoice(group, decision, method, random);
    if (choice === 'mirror') return true;
    metrics.shadowSkipped.inc({ group: group.name, reason: choice });
    return false;
  }

  function dispatchMirror(routed: Routed, request: UpstreamRequest, primary: Promise<Observation>): void {
    const { group, match, exchange } = routed;
    const dispatched = mirror.dispatch({
      group, route: match.route.key, request, primarySide: routed.served.servedBy, primary,
      delivered: delivered(exchange.res),
      calibrate: SAFE_METHODS.has(request.method) && random() * 100 < group.shadow.calibrationPercent,
    });
    if (!dispatched) metrics.shadowSkipped.inc({ group: group.name, reason: 'capacity' });
  }

  async function serveLegacy(exchange: Exchange, captureLimit?: number): Promise<Promise<Observation> | undefined> {
    const outcome = await legacy.serve(exchange, captureLimit);
    observe(exchange.group, 'legacy', outcome.seconds, outcome.failure);
    if (outcome.failure) fail(exchange.res, outcome.failure);
    return outcome.captured;
  }

  /** Legacy answers; a mirrored request's body is buffered first (up to the group's cap) so both sides get it. */
  async function primaryLegacy(routed: Routed): Promise<void> {
    const { exchange, group, match } = routed;
    if (!routed.mirrored) {
      await serveLegacy(exchange);
      return;
    }
    const buffered = await bufferUpTo(exchange.req, group.shadow.maxBodyBytes);
    if ('stream' in buffered) {
      metrics.shadowSkipped.inc({ group: group.name, reason: 'body_too_large' });
      await serveLegacy({ ...exchange, body: buffered.stream });
      return;
    }
    let settle: (primary: Observation | PromiseLike<Observation>) => void = () => undefined;
    const primary = new Promise<Observation>((resolve) => { settle = resolve; });
    dispatchMirror(routed, upstreamRequest(exchange, match, buffered.body), primary);
    try {
      settle(await serveLegacy({ ...exchange, body: buffered.body }, config.mirror.captureBytes) ?? failed('legacy gave no response'));
    } catch (error) {
      settle(failed('the proxy failed while serving legacy'));
      throw error;
    }
  }

  /** The new side answers; a failed idempotent request falls back to legacy when the group allows it. */
  async function primaryNew(routed: Routed): Promise<void> {
    const { exchange, group, match, served } = routed;
    const { req, res } = exchange;
    let body: Buffer;
    try {
      body = await readBody(req, MAX_PAYLOAD_BYTES);
    } catch (error) {
      if (error instanceof BodyTooLarge) return sendProblem(res, 413, 'too_large', `The request is larger than the ${MAX_PAYLOAD_BYTES} bytes a Lambda invocation takes.`);
      res.destroy();
      return;
    }
    const request = upstreamRequest(exchange, match, body);
    const breaker = breakers.get(group.name);
    const answering: Promise<LambdaAnswer> = breaker && !breaker.permit()
      ? Promise.resolve({ seconds: 0, failure: { reason: 'circuit_open', status: 503, detail: 'The new service is failing; its circuit is open.', headers: { 'retry-after': String(Math.ceil(group.circuit.openMs / 1000)) } } })
      : lambda.invoke(request).then((answer) => {
        observe(group.name, 'new', answer.seconds, answer.failure);
        // An oversized request says nothing about the new side's health.
        if (answer.failure?.reason === 'too_large' || (!answer.failure && answer.response.status < 500)) breaker?.success();
        else breaker?.failure();
        return answer;
      });
    if (routed.mirrored) {
      if (body.length > group.shadow.maxBodyBytes) metrics.shadowSkipped.inc({ group: group.name, reason: 'body_too_large' });
      else dispatchMirror(routed, request, answering.then((answer) => observationOf(request.method, answer)));
    }

    const answer = await answering;
    if (!answer.failure && answer.response.status < 500) return writeResponse(exchange, answer.response);
    const response: HttpResponse | undefined = answer.response;
    const failure: Failure = answer.failure ?? { reason: 'status_5xx', status: answer.response.status, detail: `The new service answered ${answer.response.status}.` };
    if (group.fallback && SAFE_METHODS.has(req.method ?? '') && failure.reason !== 'too_large') {
      metrics.fallbacks.inc({ group: group.name, reason: failure.reason });
      served.servedBy = 'legacy';
      await serveLegacy({ ...exchange, body, timeoutMs: config.legacy.timeoutMs });
      return;
    }
    if (response) writeResponse(exchange, response);
    else fail(res, failure);
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const requestId = requestIdOf(req.headers);
    if (!req.url?.startsWith('/') || req.method === 'CONNECT') {
      account(res, { group: UNMATCHED, route: UNMATCHED, stage: 'legacy', servedBy: 'legacy' });
      return sendProblem(res, 400, 'bad_request_target', 'Only origin-form request targets (a path) are proxied; the upstream is configuration, not the request.');
    }
    removeHopByHop(req.headers);
    addForwarded(req);
    const method = req.method ?? 'GET';
    const match = routes.match(method, req.url.split('?')[0] ?? '/');
    const group = match ? groups.get(match.route.group) : undefined;

    if (!match || !group) {
      account(res, { group: UNMATCHED, route: UNMATCHED, stage: 'legacy', servedBy: 'legacy' });
      await serveLegacy({ req, res, requestId, group: UNMATCHED, match: undefined, timeoutMs: config.legacy.timeoutMs, setCookies: [], body: undefined });
      return;
    }

    const caller = identifyCaller(req.headers, config.caller);
    const decision = flags.decide(group.name, caller.id);
    metrics.flagDecisions.inc({ group: group.name, stage: decision.stage, source: decision.source });
    const side = primarySide(decision.stage);
    const served: Served = { group: group.name, route: match.route.key, stage: decision.stage, servedBy: side };
    account(res, served);
    const conversion = match.route.conversion;
    if (conversion) {
      res.once('finish', () => {
        if (res.statusCode >= 200 && res.statusCode < 300) flags.track(caller.id, conversion);
      });
    }

    const routed: Routed = {
      match, group, served,
      mirrored: wantsMirror(group, decision, method),
      exchange: {
        req, res, requestId, group: group.name, match, body: undefined,
        timeoutMs: side === 'legacy' ? config.legacy.timeoutMs : group.timeoutMs,
        setCookies: caller.setCookie ? [caller.setCookie] : [],
      },
    };
    return side === 'legacy' ? primaryLegacy(routed) : primaryNew(routed);
  }

  const handler = (req: IncomingMessage, res: ServerResponse) => {
    handle(req, res).catch((error: unknown) => {
      deps.log(`traffic: ${req.method} ${req.url} failed inside the proxy: ${(error as Error).stack ?? String(error)}`);
      sendProblem(res, 500, 'proxy_error', 'The proxy failed to handle the request.');
    });
  };
  return Object.assign(handler, {
    circuits: () => new Map([...breakers].map(([name, breaker]) => [name, breaker.state])),
  });
}
