import type { ServerResponse } from 'node:http';
import type { RequestLog } from '../telemetry/log.js';
import type { Metrics } from '../telemetry/metrics.js';
import type { Side, Stage } from '../decision/stage.js';
import type { Flags } from '../decision/flags.js';
import type { Tally } from '../evidence/tally.js';
import type { Served } from './serve.js';

/** The label of traffic that no route matched: it goes to legacy, untouched and never shadowed. */
export const UNMATCHED = 'unmatched';

/** The labels of a request in `cutover_requests_total`, known once the plan is made. */
export interface Labels {
  readonly group: string;
  readonly route: string;
  readonly stage: Stage;
}

/**
 * `aborted` when the client left before any response; otherwise the class of the status it got,
 * even when the body was then cut (an upstream break is counted as an upstream error).
 */
function statusClassOf(res: ServerResponse): string {
  return res.headersSent ? statusClass(res.statusCode) : 'aborted';
}

/** `2xx` for 204: the label value of a status. */
export function statusClass(status: number): string {
  return `${Math.floor(status / 100)}xx`;
}

/** What serving a request leaves for accounting, once the client has its answer or has left. */
export interface Handled {
  readonly labels: Labels;
  readonly served: Served;
  /** An A/B conversion to track if the answer was a 2xx. */
  readonly conversion?: { readonly caller: string; readonly event: string };
}

/** Where a request is accounted for. */
export interface Accounts {
  readonly metrics: Metrics;
  /** The store's per-minute counts of routed requests, which readiness reads. */
  readonly tally: Tally;
  readonly flags: Pick<Flags, 'track'>;
  /** The guard, which watches the answers of the groups it guards. */
  readonly guard: { answered(group: string, servedBy: Side, status: number, failedOver: boolean, ms: number | undefined, receivedAt: number): void };
}

/**
 * Accounts once for a request whose client has its answer or has left: one count in
 * `cutover_requests_total`, one in the store's tally when it was routed, the A/B conversion of a
 * 2xx, and the access line when the log level has one.
 */
export function account(accounts: Accounts, res: ServerResponse, log: RequestLog, { labels, served, conversion }: Handled, startedAt: bigint, receivedAt: number): void {
  const statusClass = statusClassOf(res);
  // The labels written out: a key added after a spread costs Node 20's V8 a new hidden class each time (backends/upstream.ts, exchangeOf).
  accounts.metrics.requests.inc({ group: labels.group, route: labels.route, stage: labels.stage, served_by: served.servedBy, status_class: statusClass });
  if (labels.group !== UNMATCHED) accounts.tally.countRequest(labels.group, labels.route, labels.stage, served.servedBy);
  // A client that left before any answer says nothing about either side.
  if (labels.group !== UNMATCHED && res.headersSent) accounts.guard.answered(labels.group, served.servedBy, res.statusCode, served.failedOverMs !== undefined, served.primaryMs, receivedAt);
  if (conversion && res.writableFinished && res.statusCode >= 200 && res.statusCode < 300) accounts.flags.track(conversion.caller, conversion.event);
  if (!log.isLevelEnabled('info')) return;
  log.access({
    requestId: log.requestId,
    group: labels.group,
    route: labels.route,
    stage: labels.stage,
    servedBy: served.servedBy,
    status: res.headersSent ? res.statusCode : statusClass,
    complete: res.writableFinished,
    primaryMs: served.primaryMs,
    failedOverMs: served.failedOverMs,
    totalMs: Number(process.hrtime.bigint() - startedAt) / 1e6,
  });
}
