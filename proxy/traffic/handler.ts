import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { exchangeOf } from '../backends/upstream.js';
import type { CircuitState } from '../backends/circuit.js';
import type { Group } from '../config/config.js';
import { forRequest, type Logger, type RequestLog } from '../telemetry/log.js';
import type { Metrics } from '../telemetry/metrics.js';
import { requestIdOf } from '../http/request-id.js';
import type { Tally } from '../evidence/tally.js';
import { account, type Accounts, type Handled, type Labels, statusClass, UNMATCHED } from './account.js';
import { Connection, onceGone } from '../http/connection.js';
import { isRefusal, readInbound } from './inbound.js';
import { type PlanDependencies, planOf } from './plan.js';
import { endWithProblem, type Reply, sendProblem } from '../http/respond.js';
import type { Primary } from './serve.js';
import type { Overrides } from '../decision/overrides.js';

const UNMATCHED_LABELS: Labels = { group: UNMATCHED, route: UNMATCHED, stage: 'legacy' };

export interface TrafficDependencies extends Omit<PlanDependencies, 'groups'> {
  readonly primary: Primary;
  readonly metrics: Metrics;
  readonly tally: Tally;
  readonly log: Logger;
  /** Whether the kill switch is known yet: matched requests wait for it at start. */
  readonly overrides: Pick<Overrides, 'decidable' | 'settle'>;
  readonly guard: Accounts['guard'];
}


export interface TrafficHandler {
  (req: IncomingMessage, res: ServerResponse): void;
  /** The state of each group's breaker around its new side. */
  circuits(): ReadonlyMap<string, CircuitState>;
  /** From now on every response closes its connection: the proxy is shutting down. */
  drain(): void;
  /** CONNECT and protocol upgrades are not proxied: refused with 400 rather than dropped, and counted. */
  refuseTunnel(req: IncomingMessage, socket: Duplex): void;
  /** What Node's parser refused (bad framing, a header flood, a request too slow): answered and counted, never silent. */
  clientError(error: NodeJS.ErrnoException, socket: Duplex): void;
}

/**
 * The reply of a request being answered, kept on its response: a parser error in the request's
 * body is answered through it. Not in a table of responses: a WeakMap, or even a Map emptied as
 * requests ended, kept each request's objects through a young-generation collection and into
 * the old one (3.1 KB a request promoted against 1.4 KB without, by --trace-gc-nvp; issue 11).
 */
const REPLY = Symbol('reply');
type Replying = ServerResponse & { [REPLY]?: Reply };

/** Node's parser errors that deserve their own status. */
const CLIENT_ERROR_STATUS: Readonly<Record<string, number>> = { HPE_HEADER_OVERFLOW: 431, ERR_HTTP_REQUEST_TIMEOUT: 408 };

/** Parser errors that only say the client went away, or sent bytes after a request that closes the connection. */
const CLIENT_GONE: ReadonlySet<string> = new Set(['ECONNRESET', 'HPE_INVALID_EOF_STATE', 'HPE_CLOSED_CONNECTION']);

/**
 * The request path, as one list: request id; refuse unforwarded a request behind an answer that
 * closes its connection (it could not be answered: connection.ts); the inbound passes (refuse
 * non-origin-form, strip hop-by-hop and re-frame, refuse a Host with userinfo, strip the shadow
 * marker, forwarded headers, request id header); the plan (route, caller, decide, count the
 * decision, choose shadow); serve the primary (mirroring as planned; a body's first bytes read
 * before legacy's pool is asked: serve.ts); and, once the client has its answer or has left,
 * account. Every request is counted exactly once, whatever the client or the sides do.
 */
export function createTrafficHandler(deps: TrafficDependencies): TrafficHandler {
  const planning: PlanDependencies = { ...deps, groups: new Map<string, Group>(deps.config.groups.map((group) => [group.name, group])) };
  let draining = false;

  async function handle(req: IncomingMessage, res: ServerResponse, log: RequestLog, requestId: string, receivedAt: number): Promise<Handled> {
    const connection = new Connection(req.socket);
    const keepAlive = (reusable = true) => connection.keepsAlive(reusable && res.shouldKeepAlive, draining);
    const reply: Reply = { res, requestId, setCookies: [], keepAlive };
    (res as Replying)[REPLY] = reply;
    let labels = UNMATCHED_LABELS;
    try {
      if (connection.behindClose) {
        log.info('a request behind an answer that closes its connection: refused, not forwarded');
        sendProblem(reply, 503, 'connection_closing', 'An earlier answer on this connection closed it; the request was not forwarded. Send it again.');
        return { labels, served: { servedBy: 'legacy', primaryMs: undefined } };
      }
      const inbound = readInbound(req, requestId, receivedAt, deps.config.traffic);
      if (isRefusal(inbound)) {
        sendProblem(reply, inbound.refused.status, inbound.refused.code, inbound.refused.detail);
        return { labels, served: { servedBy: 'legacy', primaryMs: undefined } };
      }
      // Before the overrides are read a matched request waits for them, briefly: deciding it by the
      // flags could serve the side a kill switch turned away from. Unmatched traffic is legacy's anyway.
      if (!deps.overrides.decidable() && deps.routes.match(inbound.method, inbound.path) && !await deps.overrides.settle()) {
        sendProblem(reply, 503, 'overrides_unknown', 'This proxy has not read the overrides (the kill switch) from its store yet; send the request again.', { 'retry-after': '1' });
        return { labels, served: { servedBy: 'legacy', primaryMs: undefined } };
      }
      const plan = planOf(inbound, planning);
      if (!plan) return { labels, served: await deps.primary.passThrough(exchangeOf(reply, inbound, req, log, UNMATCHED, reply.setCookies)) };
      labels = { group: plan.group.name, route: plan.match.route.key, stage: plan.decision.stage };
      const exchange = exchangeOf(reply, inbound, req, log, plan.group.name, plan.caller.setCookie ? [plan.caller.setCookie] : []);
      const served = await deps.primary.serve(exchange, plan);
      const event = plan.match.route.conversion;
      return { labels, served, ...(event ? { conversion: { caller: plan.caller.id, event } } : {}) };
    } catch (error) {
      log.error({ err: error }, 'the proxy failed while serving the request');
      sendProblem(reply, 500, 'proxy_error', 'The proxy failed to handle the request.');
      return { labels, served: { servedBy: 'legacy', primaryMs: undefined } };
    }
  }

  const handler = (req: IncomingMessage, res: ServerResponse) => {
    const startedAt = process.hrtime.bigint();
    const receivedAt = Date.now();
    const requestId = requestIdOf(req.headers);
    const log = forRequest(deps.log, requestId);
    handle(req, res, log, requestId, receivedAt)
      .then((handled) => {
        // Accounted in the response's own 'close', without a promise for it (see onceGone: it may call twice).
        let accounted = false;
        const accountOnce = () => {
          if (accounted) return;
          accounted = true;
          try {
            account(deps, res, log, handled, startedAt, receivedAt);
          } catch (error) {
            log.error({ err: error }, 'accounting failed');
          }
        };
        if (res.closed) accountOnce();
        else onceGone(res, accountOnce);
      })
      .catch((error: unknown) => log.error({ err: error }, 'accounting failed'));
  };
  const countRefused = (status: number) => deps.metrics.requests.inc({ ...UNMATCHED_LABELS, served_by: 'legacy', status_class: statusClass(status) });

  return Object.assign(handler, {
    circuits: () => deps.primary.circuits(),
    drain: () => { draining = true; },
    refuseTunnel(req: IncomingMessage, socket: Duplex) {
      const requestId = requestIdOf(req.headers);
      countRefused(400);
      forRequest(deps.log, requestId).info({ method: req.method, upgrade: req.headers.upgrade }, 'tunnel or upgrade refused');
      endWithProblem(socket, requestId, 400, 'bad_request_target', 'CONNECT and protocol upgrades are not proxied.');
    },
    clientError(error: NodeJS.ErrnoException, socket: Duplex) {
      const gone = !socket.writable || CLIENT_GONE.has(error.code ?? '');
      // A request under way whose body the parser refused (a bad chunk, say) is answered as itself,
      // and counted so, while its answer has not begun; its exchange with a side is dropped.
      const underWay = (socket as Duplex & { _httpMessage?: ServerResponse })._httpMessage;
      const reply = underWay && (underWay as Replying)[REPLY];
      if (reply && !gone && !underWay.headersSent) {
        forRequest(deps.log, reply.requestId).info({ code: error.code }, 'the HTTP parser refused the body of a request under way');
        sendProblem({ ...reply, keepAlive: () => false }, 400, 'bad_request', `The request body could not be read as HTTP/1.1 (${error.code ?? error.message}).`);
        return;
      }
      // A client that went away, or bytes after a request that closes the connection, are no request to answer.
      if (underWay || gone) {
        socket.destroy();
        return;
      }
      const requestId = randomUUID();
      const status = CLIENT_ERROR_STATUS[error.code ?? ''] ?? 400;
      countRefused(status);
      forRequest(deps.log, requestId).info({ code: error.code }, 'a request the HTTP parser refused');
      endWithProblem(socket, requestId, status, 'bad_request', `The request could not be read as HTTP/1.1 (${error.code ?? error.message}).`);
    },
  });
}
