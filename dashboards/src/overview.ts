/**
 * Migration overview: every group at a glance. Where traffic goes, whether the sides agree, how
 * each side performs, whether the safety nets are catching anything, and whether the evidence
 * is being kept. Rates over time use `$__rate_interval`; "now" figures read the recording rules
 * of dashboards/rules/cutover.yaml, which the alerts share.
 */
import * as common from '@grafana/grafana-foundation-sdk/common';
import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import {
  CIRCUIT_STATES, HIDE_TIME, color, column, dataLink, higherIsBetter, lowerIsBetter, onTheBar, promql, states, stats, tableOf, timeSeries,
} from './grafana.js';
import { GROUP_UID, OVERVIEW_UID, TAGS, cutoverDashboards, datasource, groups, job, routes } from './variables.js';

/** The selection every cutover_* query carries: groups, and routes where the metric has them. */
const G = 'group=~"$group"';
const GR = 'group=~"$group", route=~"$route"';

/** Match and noise are both agreement (noise: only fields calibration showed to differ between two calls to one side). */
const MATCH_RATE_BY_GROUP_ROUTE = `(
  sum by (group, route) (rate(cutover_comparisons_total{${GR}, verdict=~"match|noise"}[$__rate_interval]))
  or sum by (group, route) (rate(cutover_comparisons_total{${GR}}[$__rate_interval])) * 0
)
/ (sum by (group, route) (rate(cutover_comparisons_total{${GR}}[$__rate_interval])) > 0)`;

const groupDetail = (label: string) => `/d/${GROUP_UID}?var-group=\${__field.labels.${label}}&\${__url_time_range}`;

export function overview(): dashboard.DashboardBuilder {
  return new dashboard.DashboardBuilder('Cutover: migration overview')
    .uid(OVERVIEW_UID).tags(TAGS)
    .description('Every endpoint group of the strangler-fig migration: stage, traffic split, agreement between legacy and new, latency, errors, safety nets and evidence. dashboards/README.md says what each panel answers.')
    .editable().tooltip(dashboard.DashboardCursorSync.Crosshair)
    .time({ from: 'now-3h', to: 'now' }).refresh('1m').timezone('browser')
    .withVariable(datasource()).withVariable(groups()).withVariable(routes()).withVariable(job())
    .link(onTheBar(cutoverDashboards()))

    .withRow(new dashboard.RowBuilder('Stage and traffic'))
    .withPanel(stats({
      title: 'Stage of each group\'s callers (5 min)',
      description: 'Which stage each group\'s callers get now, as a share of the group\'s flag decisions: 100 % shadow means every caller is in shadow; 10 % live and 90 % shadow is a gradual rollout. Click a value for the group\'s detail.',
      unit: 'percentunit', width: 8,
    }, [promql('A', `sum by (group, stage) (group_stage_source:cutover_flag_decisions:rate5m{${G}})
/ ignoring (stage) group_left () (sum by (group) (group_stage_source:cutover_flag_decisions:rate5m{${G}}) > 0)`, '{{group}}: {{stage}}', { instant: true })])
      .dataLinks([dataLink('Group detail', groupDetail('group'))]))
    .withPanel(stats({
      title: 'Served by the new side (5 min)',
      description: 'The share of each group\'s requests that the new side answered. In shadow it is 0; in live it is the share of callers on live, less the reads that fell back to legacy.',
      unit: 'percentunit', width: 8,
    }, [promql('A', `(
  sum by (group) (group_stage_served_by:cutover_requests:rate5m{${G}, served_by="new"})
  or sum by (group) (group_stage_served_by:cutover_requests:rate5m{${G}}) * 0
)
/ (sum by (group) (group_stage_served_by:cutover_requests:rate5m{${G}}) > 0)`, '{{group}}', { instant: true })])
      .dataLinks([dataLink('Group detail', groupDetail('group'))]))
    .withPanel(stats({
      title: 'Proxies: up, restarts, stale overrides, guard, webhooks',
      description: 'How many proxies Prometheus scrapes now; how many times a proxy started in the time range (a restart resets its counters and noise calibration); how many proxies could not read the shared admin overrides for 5 s: those obey the last overrides they read, so a kill switch set since may not hold there; how many times the guard rolled a group back in the range (GET /api/overrides says which and why); how many groups breach their guard while the store cannot take the rollback; how many Optimizely webhooks fetched a published datafile in the range; and how many were refused (no or a wrong signature: a caller that is not Optimizely, or a secret that differs) or could not fetch it (polling still brings the change).',
      unit: 'none', width: 8,
    }, [
      promql('A', 'sum(up{job="$job"})', 'proxies up', { instant: true }),
      promql('B', 'sum(changes(process_start_time_seconds{job="$job"}[$__range]))', 'restarts in range', { instant: true }),
      promql('C', 'sum(cutover_overrides_stale)', 'stale overrides', { instant: true }),
      promql('D', 'sum(increase(cutover_guard_trips_total[$__range]))', 'guard trips in range', { instant: true }),
      promql('E', 'sum(cutover_guard_unable)', 'guard unable to act', { instant: true }),
      promql('F', 'sum(increase(cutover_webhooks_total{outcome="fetched"}[$__range]))', 'webhooks fetched in range', { instant: true }),
      promql('G', 'sum(increase(cutover_webhooks_total{outcome=~"bad_signature|fetch_failed"}[$__range]))', 'webhooks refused or failed in range', { instant: true }),
    ]).overrideByName('stale overrides', [{ id: 'thresholds', value: lowerIsBetter(1, 1).build() }])
      .overrideByName('guard trips in range', [{ id: 'thresholds', value: lowerIsBetter(1, 1).build() }])
      .overrideByName('guard unable to act', [{ id: 'thresholds', value: lowerIsBetter(1, 1).build() }])
      .overrideByName('webhooks refused or failed in range', [{ id: 'thresholds', value: lowerIsBetter(1, 1).build() }]))
    .withPanel(timeSeries({
      title: 'Requests by served side',
      description: 'Who answers each group\'s clients: legacy or new. A flag change shows here within a minute.',
      unit: 'reqps',
    }, [promql('A', `sum by (group, served_by) (rate(cutover_requests_total{${GR}}[$__rate_interval]))`, '{{group}} → {{served_by}}')], { stack: true }))
    .withPanel(timeSeries({
      title: 'Answers by status class',
      description: 'What the clients got, by status class; "aborted" is a client that left before any response. A rise in 5xx after a flip is the first thing to look at.',
      unit: 'reqps',
    }, [promql('A', `sum by (group, status_class) (rate(cutover_requests_total{${GR}}[$__rate_interval]))`, '{{group}} {{status_class}}')], { stack: true })
      .overrideByRegexp('.* 5xx$', [{ id: 'color', value: { mode: 'fixed', fixedColor: 'red' } }])
      .overrideByRegexp('.* aborted$', [{ id: 'color', value: { mode: 'fixed', fixedColor: 'purple' } }]))

    .withRow(new dashboard.RowBuilder('Do the sides agree?'))
    .withPanel(timeSeries({
      title: 'Match rate per group and route',
      description: 'The share of comparisons in which legacy and new agreed (match or noise), per route over time. The dashed lines are 95 % and 99 %; the default readiness threshold is a mismatch rate of 1 % at most.',
      unit: 'percentunit', width: 16, thresholds: higherIsBetter(0.95, 0.99),
    }, [promql('A', MATCH_RATE_BY_GROUP_ROUTE, '{{group}} {{route}}')], { min: 0, max: 1, thresholdLine: true }))
    .withPanel(stats({
      title: 'Match rate now (5 min)',
      description: 'Each group\'s match rate over the last 5 minutes (recording rule group:cutover_comparisons_match:ratio_rate5m). Click a value for the group\'s detail.',
      unit: 'percentunit', width: 8, height: 8, thresholds: higherIsBetter(0.95, 0.99),
    }, [promql('A', `group:cutover_comparisons_match:ratio_rate5m{${G}}`, '{{group}}', { instant: true })], { decimals: 1 })
      .dataLinks([dataLink('Group detail', groupDetail('group'))]))
    .withPanel(timeSeries({
      title: 'Comparisons by verdict',
      description: 'How many comparisons were made, by verdict: match, noise (differences only in fields known to differ between two calls to the same side), mismatch, error (a side failed or a body could not be decoded). Few comparisons means thin evidence: see "Shadows skipped".',
      unit: 'ops',
    }, [promql('A', `sum by (verdict) (rate(cutover_comparisons_total{${GR}}[$__rate_interval]))`, '{{verdict}}')], { stack: true })
      .withOverride(color('match', 'green')).withOverride(color('noise', 'blue'))
      .withOverride(color('mismatch', 'orange')).withOverride(color('error', 'red')))
    .withPanel(tableOf({
      title: 'Top differing fields',
      description: 'The fields (JSON Pointers, array indexes as *) that differed most often in mismatches over the time range. Fields that A/A calibration knows as noise are not counted; "_other" gathers the fields past the 25 kept per route.',
      unit: 'none',
    }, [promql('A', `topk(15, sum by (group, route, field) (increase(cutover_mismatched_fields_total{${GR}}[$__range])) > 0)`, '', { instant: true, table: true })])
      .withTransformation(HIDE_TIME).withOverride(column('Value', 'mismatches in range', 'none', [{ id: 'decimals', value: 0 }]))
      .sortBy([new common.TableSortByFieldStateBuilder().displayName('mismatches in range').desc(true)]))

    .withRow(new dashboard.RowBuilder('Latency and errors: legacy vs new'))
    .withPanel(timeSeries({
      title: 'Latency, primary: p50 and p99 per side',
      description: 'Time to response headers of the side that answered the client, p50 and p99. In shadow that is legacy; in live the new side (and legacy for fallbacks).',
      unit: 's',
    }, [
      promql('A', `histogram_quantile(0.5, sum by (group, backend, le) (rate(cutover_upstream_duration_seconds_bucket{${G}, role="primary"}[$__rate_interval])))`, '{{group}} {{backend}} p50'),
      promql('B', `histogram_quantile(0.99, sum by (group, backend, le) (rate(cutover_upstream_duration_seconds_bucket{${G}, role="primary"}[$__rate_interval])))`, '{{group}} {{backend}} p99'),
    ]))
    .withPanel(timeSeries({
      title: 'Latency, shadow: p50 and p99 per side',
      description: 'Time to response headers of the mirrored copy, p50 and p99: the new side in shadow, legacy in live. Shadows never delay a client, but a slow shadow side fills the pool and fewer requests are compared.',
      unit: 's',
    }, [
      promql('A', `histogram_quantile(0.5, sum by (group, backend, le) (rate(cutover_upstream_duration_seconds_bucket{${G}, role="shadow"}[$__rate_interval])))`, '{{group}} {{backend}} p50'),
      promql('B', `histogram_quantile(0.99, sum by (group, backend, le) (rate(cutover_upstream_duration_seconds_bucket{${G}, role="shadow"}[$__rate_interval])))`, '{{group}} {{backend}} p99'),
    ]))
    .withPanel(stats({
      title: 'New p99 ÷ legacy p99 (5 min)',
      description: 'How much slower the new side is at p99 than legacy, both roles together. The default readiness threshold is 1.2×; the alert CutoverNewP99AboveLegacy fires above 1.5× for 15 minutes.',
      unit: 'suffix:×', width: 6, thresholds: lowerIsBetter(1.2, 1.5),
    }, [promql('A', `group_backend:cutover_upstream_duration_seconds:p99_rate5m{${G}, backend="new"}
/ ignoring (backend) group_backend:cutover_upstream_duration_seconds:p99_rate5m{${G}, backend="legacy"}`, '{{group}}', { instant: true })], { decimals: 2 }))
    .withPanel(stats({
      title: 'Failed upstream calls per side (5 min)',
      description: 'The share of each side\'s upstream calls (primary and shadow) that failed without a usable response: refused, timeout, reset, function error, throttled… The alert CutoverNewSideErrorsAboveLegacy compares the two.',
      unit: 'percentunit', width: 6, thresholds: lowerIsBetter(0.001, 0.01),
    }, [promql('A', `group_backend:cutover_upstream_errors:ratio_rate5m{${G}}`, '{{group}} {{backend}}', { instant: true })], { decimals: 2 }))
    .withPanel(timeSeries({
      title: 'Upstream errors by side and reason',
      description: 'Upstream calls that failed without a usable response, by side (backend), role (primary: a client waited for it; shadow: nobody did) and reason.',
      unit: 'reqps',
    }, [promql('A', `sum by (group, backend, role, reason) (rate(cutover_upstream_errors_total{${G}}[$__rate_interval]))`, '{{group}} {{backend}} {{role}}: {{reason}}')]))

    .withRow(new dashboard.RowBuilder('Safety nets'))
    .withPanel(timeSeries({
      title: 'Fallbacks to legacy by reason',
      description: 'Reads the new side failed that legacy answered instead (live and complete). Clients are fine; the new side is not. circuit_open: the breaker sent them to legacy without trying.',
      unit: 'reqps', width: 8,
    }, [promql('A', `sum by (group, reason) (rate(cutover_fallbacks_total{${G}}[$__rate_interval]))`, '{{group}}: {{reason}}')]))
    .withPanel(states({
      title: 'Breaker around the new side',
      description: 'The circuit breaker of each group\'s new side, worst proxy first: closed (calls go through), half-open (one probe), open (no calls; reads go to legacy, writes get 503).',
      unit: 'none', width: 8,
    }, [promql('A', `max by (group) (cutover_circuit_state{${G}})`, '{{group}}')], CIRCUIT_STATES))
    .withPanel(timeSeries({
      title: 'Flag decisions by source',
      description: 'Where each caller\'s stage came from: optimizely (the flag), override (the admin kill switch), fallback (no usable datafile, or a variation that names no stage: those callers get legacy). A spike of fallback means the flags are broken.',
      unit: 'ops', width: 8,
    }, [promql('A', `sum by (group, source) (rate(cutover_flag_decisions_total{${G}}[$__rate_interval]))`, '{{group}} {{source}}')])
      .overrideByRegexp('.* fallback$', [{ id: 'color', value: { mode: 'fixed', fixedColor: 'red' } }])
      .overrideByRegexp('.* override$', [{ id: 'color', value: { mode: 'fixed', fixedColor: 'orange' } }]))

    .withRow(new dashboard.RowBuilder('Mirror and evidence'))
    .withPanel(timeSeries({
      title: 'Shadows skipped by reason',
      description: 'Requests of a comparing stage that were not compared: capacity (the shadow pool was full: a slow side), shadow_circuit_open, body_too_large, unsafe_method (a write in a group without dry-run), sampled_out (the configured share), client_aborted.',
      unit: 'reqps', width: 8,
    }, [promql('A', `sum by (group, reason) (rate(cutover_shadow_skipped_total{${G}}[$__rate_interval]))`, '{{group}}: {{reason}}')], { stack: true }))
    .withPanel(timeSeries({
      title: 'Shadow requests in flight',
      description: 'Shadow requests under way, over all proxies and on the busiest one. The dashed line is shadow.maxInFlight\'s default (64 per proxy): at it, further shadows are skipped as capacity.',
      unit: 'none', width: 8, thresholds: lowerIsBetter(48, 64),
    }, [
      promql('A', 'sum(cutover_shadow_inflight)', 'all proxies'),
      promql('B', 'max(cutover_shadow_inflight)', 'busiest proxy'),
    ], { thresholdLine: true, min: 0 }))
    .withPanel(timeSeries({
      title: 'Diff store: written and dropped',
      description: 'Comparisons written to the diff store, and those it did not keep: store_down (the database does not answer, or is not open yet), queue_full (writes fall behind). Dropped samples are still counted in the metrics and the match rates.',
      unit: 'ops', width: 8,
    }, [
      promql('A', 'sum(rate(cutover_store_written_total[$__rate_interval]))', 'written'),
      promql('B', 'sum by (reason) (rate(cutover_store_dropped_total[$__rate_interval]))', 'dropped: {{reason}}'),
    ]).overrideByRegexp('^dropped.*', [{ id: 'color', value: { mode: 'fixed', fixedColor: 'red' } }]))

    .withRow(new dashboard.RowBuilder('The proxy processes'))
    .withPanel(timeSeries({
      title: 'CPU per proxy',
      description: 'CPU time per second of each proxy process (1 = one core).',
      unit: 'percentunit', width: 8,
    }, [promql('A', 'rate(process_cpu_seconds_total{job="$job"}[$__rate_interval])', '{{instance}}')]))
    .withPanel(timeSeries({
      title: 'Memory per proxy',
      description: 'Resident memory of each proxy, and its V8 heap (used and total) and memory outside the heap (buffers).',
      unit: 'bytes', width: 8,
    }, [
      promql('A', 'process_resident_memory_bytes{job="$job"}', '{{instance}} resident'),
      promql('B', 'nodejs_heap_size_used_bytes{job="$job"}', '{{instance}} heap used'),
      promql('C', 'nodejs_heap_size_total_bytes{job="$job"}', '{{instance}} heap total'),
      promql('D', 'nodejs_external_memory_bytes{job="$job"}', '{{instance}} external'),
    ]))
    .withPanel(timeSeries({
      title: 'Event loop lag',
      description: 'How late the event loop runs (p50, p99 and the worst since the last scrape). Every request and comparison shares this loop: lag is added to every answer.',
      unit: 's', width: 8, thresholds: lowerIsBetter(0.05, 0.2),
    }, [
      promql('A', 'nodejs_eventloop_lag_p50_seconds{job="$job"}', '{{instance}} p50'),
      promql('B', 'nodejs_eventloop_lag_p99_seconds{job="$job"}', '{{instance}} p99'),
      promql('C', 'nodejs_eventloop_lag_max_seconds{job="$job"}', '{{instance}} max'),
    ], { thresholdLine: true }))
    .withPanel(timeSeries({
      title: 'Garbage collection time',
      description: 'Seconds per second each proxy spends collecting garbage, by kind (major, minor, incremental, weakcb).',
      unit: 'percentunit', width: 8,
    }, [promql('A', 'sum by (instance, kind) (rate(nodejs_gc_duration_seconds_sum{job="$job"}[$__rate_interval]))', '{{instance}} {{kind}}')]))
    .withPanel(timeSeries({
      title: 'Open handles and file descriptors',
      description: 'Handles the event loop holds open (sockets, timers) and file descriptors as a share of the process\'s limit: a leak climbs here before it fails.',
      unit: 'none', width: 8,
    }, [
      promql('A', 'nodejs_active_handles_total{job="$job"}', '{{instance}} handles'),
      promql('B', 'process_open_fds{job="$job"}', '{{instance}} open fds'),
      promql('C', 'process_max_fds{job="$job"}', '{{instance}} fd limit'),
    ]).overrideByRegexp('.* fd limit$', [{ id: 'custom.lineStyle', value: { fill: 'dash', dash: [10, 10] } }]))
    .withPanel(tableOf({
      title: 'Node.js versions',
      description: 'Which Node.js version the proxies run, and how many run each.',
      unit: 'none', width: 8,
    }, [promql('A', 'count by (version) (nodejs_version_info{job="$job"})', '', { instant: true, table: true })])
      .withTransformation(HIDE_TIME).withOverride(column('Value', 'proxies', 'none')));
}
