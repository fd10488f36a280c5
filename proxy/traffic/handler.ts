import type { IncomingMessage, ServerResponse } from 'node:http';
import { finished } from 'node:stream/promises';
import type { Exchange } from '../backends/upstream.js';
import type { CircuitState } from '../circuit.js';
import type { Group } from '../config.js';
import { forRequest, type Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import { requestIdOf } from '../request-id.js';
import { account, type Labels } from './account.js';
import { isRefusal, readInbound } from './inbound.js';
import { type PlanDependencies, planOf } from './plan.js';
import { type Reply, sendProblem } from './respond.js';
import type { Primary, Served } from './serve.js';

/** The label of traffic that no route matched: it goes to legacy, untouched and never mirrored. */
export const UNMATCHED = 'unmatched';

const UNMATCHED_LABELS: Labels = { group: UNMATCHED, route: UNMATCHED, stage: 'legacy' };

export interface TrafficDependencies extends Omit<PlanDependencies, 'groups'> {
  readonly primary: Primary;
  readonly metrics: Metrics;
  readonly log: Logger;
}

export interface TrafficHandler {
  (req: IncomingMessage, res: ServerResponse): void;
  /** The state of each group's breaker around its new side. */
  circuits(): ReadonlyMap<string, CircuitState>;
  /** From now on every response closes its connection: the proxy is shutting down. */
  drain(): void;
}

/**
 * The request path, as one list: request id; the inbound passes (refuse non-origin-form, strip
 * hop-by-hop and re-frame, strip the shadow marker, forwarded headers, request id header); the
 * plan (route, caller, decide, count the decision, choose shadow); serve the primary (mirroring
 * as planned); and, once the client has its answer or has left, account. Every request is
 * counted exactly once, whatever the client or the sides do.
 */
export function createTrafficHandler(deps: TrafficDependencies): TrafficHandler {
  const planning: PlanDependencies = { ...deps, groups: new Map<string, Group>(deps.config.groups.map((group) => [group.name, group])) };
  let draining = false;

  async function handle(req: IncomingMessage, res: ServerResponse, log: Logger, requestId: string): Promise<{ labels: Labels; served: Served }> {
    const keepAlive = () => res.shouldKeepAlive && !draining;
    const reply: Reply = { res, requestId, setCookies: [], keepAlive };
    let labels = UNMATCHED_LABELS;
    try {
      const inbound = readInbound(req, requestId);
      if (isRefusal(inbound)) {
        sendProblem(reply, inbound.refused.status, inbound.refused.code, inbound.refused.detail);
        return { labels, served: { servedBy: 'legacy', primaryMs: undefined } };
      }
      const plan = planOf(inbound, planning);
      if (!plan) return { labels, served: await deps.primary.passThrough({ ...reply, inbound, req, log, group: UNMATCHED }) };
      labels = { group: plan.group.name, route: plan.match.route.key, stage: plan.decision.stage };
      const exchange: Exchange = { ...reply, inbound, req, log, group: plan.group.name, setCookies: plan.caller.setCookie ? [plan.caller.setCookie] : [] };
      const served = await deps.primary.serve(exchange, plan);
      if (plan.match.route.conversion) trackConversion(res, plan.caller.id, plan.match.route.conversion);
      return { labels, served };
    } catch (error) {
      log.error({ err: error }, 'the proxy failed while serving the request');
      sendProblem(reply, 500, 'proxy_error', 'The proxy failed to handle the request.');
      return { labels, served: { servedBy: 'legacy', primaryMs: undefined } };
    }
  }

  function trackConversion(res: ServerResponse, caller: string, event: string): void {
    finished(res).then(() => {
      if (res.statusCode >= 200 && res.statusCode < 300) deps.flags.track(caller, event);
    }, () => undefined);
  }

  const handler = (req: IncomingMessage, res: ServerResponse) => {
    const startedAt = process.hrtime.bigint();
    const requestId = requestIdOf(req.headers);
    const log = forRequest(deps.log, requestId);
    handle(req, res, log, requestId)
      .then(async ({ labels, served }) => {
        await finished(res).catch(() => undefined);
        account(res, log, deps.metrics, labels, served, startedAt);
      })
      .catch((error: unknown) => log.error({ err: error }, 'accounting failed'));
  };
  return Object.assign(handler, {
    circuits: () => deps.primary.circuits(),
    drain: () => { draining = true; },
  });
}
