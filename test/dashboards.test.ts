import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { GROUP_UID, OVERVIEW_UID, UNSHOWN, dashboards, fileText } from '../dashboards/src/index.js';
import { Metrics } from '../proxy/telemetry/metrics.js';
import { metricNames, panelQueries, panelsOf, variablesOf } from './support/grafana.js';
import { promtool } from './support/prometheus.js';

const DIR = path.resolve('dashboards');
const read = (file: string) => readFileSync(path.join(DIR, file), 'utf8');

interface Rule { record?: string; alert?: string; expr: string; for?: string; labels?: Record<string, string>; annotations?: Record<string, string> }
const ruleFiles = readdirSync(path.join(DIR, 'rules')).filter((file) => file.endsWith('.yaml'));
const rules: Rule[] = ruleFiles.flatMap((file) => (parseYaml(read(`rules/${file}`)) as { groups: Array<{ rules: Rule[] }> }).groups.flatMap((group) => group.rules));
const recorded = new Set(rules.flatMap((rule) => (rule.record ? [rule.record] : [])));
const alerts = rules.filter((rule) => rule.alert);
const generated = dashboards();
const queries = Object.values(generated).flatMap((dashboard) => panelQueries(dashboard));
const promqlQueries = queries.filter((query) => query.kind === 'promql');

/** The proxy's metric families, from its own registry: name → type. */
async function exported(): Promise<Map<string, string>> {
  return new Map((await new Metrics().registry.getMetricsAsJSON()).map((metric) => [metric.name, String(metric.type)]));
}

/** A series name as its family: a histogram's _bucket, _sum and _count are the histogram. */
function familyOf(name: string, families: Map<string, string>): string {
  const base = name.replace(/_(bucket|sum|count)$/, '');
  return base !== name && families.get(base) === 'histogram' ? base : name;
}

/** Series that Prometheus itself makes, which dashboards may read: `up`, one per scrape target. */
const PROMETHEUS_OWN = new Set(['up']);

describe('dashboards/: Grafana dashboards as code, Prometheus rules and provisioning', function () {
  this.timeout(30_000);

  describe('the dashboards', () => {
    it('are committed exactly as dashboards/src generates them (npx tsx dashboards/src/generate.ts)', () => {
      for (const [file, dashboard] of Object.entries(generated)) {
        assert.ok(existsSync(path.join(DIR, file)), `dashboards/${file} is not committed: run npx tsx dashboards/src/generate.ts`);
        assert.equal(read(file), fileText(dashboard), `dashboards/${file} differs from what dashboards/src generates: run npx tsx dashboards/src/generate.ts (never edit the JSON by hand)`);
      }
      // Terraform makes a Grafana dashboard of every dashboards/*.json: nothing else may lie there.
      const committed = readdirSync(DIR).filter((file) => file.endsWith('.json')).sort();
      assert.deepEqual(committed, Object.keys(generated).sort(), 'dashboards/*.json holds only the generated dashboards');
    });

    it('have the uids the alerts and links use, a description, variables for every data source, and no fixed data source', () => {
      const byUid = new Map(Object.values(generated).map((dashboard) => [String((dashboard as { uid: string }).uid), dashboard]));
      assert.deepEqual([...byUid.keys()].sort(), [GROUP_UID, OVERVIEW_UID].sort());
      for (const dashboard of byUid.values()) {
        const { title, description } = dashboard as { title: string; description?: string };
        assert.ok(description, `${title} has a description`);
        const variables = variablesOf(dashboard);
        assert.ok(variables.some((variable) => variable.type === 'datasource' && variable.query === 'prometheus'), `${title}: a Prometheus data source variable`);
        for (const panel of panelsOf(dashboard)) {
          const uid = String((panel.datasource as { uid?: string } | undefined)?.uid);
          assert.match(uid, /^\$\{\w+\}$/, `${title} / ${String(panel.title)}: its data source is a variable, not ${uid}`);
          for (const target of (panel.targets as Array<{ datasource: { uid: string } }>)) assert.match(target.datasource.uid, /^\$\{\w+\}$/);
        }
      }
      const group = byUid.get(GROUP_UID);
      assert.ok(variablesOf(group).some((variable) => variable.name === 'admin_url' && variable.type === 'textbox'), 'the admin base URL is a variable of the group detail');
      assert.ok(variablesOf(group).some((variable) => variable.type === 'datasource' && variable.query === 'grafana-postgresql-datasource'), 'a PostgreSQL data source variable');
    });

    it('say what each panel answers, with a unit and thresholds on every panel', () => {
      for (const dashboard of Object.values(generated)) {
        for (const panel of panelsOf(dashboard)) {
          const where = `${String((dashboard as { title: string }).title)} / ${String(panel.title)}`;
          assert.ok(String(panel.description ?? '').length > 40, `${where}: a description that says what the panel answers`);
          const defaults = (panel.fieldConfig as { defaults: { unit?: string; thresholds?: { steps: unknown[] } } }).defaults;
          assert.ok(defaults.unit, `${where}: a unit`);
          assert.ok((defaults.thresholds?.steps.length ?? 0) >= 1, `${where}: thresholds`);
          assert.ok((panel.targets as unknown[]).length >= 1, `${where}: a query`);
        }
      }
    });

    it('use $__rate_interval (or the time range) in every rate, never a fixed window', () => {
      for (const query of promqlQueries) {
        for (const window of query.text.matchAll(/\[([^\]]*)\]/g)) {
          assert.ok(['$__rate_interval', '$__range'].includes(window[1] as string), `${query.dashboard} / ${query.panel} ${query.refId}: window [${window[1]}]; use [$__rate_interval] (or [$__range] for "in the time range")`);
        }
        if (/\b(rate|increase|irate)\(/.test(query.text)) assert.match(query.text, /\[\$__(rate_interval|range)\]/);
      }
      assert.ok(promqlQueries.some((query) => query.text.includes('[$__rate_interval]')));
    });

    it('link every stored sample to its page on the report page, through the admin URL variable', () => {
      const group = generated['cutover-group.json'];
      const links = panelsOf(group).flatMap((panel) => ((panel.fieldConfig as { overrides: Array<{ properties: Array<{ id: string; value: Array<{ url: string }> }> }> }).overrides)
        .flatMap((override) => override.properties).filter((property) => property.id === 'links').flatMap((property) => property.value.map((link) => link.url)));
      assert.ok(links.length >= 2, 'the recent mismatches and the stored fields link to samples');
      for (const url of links) assert.equal(url, '${admin_url}/#/diff?id=${__value.raw}');
    });
  });

  describe('metric names', () => {
    it('every metric a panel or a rule reads is one the proxy exports (or a recording rule, or Prometheus\'s own up)', async () => {
      const families = await exported();
      const used = [...promqlQueries.map((query) => ({ where: `${query.dashboard} / ${query.panel} ${query.refId}`, text: query.text })),
        ...rules.map((rule) => ({ where: `rule ${rule.record ?? rule.alert}`, text: rule.expr }))];
      for (const { where, text } of used) {
        const names = metricNames(text);
        assert.ok(names.length > 0, `${where}: reads no metric?\n${text}`);
        for (const name of names) {
          const known = families.has(familyOf(name, families)) || recorded.has(name) || PROMETHEUS_OWN.has(name);
          assert.ok(known, `${where}: ${name} is neither a metric of the proxy nor a recording rule`);
        }
      }
    });

    it('every metric the proxy exports appears on a panel, or is listed in UNSHOWN with the reason', async () => {
      const families = await exported();
      const shown = new Set(promqlQueries.flatMap((query) => metricNames(query.text)).map((name) => familyOf(name, families)));
      // A panel that reads a recording rule shows the metrics the rule reads.
      const recordings = new Map(rules.filter((rule) => rule.record).map((rule) => [rule.record as string, rule.expr]));
      for (let grew = true; grew;) {
        grew = false;
        for (const name of [...shown]) {
          for (const inner of metricNames(recordings.get(name) ?? '')) {
            const family = familyOf(inner, families);
            if (!shown.has(family)) { shown.add(family); grew = true; }
          }
        }
      }
      const missing = [...families.keys()].filter((name) => !shown.has(name) && !(name in UNSHOWN));
      assert.deepEqual(missing, [], 'exported metrics on no panel and not listed as deliberately unshown');
      for (const name of Object.keys(UNSHOWN)) {
        assert.ok(families.has(name), `UNSHOWN lists ${name}, which the proxy does not export`);
        assert.ok(!shown.has(name), `UNSHOWN lists ${name}, which a panel shows`);
      }
      for (const name of families.keys()) if (name.startsWith('cutover_')) assert.ok(shown.has(name), `${name}: every cutover_ metric is on a panel`);
    });

    it('reads metric names out of PromQL (the reader the two tests above rely on)', () => {
      assert.deepEqual(metricNames('sum by (group, le) (rate(a_bucket{x="y{z}", route=~"$route"}[$__rate_interval])) / ignoring (stage) group_left () b:c:rate5m offset 1h > 0.5 and on (group) up'), ['a_bucket', 'b:c:rate5m', 'up']);
      assert.deepEqual(metricNames('topk(15, max_over_time(cutover_circuit_state[2m]) == 2) or histogram_quantile(0.99, x)'), ['cutover_circuit_state', 'x']);
    });
  });

  describe('the rules', () => {
    it('record only rates that a panel, an alert or another rule reads', () => {
      const readers = [...promqlQueries.map((query) => query.text), ...rules.map((rule) => rule.expr)].map((text) => metricNames(text));
      for (const name of recorded) assert.ok(readers.some((names) => names.includes(name)), `recording rule ${name} is read by nothing`);
    });

    it('give every alert a severity, a duration, a summary, a description and a link to an existing dashboard', () => {
      const expected = ['CutoverMismatchRateAfterStageChange', 'CutoverNewSideErrorsAboveLegacy', 'CutoverNewP99AboveLegacy', 'CutoverShadowsSkipped',
        'CutoverFallbacks', 'CutoverBreakerOpen', 'CutoverFlagsOnFallback', 'CutoverDatafileRefused', 'CutoverStoreDropping', 'CutoverGuardTripped', 'CutoverGuardUnable'];
      assert.deepEqual(alerts.map((rule) => rule.alert), expected);
      for (const rule of alerts) {
        assert.match(String(rule.labels?.severity), /^(critical|warning)$/, `${rule.alert}: severity`);
        assert.match(String(rule.for), /^\d+m$/, `${rule.alert}: for`);
        assert.ok((rule.annotations?.summary ?? '').length > 20, `${rule.alert}: summary`);
        assert.ok((rule.annotations?.description ?? '').length > 80, `${rule.alert}: description`);
        const link = /^\/d\/([\w-]+)(\?.*)?$/.exec(rule.annotations?.dashboard ?? '');
        assert.ok(link, `${rule.alert}: dashboard is a path /d/<uid>`);
        assert.ok([OVERVIEW_UID, GROUP_UID].includes(link[1] as string), `${rule.alert}: links to dashboard ${link[1]}, which does not exist`);
      }
    });

    it('are unit-tested for every alert: series that must fire and series that must not', () => {
      const tests = parseYaml(read('tests/cutover.test.yaml')) as { tests: Array<{ alert_rule_test?: Array<{ alertname: string; exp_alerts: unknown[] }> }> };
      const cases = tests.tests.flatMap((test) => test.alert_rule_test ?? []);
      for (const rule of alerts) {
        const mine = cases.filter((entry) => entry.alertname === rule.alert);
        assert.ok(mine.some((entry) => entry.exp_alerts.length > 0), `${rule.alert}: a case where it fires`);
        assert.ok(mine.some((entry) => entry.exp_alerts.length === 0), `${rule.alert}: a case where it does not`);
      }
    });

    it('pass promtool check config, check rules and test rules', async () => {
      const config = await promtool(['check', 'config', 'prometheus.yml'], path.join(DIR, 'prometheus'));
      assert.equal(config.code, 0, config.output);
      assert.match(config.output, /SUCCESS: 1 rule files found/);
      const checked = await promtool(['check', 'rules', ...ruleFiles.map((file) => `rules/${file}`)], DIR);
      assert.equal(checked.code, 0, checked.output);
      assert.match(checked.output, new RegExp(`SUCCESS: ${rules.length} rules found`));
      const tested = await promtool(['test', 'rules', 'cutover.test.yaml'], path.join(DIR, 'tests'));
      assert.equal(tested.code, 0, tested.output);
      assert.match(tested.output, /SUCCESS/);
    });
  });

  describe('dashboards/README.md', () => {
    it('says what every panel answers and names every alert', () => {
      const readme = read('README.md');
      for (const dashboard of Object.values(generated)) {
        for (const panel of panelsOf(dashboard)) assert.ok(readme.includes(`| ${String(panel.title)} |`), `dashboards/README.md has no row for the panel "${String(panel.title)}"`);
      }
      for (const rule of alerts) assert.ok(readme.includes(`| ${String(rule.alert)} |`), `dashboards/README.md has no row for the alert ${String(rule.alert)}`);
    });
  });

  describe('provisioning', () => {
    it('has Prometheus and PostgreSQL data sources of the types the dashboards\' variables ask for, and a provider for the dashboards', () => {
      const sources = (parseYaml(read('provisioning/datasources/cutover.yaml')) as { datasources: Array<{ type: string; uid: string }> }).datasources;
      const wanted = Object.values(generated).flatMap((dashboard) => variablesOf(dashboard)).filter((variable) => variable.type === 'datasource').map((variable) => variable.query);
      for (const type of new Set(wanted)) assert.ok(sources.some((source) => source.type === type), `a provisioned data source of type ${type}`);
      const providers = (parseYaml(read('provisioning/dashboards/cutover.yaml')) as { providers: Array<{ type: string; options: { path: string } }> }).providers;
      assert.equal(providers[0]?.type, 'file');
      // The compose file mounts every generated dashboard where the provider reads.
      const compose = read('compose.yaml');
      for (const file of Object.keys(generated)) assert.ok(compose.includes(`./${file}:${providers[0]?.options.path}/${file}`), `compose.yaml mounts ${file}`);
    });
  });
});
