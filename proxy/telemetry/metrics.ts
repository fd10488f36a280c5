import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** What became of an Optimizely webhook (`cutover_webhooks_total`'s label). */
export const WEBHOOK_OUTCOMES = ['fetched', 'fetch_failed', 'ignored', 'bad_signature'] as const;
export type WebhookOutcome = typeof WEBHOOK_OUTCOMES[number];

/** The metrics of the contract in docs/architecture.md, on a registry of the proxy's own. */
export class Metrics {
  readonly registry = new Registry();

  readonly requests = this.hotCounter('cutover_requests_total', ['group', 'route', 'stage', 'served_by', 'status_class'],
    'Client requests answered by the proxy');

  readonly upstreamDuration = new Histogram({
    name: 'cutover_upstream_duration_seconds',
    help: 'Time from sending a request upstream to its response headers',
    labelNames: ['group', 'backend', 'role'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });

  readonly upstreamErrors = this.counter('cutover_upstream_errors_total', ['group', 'backend', 'role', 'reason'],
    'Upstream requests that failed without a usable response');

  readonly flagDecisions = this.hotCounter('cutover_flag_decisions_total', ['group', 'stage', 'source'],
    'Stage decisions per group, by where the stage came from');

  readonly fallbacks = this.counter('cutover_fallbacks_total', ['group', 'reason'],
    'Requests the new side failed that legacy answered instead');

  readonly circuitState = new Gauge({
    name: 'cutover_circuit_state',
    help: 'State of the breaker around a group\'s new side: 0 closed, 1 half-open, 2 open',
    labelNames: ['group'] as const,
    registers: [this.registry],
  });

  readonly comparisons = this.hotCounter('cutover_comparisons_total', ['group', 'route', 'verdict'],
    'Comparisons of a legacy and a new response to the same request, by verdict');

  readonly mismatchedFields = this.counter('cutover_mismatched_fields_total', ['group', 'route', 'field'],
    'Fields that differed in mismatched comparisons (a capped set per route, the rest _other)');

  readonly shadowSkipped = this.hotCounter('cutover_shadow_skipped_total', ['group', 'reason'],
    'Requests of a comparing stage that were not compared, by reason');

  readonly shadowInFlight = new Gauge({
    name: 'cutover_shadow_inflight',
    help: 'Shadow requests under way',
    registers: [this.registry],
  });

  readonly storeDropped = this.counter('cutover_store_dropped_total', ['reason'],
    'Comparisons the diff store did not keep: queue_full (writes fall behind), store_down (the database does not answer), invalid_record (the database refused that record as data)');

  readonly storeWritten = this.counter('cutover_store_written_total', [],
    'Comparisons written to the diff store');

  readonly guardTrips = this.counter('cutover_guard_trips_total', ['group'],
    'Rollbacks the guard wrote (one per breach across the fleet)');

  readonly guardUnable = new Gauge({
    name: 'cutover_guard_unable',
    help: '1 when the guard saw a breach in a group but the store could not take its rollback',
    labelNames: ['group'] as const,
    registers: [this.registry],
  });

  readonly overridesStale = new Gauge({
    name: 'cutover_overrides_stale',
    help: 'With a store: 1 when this proxy could not read the shared overrides for 5 s (it obeys the last ones read, or none since start)',
    registers: [this.registry],
  });

  readonly webhooks = this.counter<'outcome'>('cutover_webhooks_total', ['outcome'],
    'Optimizely webhooks received: fetched (a published datafile, fetched here and told to the other replicas), fetch_failed, ignored (another event), bad_signature (refused)');
  readonly datafileRevision = new Gauge({
    name: 'cutover_datafile_revision',
    help: 'The revision of the Optimizely datafile this proxy decides by (absent before the first)',
    registers: [this.registry],
  });

  readonly datafileAppliedAt = new Gauge({
    name: 'cutover_datafile_applied_timestamp_seconds',
    help: 'When this proxy applied the datafile it decides by (Unix time): time() minus it is the revision\'s age here',
    registers: [this.registry],
  });

  readonly datafileErrors = this.counter('cutover_datafile_errors_total', ['reason'],
    'Datafiles this proxy could not use (the one before keeps deciding): unreadable, invalid_json, rejected (by the SDK), flag_missing');

  readonly groupStageShare = new Gauge({
    name: 'cutover_group_stage_share',
    help: 'Each group\'s callers by stage as this proxy serves them now, in percent: the flag\'s split, or 100 for a stage forced by an override',
    labelNames: ['group', 'stage'] as const,
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
    // Present at 0 from start, so that a rate over them reads 0 rather than no data.
    for (const outcome of WEBHOOK_OUTCOMES) this.webhooks.inc({ outcome }, 0);
  }

  private counter<Label extends string>(name: string, labelNames: readonly Label[], help: string): Counter<Label> {
    return new Counter({ name, help, labelNames, registers: [this.registry] });
  }

  private hotCounter<Label extends string>(name: string, labelNames: readonly Label[], help: string): HotCounter<Label> {
    return new HotCounter(this.registry, name, labelNames, help);
  }
}

/**
 * A counter incremented on every request. prom-client hashes and checks the labels object on
 * every inc (about 2 µs and a few hundred bytes of garbage a call); this one keeps each series'
 * count under the string of its label values, and gives prom-client the counts when scraped.
 */
export class HotCounter<Label extends string> {
  private readonly series = new Map<string, { readonly labels: Readonly<Record<Label, string>>; value: number }>();

  constructor(registry: Registry, name: string, private readonly labelNames: readonly Label[], help: string) {
    const { series } = this;
    new Counter<Label>({
      name, help, labelNames, registers: [registry],
      collect() {
        this.reset();
        for (const { labels, value } of series.values()) this.inc(labels, value);
      },
    });
  }

  inc(labels: Readonly<Record<Label, string>>, value = 1): void {
    let key = '';
    for (const name of this.labelNames) key += `${labels[name]}\u0001`;
    const counted = this.series.get(key);
    if (counted) counted.value += value;
    else this.series.set(key, { labels: { ...labels }, value });
  }
}
