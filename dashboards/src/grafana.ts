/**
 * The few conventions every Cutover panel follows, on top of Grafana's own typed builders
 * (@grafana/grafana-foundation-sdk): where its queries go, what a legend and a tooltip show,
 * units and thresholds. The dashboards themselves (overview.ts, group.ts) read as a list of
 * panels, each with its question (the description) and its queries.
 */
import type * as cog from '@grafana/grafana-foundation-sdk/cog';
import * as common from '@grafana/grafana-foundation-sdk/common';
import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import * as prometheus from '@grafana/grafana-foundation-sdk/prometheus';
import * as stat from '@grafana/grafana-foundation-sdk/stat';
import * as stateTimeline from '@grafana/grafana-foundation-sdk/statetimeline';
import * as table from '@grafana/grafana-foundation-sdk/table';
import * as timeseries from '@grafana/grafana-foundation-sdk/timeseries';

/** Grafana's plugin id of its PostgreSQL data source (the core plugin, called `postgres` before Grafana 10.3). */
export const POSTGRES_TYPE = 'grafana-postgresql-datasource';

/** Every panel names its data source through a dashboard variable, so that one file fits any Grafana. */
export const PROMETHEUS: common.DataSourceRef = { type: 'prometheus', uid: '${datasource}' };
export const POSTGRES: common.DataSourceRef = { type: POSTGRES_TYPE, uid: '${store}' };

/** A PromQL query. `legend` is Grafana's legendFormat (`{{group}}`); an instant query gives one value per series. */
export function promql(refId: string, expr: string, legend: string, options: { instant?: boolean; table?: boolean } = {}): prometheus.DataqueryBuilder {
  const query = new prometheus.DataqueryBuilder().datasource(PROMETHEUS).refId(refId).expr(expr).legendFormat(legend);
  if (options.instant) query.instant();
  else query.range();
  if (options.table) query.format(prometheus.PromQueryFormat.Table);
  return query;
}

/**
 * A query of Grafana's PostgreSQL data source, which the SDK has no type for: its "code" form
 * (raw SQL with Grafana's macros such as `$__timeFilter(at)`), as the query editor saves it.
 */
export interface SqlQuery extends cog.Dataquery {
  refId: string;
  datasource: common.DataSourceRef;
  editorMode: 'code';
  rawQuery: true;
  format: 'table' | 'time_series';
  rawSql: string;
}

export class SqlQueryBuilder implements cog.Builder<cog.Dataquery> {
  private readonly query: SqlQuery;

  constructor(refId: string, rawSql: string, format: SqlQuery['format'] = 'table') {
    this.query = { refId, datasource: POSTGRES, editorMode: 'code', rawQuery: true, format, rawSql: rawSql.trim(), _implementsDataqueryVariant() {} };
  }

  build(): SqlQuery {
    return this.query;
  }
}

/** Red below `bad`, yellow below `good`, green from `good`: for shares where higher is better (match rates). */
export function higherIsBetter(bad: number, good: number): dashboard.ThresholdsConfigBuilder {
  return new dashboard.ThresholdsConfigBuilder().mode(dashboard.ThresholdsMode.Absolute)
    .steps([{ value: null, color: 'red' }, { value: bad, color: 'yellow' }, { value: good, color: 'green' }]);
}

/** Green below `warn`, yellow from `warn`, red from `bad`: for errors, drops, ratios where lower is better. */
export function lowerIsBetter(warn: number, bad: number): dashboard.ThresholdsConfigBuilder {
  return new dashboard.ThresholdsConfigBuilder().mode(dashboard.ThresholdsMode.Absolute)
    .steps([{ value: null, color: 'green' }, { value: warn, color: 'yellow' }, { value: bad, color: 'red' }]);
}

/** No threshold colours: a neutral measure (traffic, latency without a target). */
export function neutral(): dashboard.ThresholdsConfigBuilder {
  return new dashboard.ThresholdsConfigBuilder().mode(dashboard.ThresholdsMode.Absolute).steps([{ value: null, color: 'green' }]);
}

const legendTable = () => new common.VizLegendOptionsBuilder().showLegend(true).displayMode(common.LegendDisplayMode.Table)
  .placement(common.LegendPlacement.Right).calcs(['mean', 'lastNotNull']).sortBy('Last *').sortDesc(true);
const tooltipAll = () => new common.VizTooltipOptionsBuilder().mode(common.TooltipDisplayMode.Multi).sort(common.SortOrder.Descending);

export interface PanelText {
  title: string;
  /** The question the panel answers, shown in its ⓘ and in dashboards/README.md. */
  description: string;
  unit: string;
  thresholds?: dashboard.ThresholdsConfigBuilder;
  width?: number;
  height?: number;
}

/** A time series with its legend as a table (mean, last) and a tooltip that lists every series. */
export function timeSeries(text: PanelText, queries: cog.Builder<cog.Dataquery>[], options: { stack?: boolean; min?: number; max?: number; thresholdLine?: boolean } = {}): timeseries.PanelBuilder {
  const panel = new timeseries.PanelBuilder()
    .title(text.title).description(text.description).datasource(PROMETHEUS).unit(text.unit)
    .span(text.width ?? 12).height(text.height ?? 8)
    .thresholds(text.thresholds ?? neutral())
    .legend(legendTable()).tooltip(tooltipAll())
    .lineWidth(1).fillOpacity(options.stack ? 40 : 8).showPoints(common.VisibilityMode.Never)
    .targets(queries);
  if (options.stack) panel.stacking(new common.StackingConfigBuilder().mode(common.StackingMode.Normal));
  if (options.min !== undefined) panel.min(options.min);
  if (options.max !== undefined) panel.max(options.max);
  if (options.thresholdLine) panel.thresholdsStyle(new common.GraphThresholdsStyleConfigBuilder().mode(common.GraphThresholdsStyleMode.Dashed));
  return panel;
}

/** One big number per series (an instant query), coloured by the thresholds. */
export function stats(text: PanelText, queries: cog.Builder<cog.Dataquery>[], options: { mappings?: dashboard.ValueMapping[]; decimals?: number } = {}): stat.PanelBuilder {
  const panel = new stat.PanelBuilder()
    .title(text.title).description(text.description).datasource(PROMETHEUS).unit(text.unit)
    .span(text.width ?? 6).height(text.height ?? 5)
    .thresholds(text.thresholds ?? neutral())
    .colorMode(common.BigValueColorMode.Background).graphMode(common.BigValueGraphMode.None)
    .textMode(common.BigValueTextMode.ValueAndName).justifyMode(common.BigValueJustifyMode.Auto)
    .orientation(common.VizOrientation.Auto)
    .reduceOptions(new common.ReduceDataOptionsBuilder().calcs(['lastNotNull']).values(false))
    .targets(queries);
  if (options.mappings) panel.mappings(options.mappings);
  if (options.decimals !== undefined) panel.decimals(options.decimals);
  return panel;
}

/** A state over time per series, with value mappings naming each state. */
export function states(text: PanelText, queries: cog.Builder<cog.Dataquery>[], mappings: dashboard.ValueMapping[]): stateTimeline.PanelBuilder {
  return new stateTimeline.PanelBuilder()
    .title(text.title).description(text.description).datasource(PROMETHEUS).unit(text.unit)
    .span(text.width ?? 12).height(text.height ?? 8)
    .thresholds(text.thresholds ?? neutral())
    .mappings(mappings).showValue(common.VisibilityMode.Auto)
    .legend(new common.VizLegendOptionsBuilder().showLegend(true).displayMode(common.LegendDisplayMode.List).placement(common.LegendPlacement.Bottom))
    .tooltip(tooltipAll())
    .targets(queries);
}

/** A table of rows, from instant Prometheus queries in table format or from SQL. */
export function tableOf(text: PanelText, queries: cog.Builder<cog.Dataquery>[], datasource: common.DataSourceRef = PROMETHEUS): table.PanelBuilder {
  return new table.PanelBuilder()
    .title(text.title).description(text.description).datasource(datasource).unit(text.unit)
    .span(text.width ?? 12).height(text.height ?? 8)
    .thresholds(text.thresholds ?? neutral())
    .cellHeight(common.TableCellHeight.Sm)
    .targets(queries);
}

/** Value mappings for the breaker gauge `cutover_circuit_state`. */
export const CIRCUIT_STATES: dashboard.ValueMapping[] = [{
  type: dashboard.MappingType.ValueToText,
  options: {
    0: { text: 'closed', color: 'green', index: 0 },
    1: { text: 'half-open', color: 'yellow', index: 1 },
    2: { text: 'open', color: 'red', index: 2 },
  },
}];

/** A field override that colours a named series. */
export function color(name: string, colour: string): { matcher: dashboard.MatcherConfig; properties: dashboard.DynamicConfigValue[] } {
  return { matcher: { id: 'byName', options: name }, properties: [{ id: 'color', value: { mode: 'fixed', fixedColor: colour } }] };
}

/** A field override that renames a column and gives it a unit (tables). */
export function column(name: string, displayName: string, unit?: string, extra: dashboard.DynamicConfigValue[] = []): { matcher: dashboard.MatcherConfig; properties: dashboard.DynamicConfigValue[] } {
  return {
    matcher: { id: 'byName', options: name },
    properties: [{ id: 'displayName', value: displayName }, ...(unit ? [{ id: 'unit', value: unit }] : []), ...extra],
  };
}

/** A data link on a column: a click opens `url` (Grafana interpolates `${__value.raw}` and dashboard variables). */
export function link(title: string, url: string): dashboard.DynamicConfigValue {
  return { id: 'links', value: [{ title, url, targetBlank: true }] };
}

/**
 * A data link on a panel's values. Grafana's data links are `{title, url, targetBlank}`; the SDK
 * types them as dashboard links, whose other members (type, tags, placement…) mean nothing here.
 */
export function dataLink(title: string, url: string): cog.Builder<dashboard.DashboardLink> {
  return { build: () => ({ title, url, targetBlank: false }) as dashboard.DashboardLink };
}

/**
 * A dashboard link on the dashboard's bar, where Grafana puts links by default. The SDK's
 * builder always sets `placement: "inControlsMenu"`, which Grafana 12 reads as "hide it in the
 * controls menu".
 */
export function onTheBar(builder: dashboard.DashboardLinkBuilder): cog.Builder<dashboard.DashboardLink> {
  return {
    build: () => {
      const link = builder.build();
      delete link.placement;
      return link;
    },
  };
}

/** Hides table columns that Prometheus's table format adds and nobody reads. */
export const HIDE_TIME: dashboard.DataTransformerConfig = { id: 'organize', options: { excludeByName: { Time: true } } };
