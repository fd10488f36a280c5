/**
 * Group detail: one group, its routes side by side, and the evidence the diff store keeps
 * (PostgreSQL): the recent mismatches, each linking to its sample on the report page.
 */
import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import {
  CIRCUIT_STATES, HIDE_TIME, POSTGRES, SqlQueryBuilder, color, column, higherIsBetter, link, lowerIsBetter, onTheBar, promql, stats, tableOf, timeSeries,
} from './grafana.js';
import { GROUP_UID, TAGS, adminUrl, cutoverDashboards, datasource, group, store } from './variables.js';

const G = 'group="$group"';

/** Per route over the dashboard's time range: `part` of the `whole`, 0 where the whole has no `part` series. */
const shareInRange = (metric: string, part: string, whole: string = G) => `(
  sum by (route) (increase(${metric}{${whole}, ${part}}[$__range]))
  or sum by (route) (increase(${metric}{${whole}}[$__range])) * 0
)
/ (sum by (route) (increase(${metric}{${whole}}[$__range])) > 0)`;

/** A sample id's link to its page on the report page (the admin port's `/`, hash route `#/diff?id=`). */
const sample = () => link('Open this sample on the report page', '${admin_url}/#/diff?id=${__value.raw}');

/** The store's rows of one group, in the dashboard's time range. Grafana puts `$group` in as it is (one value). */
const RECENT_MISMATCHES = `
SELECT id AS "sample",
       at AS "time",
       route,
       method || ' ' || path || CASE WHEN query <> '' THEN '?' || query ELSE '' END AS "request",
       verdict,
       coalesce(reason, '') AS "reason",
       array_to_string(fields, ', ') AS "fields",
       coalesce(legacy->>'status', legacy->>'failure') AS "legacy",
       coalesce(new->>'status', new->>'failure') AS "new",
       primary_side AS "served by",
       request_id AS "request id"
FROM cutover_comparisons
WHERE group_name = '$group'
  AND verdict IN ('mismatch', 'error')
  AND $__timeFilter(at)
ORDER BY id DESC
LIMIT 100`;

const STORED_FIELDS = `
SELECT route,
       field,
       count(*) AS "samples",
       max(at) AS "last seen",
       max(id) AS "latest sample"
FROM cutover_comparisons CROSS JOIN LATERAL unnest(fields) AS field
WHERE group_name = '$group'
  AND verdict = 'mismatch'
  AND $__timeFilter(at)
GROUP BY route, field
ORDER BY "samples" DESC, field
LIMIT 50`;

/** A minute's counts belong to the time range when the minute overlaps it (the first one starts before it). */
const COMPARISON_MINUTES = `
SELECT minute AS "time", verdict AS "metric", sum(count) AS "value"
FROM cutover_comparison_minutes
WHERE group_name = '$group' AND $__timeFrom()::timestamptz - interval '1 minute' < minute AND minute <= $__timeTo()::timestamptz
GROUP BY 1, 2
ORDER BY 1`;

const REQUEST_MINUTES = `
SELECT minute AS "time", stage || ' → ' || served_by AS "metric", sum(count) AS "value"
FROM cutover_request_minutes
WHERE group_name = '$group' AND $__timeFrom()::timestamptz - interval '1 minute' < minute AND minute <= $__timeTo()::timestamptz
GROUP BY 1, 2
ORDER BY 1`;

const SKIP_MINUTES = `
SELECT minute AS "time", reason AS "metric", sum(count) AS "value"
FROM cutover_skip_minutes
WHERE group_name = '$group' AND $__timeFrom()::timestamptz - interval '1 minute' < minute AND minute <= $__timeTo()::timestamptz
GROUP BY 1, 2
ORDER BY 1`;

const SIDE_MINUTES = `
SELECT minute AS "time", side AS "metric", sum(errors)::float8 / nullif(sum(count), 0) AS "value"
FROM cutover_side_minutes
WHERE group_name = '$group' AND $__timeFrom()::timestamptz - interval '1 minute' < minute AND minute <= $__timeTo()::timestamptz
GROUP BY 1, 2
ORDER BY 1`;

/**
 * Every stage change of the group, as annotations on every panel: a datafile revision that
 * changed its split, an override set or cleared (the guard's rollback too, tagged `guard`).
 * The store records each once for the fleet (cutover_stage_history).
 */
const STAGE_CHANGES = `
SELECT at AS "time",
       coalesce(from_stage, '—') || ' → ' || to_stage || ' ('
         || CASE WHEN kind = 'datafile' THEN 'datafile revision ' || revision ELSE 'by ' || actor END
         || CASE WHEN reason <> '' THEN ': ' || reason ELSE '' END || ')' AS "text",
       kind || CASE WHEN actor = 'guard' THEN ',guard' ELSE '' END AS "tags"
FROM cutover_stage_history
WHERE group_name = '$group'
  AND $__timeFilter(at)
ORDER BY at`;

export function groupDetail(): dashboard.DashboardBuilder {
  return new dashboard.DashboardBuilder('Cutover: group detail')
    .uid(GROUP_UID).tags(TAGS)
    .description('One endpoint group: its routes side by side, and the evidence the diff store keeps, each sample linked to the report page. dashboards/README.md says what each panel answers.')
    .editable().tooltip(dashboard.DashboardCursorSync.Crosshair)
    .time({ from: 'now-6h', to: 'now' }).refresh('1m').timezone('browser')
    .withVariable(datasource()).withVariable(store()).withVariable(group()).withVariable(adminUrl())
    .annotation(new dashboard.AnnotationQueryBuilder().name('Stage changes').datasource(POSTGRES).enable(true).iconColor('orange')
      .target(new SqlQueryBuilder('STAGE', STAGE_CHANGES)))
    .link(onTheBar(cutoverDashboards()))
    .link(onTheBar(new dashboard.DashboardLinkBuilder('Report page').type(dashboard.DashboardLinkType.Link)
      .url('${admin_url}/#/group?group=${group}').icon('external link').targetBlank(true)
      .tooltip('The proxy\'s report page for this group: readiness verdict with its reasons, routes, fields, samples')))

    .withRow(new dashboard.RowBuilder('The group now (5 min)'))
    .withPanel(stats({
      title: 'Stage of the callers',
      description: 'Which stage the group\'s callers get, as a share of its flag decisions.',
      unit: 'percentunit', width: 6,
    }, [promql('A', `sum by (stage) (group_stage_source:cutover_flag_decisions:rate5m{${G}})
/ ignoring (stage) group_left () (sum (group_stage_source:cutover_flag_decisions:rate5m{${G}}) > 0)`, '{{stage}}', { instant: true })]))
    .withPanel(stats({
      title: 'Served by the new side',
      description: 'The share of the group\'s requests the new side answered.',
      unit: 'percentunit', width: 5,
    }, [promql('A', `(
  sum (group_stage_served_by:cutover_requests:rate5m{${G}, served_by="new"})
  or sum (group_stage_served_by:cutover_requests:rate5m{${G}}) * 0
)
/ (sum (group_stage_served_by:cutover_requests:rate5m{${G}}) > 0)`, 'new', { instant: true })]))
    .withPanel(stats({
      title: 'Match rate',
      description: 'The share of the group\'s comparisons in which the sides agreed (match or noise).',
      unit: 'percentunit', width: 5, thresholds: higherIsBetter(0.95, 0.99),
    }, [promql('A', `group:cutover_comparisons_match:ratio_rate5m{${G}}`, 'match rate', { instant: true })], { decimals: 1 }))
    .withPanel(stats({
      title: 'New p99 ÷ legacy p99',
      description: 'How much slower the new side is at p99 than legacy (readiness default: 1.2× at most).',
      unit: 'suffix:×', width: 4, thresholds: lowerIsBetter(1.2, 1.5),
    }, [promql('A', `group_backend:cutover_upstream_duration_seconds:p99_rate5m{${G}, backend="new"}
/ ignoring (backend) group_backend:cutover_upstream_duration_seconds:p99_rate5m{${G}, backend="legacy"}`, 'p99 ratio', { instant: true })], { decimals: 2 }))
    .withPanel(stats({
      title: 'Breaker',
      description: 'The new side\'s circuit breaker, worst proxy: closed, half-open or open.',
      unit: 'none', width: 4,
    }, [promql('A', `max (cutover_circuit_state{${G}})`, 'breaker', { instant: true })], { mappings: CIRCUIT_STATES }))

    .withRow(new dashboard.RowBuilder('The stage served and the datafile'))
    .withPanel(stats({
      title: 'Stage served now',
      description: 'The group\'s callers by stage as the proxies serve them now: the flag\'s split under the datafile applied, or 100 % of the stage an override forces. The orange marks on the time series are its stage changes (datafile revisions, overrides, the guard\'s rollbacks), from the store.',
      unit: 'percent', width: 10,
    }, [promql('A', `max by (stage) (cutover_group_stage_share{${G}})`, '{{stage}}', { instant: true })]))
    .withPanel(tableOf({
      title: 'Datafile per proxy',
      description: 'The revision of the Optimizely datafile each proxy decides by, and how long ago it applied it: a flip is acknowledged when every proxy shows its revision.',
      unit: 'none', width: 9, height: 5,
    }, [
      promql('A', 'max by (instance) (cutover_datafile_revision)', '', { instant: true, table: true }),
      promql('B', 'time() - max by (instance) (cutover_datafile_applied_timestamp_seconds)', '', { instant: true, table: true }),
    ])
      .withTransformation({ id: 'merge', options: {} }).withTransformation(HIDE_TIME)
      .withOverride(column('Value #A', 'revision', 'none', [{ id: 'decimals', value: 0 }]))
      .withOverride(column('Value #B', 'applied', 's', [{ id: 'decimals', value: 0 }])))
    .withPanel(stats({
      title: 'Datafiles refused',
      description: 'Datafiles the proxies could not use over the time range (not JSON, unreadable, rejected by the SDK, a flag gone): the one before kept deciding, and /readyz says degraded until a usable one arrives.',
      unit: 'none', width: 5, thresholds: lowerIsBetter(1, 1),
    }, [promql('A', 'sum (increase(cutover_datafile_errors_total[$__range])) or vector(0)', 'refused', { instant: true })], { decimals: 0 }))

    .withRow(new dashboard.RowBuilder('Routes side by side'))
    .withPanel(tableOf({
      title: 'Routes over the time range',
      description: 'Each route of the group in one row, over the dashboard\'s time range: requests, the share the new side served, the share answered 5xx, comparisons, match rate and mismatches (mismatch or error).',
      unit: 'none', width: 24, height: 7,
    }, [
      promql('A', `sum by (route) (increase(cutover_requests_total{${G}}[$__range]))`, '', { instant: true, table: true }),
      promql('B', shareInRange('cutover_requests_total', 'served_by="new"'), '', { instant: true, table: true }),
      promql('C', shareInRange('cutover_requests_total', 'status_class="5xx"'), '', { instant: true, table: true }),
      promql('D', `sum by (route) (increase(cutover_comparisons_total{${G}}[$__range]))`, '', { instant: true, table: true }),
      promql('E', shareInRange('cutover_comparisons_total', 'verdict=~"match|noise"'), '', { instant: true, table: true }),
      promql('F', `sum by (route) (increase(cutover_comparisons_total{${G}, verdict=~"mismatch|error"}[$__range]))`, '', { instant: true, table: true }),
    ])
      .withTransformation({ id: 'merge', options: {} }).withTransformation(HIDE_TIME)
      .withOverride(column('Value #A', 'requests', 'none', [{ id: 'decimals', value: 0 }]))
      .withOverride(column('Value #B', 'served by new', 'percentunit'))
      .withOverride(column('Value #C', '5xx', 'percentunit', [{ id: 'thresholds', value: lowerIsBetter(0.001, 0.01).build() }, { id: 'custom.cellOptions', value: { type: 'color-text' } }]))
      .withOverride(column('Value #D', 'comparisons', 'none', [{ id: 'decimals', value: 0 }]))
      .withOverride(column('Value #E', 'match rate', 'percentunit', [{ id: 'thresholds', value: higherIsBetter(0.95, 0.99).build() }, { id: 'custom.cellOptions', value: { type: 'color-background' } }]))
      .withOverride(column('Value #F', 'mismatches', 'none', [{ id: 'decimals', value: 0 }])))
    .withPanel(timeSeries({
      title: 'Match rate per route',
      description: 'The share of comparisons in which the sides agreed, per route over time.',
      unit: 'percentunit', thresholds: higherIsBetter(0.95, 0.99),
    }, [promql('A', `(
  sum by (route) (rate(cutover_comparisons_total{${G}, verdict=~"match|noise"}[$__rate_interval]))
  or sum by (route) (rate(cutover_comparisons_total{${G}}[$__rate_interval])) * 0
)
/ (sum by (route) (rate(cutover_comparisons_total{${G}}[$__rate_interval])) > 0)`, '{{route}}')], { min: 0, max: 1, thresholdLine: true }))
    .withPanel(timeSeries({
      title: 'Requests per route and served side',
      description: 'Each route\'s traffic, split by the side that answered.',
      unit: 'reqps',
    }, [promql('A', `sum by (route, served_by) (rate(cutover_requests_total{${G}}[$__rate_interval]))`, '{{route}} → {{served_by}}')], { stack: true }))
    .withPanel(timeSeries({
      title: 'Comparisons per route by verdict',
      description: 'Comparisons per route and verdict: where the mismatches and errors are.',
      unit: 'ops',
    }, [promql('A', `sum by (route, verdict) (rate(cutover_comparisons_total{${G}}[$__rate_interval]))`, '{{route}} {{verdict}}')], { stack: true })
      .overrideByRegexp('.* mismatch$', [{ id: 'color', value: { mode: 'fixed', fixedColor: 'orange' } }])
      .overrideByRegexp('.* error$', [{ id: 'color', value: { mode: 'fixed', fixedColor: 'red' } }]))
    .withPanel(tableOf({
      title: 'Differing fields per route',
      description: 'The fields that differed in the group\'s mismatches over the time range, per route (noise excluded; "_other" past 25 fields a route).',
      unit: 'none',
    }, [promql('A', `sort_desc(sum by (route, field) (increase(cutover_mismatched_fields_total{${G}}[$__range])) > 0)`, '', { instant: true, table: true })])
      .withTransformation(HIDE_TIME).withOverride(column('Value', 'mismatches in range', 'none', [{ id: 'decimals', value: 0 }])))

    .withRow(new dashboard.RowBuilder('Evidence in the diff store (PostgreSQL)'))
    .withPanel(tableOf({
      title: 'Recent mismatches and errors',
      description: 'The newest stored mismatches and errors of the group (100 at most), as the diff store keeps them: the request, the fields that differed, each side\'s status or failure. Click a sample id to open it on the report page: both responses side by side, what the rules hid, and the replay curls.',
      unit: 'none', width: 24, height: 10,
    }, [new SqlQueryBuilder('A', RECENT_MISMATCHES)], POSTGRES)
      .withOverride(column('sample', 'sample', 'none', [sample()]))
      .withOverride(column('verdict', 'verdict', undefined, [
        { id: 'mappings', value: [{ type: 'value', options: { mismatch: { color: 'orange', index: 0 }, error: { color: 'red', index: 1 } } }] },
        { id: 'custom.cellOptions', value: { type: 'color-text' } },
      ])))
    .withPanel(tableOf({
      title: 'Fields in stored mismatches',
      description: 'Every field that differed in the stored mismatches of the time range, uncapped (the metric keeps 25 a route), with its latest sample: click it for the report page.',
      unit: 'none', width: 12, height: 9,
    }, [new SqlQueryBuilder('A', STORED_FIELDS)], POSTGRES)
      .withOverride(column('latest sample', 'latest sample', 'none', [sample()])))
    .withPanel(timeSeries({
      title: 'Comparisons per minute by verdict, all proxies (store)',
      description: 'The per-minute counts the readiness verdict is computed from: every comparison of every proxy sharing the store, kept even when the sample was not. Longer history than Prometheus may keep.',
      unit: 'none', width: 12, height: 9,
    }, [new SqlQueryBuilder('A', COMPARISON_MINUTES, 'time_series')], { stack: true }).datasource(POSTGRES)
      .withOverride(color('match', 'green')).withOverride(color('noise', 'blue'))
      .withOverride(color('mismatch', 'orange')).withOverride(color('error', 'red')))
    .withPanel(timeSeries({
      title: 'Requests per minute by stage and side (store)',
      description: 'The group\'s requests per minute by stage and the side that served them, from the store: the stage mix over days.',
      unit: 'none', width: 8,
    }, [new SqlQueryBuilder('A', REQUEST_MINUTES, 'time_series')], { stack: true }).datasource(POSTGRES))
    .withPanel(timeSeries({
      title: 'Shadows skipped per minute (store)',
      description: 'Requests of a comparing stage that were not compared, per minute and reason, from the store.',
      unit: 'none', width: 8,
    }, [new SqlQueryBuilder('A', SKIP_MINUTES, 'time_series')], { stack: true }).datasource(POSTGRES))
    .withPanel(timeSeries({
      title: 'Error rate per side (store)',
      description: 'The share of each side\'s answers in comparisons that were failures or 5xx, per minute: what the readiness check "new error rate vs legacy" reads.',
      unit: 'percentunit', width: 8, thresholds: lowerIsBetter(0.001, 0.01),
    }, [new SqlQueryBuilder('A', SIDE_MINUTES, 'time_series')]).datasource(POSTGRES));
}
