import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Backend, Exchange, UpstreamOutcome } from './backends/upstream.js';
import { identifyCaller } from './caller.js';
import type { Config, Group } from './config.js';
import type { Flags } from './flags.js';
import { type Metrics, statusClass } from './metrics.js';
import { sendProblem } from './problem.js';
import { requestIdOf } from './request-id.js';
import type { RouteTable } from './route.js';
import { primarySide, type Side, type Stage } from './stage.js';

export interface TrafficDependencies {
  readonly config: Config;
  readonly routes: RouteTable;
  readonly flags: Flags;
  readonly backends: Readonly<Record<Side, Backend>>;
  readonly metrics: Metrics;
  readonly log: (line: string) => void;
}

/** The label of traffic that no route matched: it goes to legacy, untouched and never mirrored. */
export const UNMATCHED = 'unmatched';

/** The request path of the proxy: identify, route, decide, serve, account. */
export function createTrafficHandler(deps: TrafficDependencies): (req: IncomingMessage, res: ServerResponse) => void {
  const { config, routes, flags, backends, metrics } = deps;
  const groups = new Map<string, Group>(config.groups.map((group) => [group.name, group]));

  /** Counts the request once, when its response is finished or, for an aborted one, closed. */
  function account(res: ServerResponse, group: string, route: string, stage: Stage, servedBy: Side): void {
    let counted = false;
    const count = () => {
      if (counted) return;
      counted = true;
      metrics.requests.inc({ group, route, stage, served_by: servedBy, status_class: statusClass(res.statusCode) });
    };
    res.once('finish', count);
    res.once('close', count);
  }

  function observe(group: string, outcome: UpstreamOutcome): void {
    metrics.upstreamDuration.observe({ group, backend: outcome.side, role: 'primary' }, outcome.seconds);
    if (outcome.failure) metrics.upstreamErrors.inc({ group, backend: outcome.side, role: 'primary', reason: outcome.failure });
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const requestId = requestIdOf(req.headers);
    if (!req.url?.startsWith('/')) {
      account(res, UNMATCHED, UNMATCHED, 'legacy', 'legacy');
      return sendProblem(res, 400, 'bad_request_target', 'Only origin-form request targets (a path) are proxied.');
    }
    const path = req.url.split('?')[0] ?? '/';
    const match = routes.match(req.method ?? 'GET', path);
    const group = match ? groups.get(match.route.group) : undefined;

    if (!match || !group) {
      account(res, UNMATCHED, UNMATCHED, 'legacy', 'legacy');
      const exchange: Exchange = { req, res, requestId, group: UNMATCHED, match: undefined, timeoutMs: config.legacy.timeoutMs, setCookies: [] };
      return observe(UNMATCHED, await backends.legacy.serve(exchange));
    }

    const caller = identifyCaller(req.headers, config.caller);
    const decision = flags.decide(group.name, caller.id);
    metrics.flagDecisions.inc({ group: group.name, stage: decision.stage, source: decision.source });
    const side = primarySide(decision.stage);
    account(res, group.name, match.route.key, decision.stage, side);

    const exchange: Exchange = {
      req, res, requestId, group: group.name, match,
      timeoutMs: side === 'legacy' ? config.legacy.timeoutMs : group.timeoutMs,
      setCookies: caller.setCookie ? [caller.setCookie] : [],
    };
    observe(group.name, await backends[side].serve(exchange));
  }

  return (req, res) => {
    handle(req, res).catch((error: unknown) => {
      deps.log(`traffic: ${req.method} ${req.url} failed inside the proxy: ${(error as Error).stack ?? String(error)}`);
      sendProblem(res, 500, 'proxy_error', 'The proxy failed to handle the request.');
    });
  };
}
