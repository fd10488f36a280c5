import type { ServerResponse } from 'node:http';
import type { RequestLog } from '../telemetry/log.js';
import type { Metrics } from '../telemetry/metrics.js';
import type { Stage } from '../decision/stage.js';
import type { Served } from './serve.js';

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

/** Counts a delivered request once and writes its access line, when the log level has one. */
export function account(res: ServerResponse, log: RequestLog, metrics: Metrics, labels: Labels, served: Served, startedAt: bigint): void {
  const statusClass = statusClassOf(res);
  metrics.requests.inc({ ...labels, served_by: served.servedBy, status_class: statusClass });
  if (!log.isLevelEnabled('info')) return;
  log.access({
    group: labels.group,
    route: labels.route,
    stage: labels.stage,
    servedBy: served.servedBy,
    status: res.headersSent ? res.statusCode : statusClass,
    complete: res.writableFinished,
    primaryMs: served.primaryMs,
    ...(served.failedOverMs === undefined ? {} : { failedOverMs: served.failedOverMs }),
    totalMs: Number(process.hrtime.bigint() - startedAt) / 1e6,
  });
}
