import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** The metrics of DESIGN.md's contract, on a registry of the proxy's own. */
export class Metrics {
  readonly registry = new Registry();

  readonly requests = new Counter({
    name: 'cutover_requests_total',
    help: 'Client requests answered by the proxy',
    labelNames: ['group', 'route', 'stage', 'served_by', 'status_class'] as const,
    registers: [this.registry],
  });

  readonly upstreamDuration = new Histogram({
    name: 'cutover_upstream_duration_seconds',
    help: 'Time from sending a request upstream to its response headers',
    labelNames: ['group', 'backend', 'role'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });

  readonly upstreamErrors = new Counter({
    name: 'cutover_upstream_errors_total',
    help: 'Upstream requests that failed without a usable response',
    labelNames: ['group', 'backend', 'role', 'reason'] as const,
    registers: [this.registry],
  });

  readonly flagDecisions = new Counter({
    name: 'cutover_flag_decisions_total',
    help: 'Stage decisions per group, by where the stage came from',
    labelNames: ['group', 'stage', 'source'] as const,
    registers: [this.registry],
  });

  readonly fallbacks = new Counter({
    name: 'cutover_fallbacks_total',
    help: 'Requests the new side failed that legacy answered instead',
    labelNames: ['group', 'reason'] as const,
    registers: [this.registry],
  });

  readonly circuitState = new Gauge({
    name: 'cutover_circuit_state',
    help: 'State of the breaker around a group\'s new side: 0 closed, 1 half-open, 2 open',
    labelNames: ['group'] as const,
    registers: [this.registry],
  });

  readonly comparisons = new Counter({
    name: 'cutover_comparisons_total',
    help: 'Comparisons of a legacy and a new response to the same request, by verdict',
    labelNames: ['group', 'route', 'verdict'] as const,
    registers: [this.registry],
  });

  readonly mismatchedFields = new Counter({
    name: 'cutover_mismatched_fields_total',
    help: 'Fields that differed in mismatched comparisons (a capped set per route, the rest _other)',
    labelNames: ['group', 'route', 'field'] as const,
    registers: [this.registry],
  });

  readonly shadowSkipped = new Counter({
    name: 'cutover_shadow_skipped_total',
    help: 'Requests of a comparing stage that were not mirrored, by reason',
    labelNames: ['group', 'reason'] as const,
    registers: [this.registry],
  });

  readonly shadowInFlight = new Gauge({
    name: 'cutover_shadow_inflight',
    help: 'Shadow requests under way',
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }
}

export function statusClass(status: number): string {
  return `${Math.floor(status / 100)}xx`;
}
