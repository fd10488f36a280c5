/** Template variables and links the two dashboards share. */
import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import { POSTGRES_TYPE, PROMETHEUS } from './grafana.js';

export const OVERVIEW_UID = 'cutover-overview';
export const GROUP_UID = 'cutover-group';
export const TAGS = ['cutover', 'migration'];

/** The Prometheus data source: any one of the Grafana's, the default one first. */
export const datasource = () => new dashboard.DatasourceVariableBuilder('datasource').label('Prometheus').type('prometheus');

/** The PostgreSQL data source that reads the diff store. */
export const store = () => new dashboard.DatasourceVariableBuilder('store').label('Diff store (PostgreSQL)').type(POSTGRES_TYPE);

/**
 * The scrape job of the proxies. Only the process and Node.js panels filter by it: their metric
 * names (process_*, nodejs_*) are every Node.js exporter's, while cutover_* are the proxy's alone.
 */
export const job = () => new dashboard.TextBoxVariableBuilder('job').label('Scrape job').defaultValue('cutover')
  .current({ text: 'cutover', value: 'cutover' })
  .description('The Prometheus job that scrapes the proxies\' admin port (dashboards/prometheus/prometheus.yml and the ECS collector say "cutover").');

/** Groups that have had traffic; "unmatched" (traffic outside the route table) is no group. */
const GROUPS = 'label_values(cutover_requests_total{group!="unmatched"}, group)';

export const groups = () => new dashboard.QueryVariableBuilder('group').label('Group').datasource(PROMETHEUS)
  .query(GROUPS).definition(GROUPS)
  .multi(true).includeAll(true).current({ text: 'All', value: '$__all' })
  .refresh(dashboard.VariableRefresh.OnTimeRangeChanged).sort(dashboard.VariableSort.AlphabeticalAsc);

export const group = () => new dashboard.QueryVariableBuilder('group').label('Group').datasource(PROMETHEUS)
  .query(GROUPS).definition(GROUPS)
  .multi(false).includeAll(false)
  .refresh(dashboard.VariableRefresh.OnTimeRangeChanged).sort(dashboard.VariableSort.AlphabeticalAsc);

const ROUTES = 'label_values(cutover_requests_total{group=~"$group"}, route)';

export const routes = () => new dashboard.QueryVariableBuilder('route').label('Route').datasource(PROMETHEUS)
  .query(ROUTES).definition(ROUTES)
  .multi(true).includeAll(true).current({ text: 'All', value: '$__all' })
  .refresh(dashboard.VariableRefresh.OnTimeRangeChanged).sort(dashboard.VariableSort.AlphabeticalAsc);

/** The proxy's admin port as a reviewer's browser reaches it: the report page is at its `/`. */
export const adminUrl = () => new dashboard.TextBoxVariableBuilder('admin_url').label('Admin URL (report page)')
  .defaultValue('http://127.0.0.1:9901').current({ text: 'http://127.0.0.1:9901', value: 'http://127.0.0.1:9901' })
  .description('Where a reviewer\'s browser reaches a proxy\'s admin port; each sample links to its report page there (#/diff?id=…).');

/** Both dashboards in one drop-down, time range and variables kept. */
export const cutoverDashboards = () => new dashboard.DashboardLinkBuilder('Cutover dashboards')
  .type(dashboard.DashboardLinkType.Dashboards).tags(['cutover']).asDropdown(true).includeVars(true).keepTime(true);
