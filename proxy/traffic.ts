import type { IncomingMessage, ServerResponse } from 'node:http';
import { type LambdaBackend, MAX_PAYLOAD_BYTES, writeResponse } from './backends/lambda.js';
import type { HttpResponse } from './backends/lambda-event.js';
import type { LegacyBackend } from './backends/legacy.js';
import type { Exchange, Failure } from './backends/upstream.js';
import { BodyTooLarge, readBody } from './body.js';
import { identifyCaller } from './caller.js';
import { CircuitBreaker, type CircuitState } from './circuit.js';
import type { Config, Group } from './config.js';
import type { Flags } from './flags.js';
import { addForwarded, removeHopByHop } from './headers.js';
import { type Metrics, statusClass } from './metrics.js';
import { sendProblem } from './problem.js';
import { requestIdOf } from './request-id.js';
import type { RouteTable } from './route.js';
import { primarySide, type Side, type Stage } from './stage.js';

export interface TrafficDependencies {
  readonly config: Config;
  readonly routes: RouteTable;
  readonly flags: Flags;
  readonly legacy: LegacyBackend;
  readonly lambda: LambdaBackend;
  readonly metrics: Metrics;
  readonly log: (line: string) => void;
}

/** The label of traffic that no route matched: it goes to legacy, untouched and never mirrored. */
export const UNMATCHED = 'unmatched';

/** Methods whose failed answer from the new side may be answered by legacy instead: never a write. */
const FALLBACK_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

const CIRCUIT_GAUGE: Record<CircuitState, number> = { closed: 0, half_open: 1, open: 2 };

/** The labels of `cutover_requests_total`; `servedBy` changes when legacy answers for a failed new side. */
interface Served { readonly group: string; readonly route: string; readonly stage: Stage; servedBy: Side }

export interface TrafficHandler {
  (req: IncomingMessage, res: ServerResponse): void;
  /** The state of each group's breaker around its new side. */
  circuits(): ReadonlyMap<string, CircuitState>;
}

/** The request path of the proxy: identify, route, decide, serve (falling back when allowed), account. */
export function createTrafficHandler(deps: TrafficDependencies): TrafficHandler {
  const { config, routes, flags, legacy, lambda, metrics } = deps;
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

  async function serveLegacy(exchange: Exchange): Promise<void> {
    const outcome = await legacy.serve(exchange);
    observe(exchange.group, 'legacy', outcome.seconds, outcome.failure);
    if (outcome.failure) fail(exchange.res, outcome.failure);
  }

  async function serveNew(exchange: Exchange, group: Group, served: Served): Promise<void> {
    const { req, res } = exchange;
    let body: Buffer;
    try {
      body = await readBody(req, MAX_PAYLOAD_BYTES);
    } catch (error) {
      if (error instanceof BodyTooLarge) return sendProblem(res, 413, 'too_large', `The request is larger than the ${MAX_PAYLOAD_BYTES} bytes a Lambda invocation takes.`);
      res.destroy();
      return;
    }
    const buffered = { ...exchange, body };
    const breaker = breakers.get(group.name);
    let failure: Failure;
    let response: HttpResponse | undefined;
    if (breaker && !breaker.permit()) {
      failure = { reason: 'circuit_open', status: 503, detail: 'The new service is failing; its circuit is open.', headers: { 'retry-after': String(Math.ceil(group.circuit.openMs / 1000)) } };
    } else {
      const answer = await lambda.invoke(buffered);
      observe(group.name, 'new', answer.seconds, answer.failure);
      if (!answer.failure && answer.response.status < 500) {
        breaker?.success();
        return writeResponse(buffered, answer.response);
      }
      response = answer.response;
      failure = answer.failure ?? { reason: 'status_5xx', status: answer.response.status, detail: `The new service answered ${answer.response.status}.` };
      // An oversized request says nothing about the new side's health.
      if (failure.reason === 'too_large') breaker?.success();
      else breaker?.failure();
    }
    if (group.fallback && FALLBACK_METHODS.has(req.method ?? '') && failure.reason !== 'too_large') {
      metrics.fallbacks.inc({ group: group.name, reason: failure.reason });
      served.servedBy = 'legacy';
      return serveLegacy({ ...buffered, timeoutMs: config.legacy.timeoutMs });
    }
    if (response) writeResponse(buffered, response);
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
    const match = routes.match(req.method ?? 'GET', req.url.split('?')[0] ?? '/');
    const group = match ? groups.get(match.route.group) : undefined;

    if (!match || !group) {
      account(res, { group: UNMATCHED, route: UNMATCHED, stage: 'legacy', servedBy: 'legacy' });
      return serveLegacy({ req, res, requestId, group: UNMATCHED, match: undefined, timeoutMs: config.legacy.timeoutMs, setCookies: [], body: undefined });
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

    const exchange: Exchange = {
      req, res, requestId, group: group.name, match, body: undefined,
      timeoutMs: side === 'legacy' ? config.legacy.timeoutMs : group.timeoutMs,
      setCookies: caller.setCookie ? [caller.setCookie] : [],
    };
    if (side === 'legacy') return serveLegacy(exchange);
    return serveNew(exchange, group, served);
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
