/**
 * What Grafana does with a dashboard's queries before a data source runs them, for the tests of
 * dashboards/: every query of every panel, template variables put in the way each data source
 * does it, and Grafana's own macros replaced by concrete values. Only what the Cutover
 * dashboards use is emulated; anything else left in a query (a `$` Grafana would have
 * replaced) throws, so a dashboard cannot use a feature this file does not handle and pass.
 */

interface Json { [key: string]: unknown }

export interface PanelQuery {
  readonly dashboard: string;
  readonly panel: string;
  readonly refId: string;
  readonly kind: 'promql' | 'sql';
  /** The query as the dashboard has it. */
  readonly text: string;
  readonly instant: boolean;
  readonly legend: string;
  /** The panel's field overrides that name a field (byName matchers). */
  readonly fieldNames: readonly string[];
  readonly panelType: string;
}

export interface Variable { name: string; type: string; query: string; multi: boolean; includeAll: boolean }

const asJson = (value: unknown): Json => (value && typeof value === 'object' ? value as Json : {});
const asArray = (value: unknown): Json[] => (Array.isArray(value) ? value.map(asJson) : []);

/** Every panel of a dashboard, rows' nested panels (collapsed rows) included, rows themselves not. */
export function panelsOf(dashboard: unknown): Json[] {
  const out: Json[] = [];
  const walk = (panels: Json[]) => {
    for (const panel of panels) {
      if (panel.type === 'row') walk(asArray(panel.panels));
      else out.push(panel);
    }
  };
  walk(asArray(asJson(dashboard).panels));
  return out;
}

/** Every query of every panel, PromQL or SQL by the query's data source type. */
export function panelQueries(dashboard: unknown): PanelQuery[] {
  const title = String(asJson(dashboard).title);
  return panelsOf(dashboard).flatMap((panel) => {
    const overrides = asArray(asJson(panel.fieldConfig).overrides);
    const fieldNames = overrides.map((override) => asJson(override.matcher)).filter((matcher) => matcher.id === 'byName').map((matcher) => String(matcher.options));
    return asArray(panel.targets).map((target): PanelQuery => {
      const type = String(asJson(target.datasource).type ?? asJson(panel.datasource).type);
      const sql = type === 'grafana-postgresql-datasource' || type === 'postgres';
      if (!sql && type !== 'prometheus') throw new Error(`${title} / ${String(panel.title)}: a query of data source type ${type}`);
      return {
        dashboard: title,
        panel: String(panel.title),
        refId: String(target.refId),
        kind: sql ? 'sql' : 'promql',
        text: String(sql ? target.rawSql : target.expr),
        instant: target.instant === true,
        legend: String(target.legendFormat ?? ''),
        fieldNames,
        panelType: String(panel.type),
      };
    });
  });
}

export function variablesOf(dashboard: unknown): Variable[] {
  return asArray(asJson(asJson(dashboard).templating).list).map((variable) => ({
    name: String(variable.name),
    type: String(variable.type),
    query: typeof variable.query === 'string' ? variable.query : String(asJson(variable.query).query ?? ''),
    multi: variable.multi === true,
    includeAll: variable.includeAll === true,
  }));
}

/** `label_values(metric{…}, label)`: the form of a Prometheus query variable, parsed. */
export function labelValuesQuery(query: string): { match: string; label: string } {
  const parsed = /^label_values\((.+),\s*(\w+)\)$/s.exec(query.trim());
  if (!parsed) throw new Error(`not a label_values() variable query: ${query}`);
  return { match: parsed[1] as string, label: parsed[2] as string };
}

/**
 * Grafana's Prometheus data source (public/app/plugins/datasource/prometheus, "classic
 * behavior"): a variable that is neither multi-value nor "include All" goes in as it is, with
 * backslashes and single quotes escaped; otherwise each value is escaped for a regular
 * expression inside a PromQL string, and several values become `(a|b)`. "All" without a custom
 * all value is every value of the variable.
 */
export function prometheusValue(values: readonly string[], variable: Pick<Variable, 'multi' | 'includeAll'>): string {
  if (!variable.multi && !variable.includeAll) return (values[0] ?? '').replace(/\\/g, '\\\\').replace(/'/g, "\\\\'");
  const escaped = values.map((value) => value.replace(/\\/g, '\\\\\\\\').replace(/[$^*{}[\]+?.()|]/g, '\\\\$&'));
  return escaped.length === 1 ? escaped[0] as string : `(${escaped.join('|')})`;
}

/**
 * Grafana's SQL data sources: a single value goes in as it is (the query quotes it); a
 * multi-value or "All" variable becomes a list of quoted strings.
 */
export function sqlValue(values: readonly string[], variable: Pick<Variable, 'multi' | 'includeAll'>): string {
  if (!variable.multi && !variable.includeAll) return values[0] ?? '';
  return values.map((value) => `'${value.replace(/'/g, "''")}'`).join(',');
}

export interface TimeRange {
  /** Unix seconds. */
  from: number;
  to: number;
  /**
   * What `$__rate_interval` stands for. Grafana computes it (at least four scrape intervals, and
   * the query step plus one scrape interval): outside Grafana a concrete window takes its place.
   */
  rateInterval: string;
}

function replaceVariables(text: string, put: (name: string) => string | undefined): string {
  return text.replace(/\$\{(\w+)(?::(\w+))?\}|\$(\w+)/g, (whole, braced: string | undefined, format: string | undefined, bare: string | undefined) => {
    if (format) throw new Error(`variable format \${${braced}:${format}} is not emulated`);
    const value = put((braced ?? bare) as string);
    return value ?? whole;
  });
}

function leftovers(text: string, what: string): string {
  const left = /\$\{?\w+/.exec(text);
  if (left) throw new Error(`${what}: "${left[0]}" was not replaced (a variable or macro this emulation does not know)\n${text}`);
  return text;
}

/** A PromQL query as Grafana sends it: `$__rate_interval`, `$__range`, `$__interval`, and the variables' values. */
export function interpolatePromql(expr: string, values: Readonly<Record<string, readonly string[]>>, variables: readonly Variable[], range: TimeRange): string {
  const macros: Record<string, string> = {
    __rate_interval: range.rateInterval,
    __range: `${Math.max(1, Math.round(range.to - range.from))}s`,
    __interval: '1s',
  };
  const text = replaceVariables(expr, (name) => {
    if (name in macros) return macros[name];
    const variable = variables.find((candidate) => candidate.name === name);
    const chosen = values[name];
    if (!variable || !chosen) return undefined;
    return prometheusValue(chosen, variable);
  });
  return leftovers(text, 'PromQL');
}

/**
 * An SQL query as Grafana's PostgreSQL data source runs it: `$__timeFilter(column)`,
 * `$__timeFrom()`, `$__timeTo()` (quoted RFC 3339 instants, to the second), and the variables' values.
 */
export function interpolateSql(sql: string, values: Readonly<Record<string, readonly string[]>>, variables: readonly Variable[], range: TimeRange): string {
  const iso = (seconds: number) => `'${new Date(seconds * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z')}'`;
  const [from, to] = [iso(Math.floor(range.from)), iso(Math.ceil(range.to))];
  const withMacros = sql
    .replace(/\$__timeFilter\(([^)]+)\)/g, (_, column: string) => `${column.trim()} BETWEEN ${from} AND ${to}`)
    .replace(/\$__timeFrom\(\)/g, from)
    .replace(/\$__timeTo\(\)/g, to);
  const text = replaceVariables(withMacros, (name) => {
    const variable = variables.find((candidate) => candidate.name === name);
    const chosen = values[name];
    if (!variable || !chosen) return undefined;
    return sqlValue(chosen, variable);
  });
  return leftovers(text, 'SQL');
}

/** The labels a legend format names: `{{group}} → {{served_by}}` names group and served_by. */
export function legendLabels(legend: string): string[] {
  return [...legend.matchAll(/\{\{\s*(\w+)\s*\}\}/g)].map((match) => match[1] as string);
}

const KEYWORDS = new Set(['and', 'or', 'unless', 'by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'bool', 'offset', 'inf', 'nan']);

/**
 * The metric names a PromQL expression reads: every series selector's name. Strings, label
 * matchers, range durations and grouping clauses are taken out first; what remains that is an
 * identifier, not a keyword and not called like a function, is a metric name.
 */
export function metricNames(expr: string): string[] {
  let code = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""')
    .replace(/\{[^}]*\}/g, '{}')
    .replace(/\[[^\]]*\]/g, '[]');
  code = code.replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  const names = new Set<string>();
  for (const match of code.matchAll(/(?<![\w.$:])([a-zA-Z_:][a-zA-Z0-9_:]*)/g)) {
    const name = match[1] as string;
    const after = code.slice((match.index ?? 0) + name.length);
    if (KEYWORDS.has(name.toLowerCase()) || /^\s*\(/.test(after)) continue;
    names.add(name);
  }
  return [...names];
}
