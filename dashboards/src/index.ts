/**
 * The dashboards as code: what `npx tsx dashboards/src/generate.ts` writes to dashboards/*.json,
 * and what test/dashboards.test.ts compares the committed files with.
 */
import { groupDetail } from './group.js';
import { overview } from './overview.js';

export { GROUP_UID, OVERVIEW_UID } from './variables.js';

/** Each dashboard by its file name in dashboards/ (Terraform loads every dashboards/*.json). */
export function dashboards(): Record<string, unknown> {
  return {
    'cutover-overview.json': overview().build(),
    'cutover-group.json': groupDetail().build(),
  };
}

/** A dashboard as it is committed: two-space JSON and a final newline, so that diffs stay readable. */
export function fileText(dashboard: unknown): string {
  return `${JSON.stringify(dashboard, null, 2)}\n`;
}

/**
 * Metrics the proxy exports that no panel shows, and why. Every other exported metric is on a
 * panel: test/dashboards.test.ts checks both, against the proxy's own registry.
 */
export const UNSHOWN: Readonly<Record<string, string>> = {
  process_cpu_user_seconds_total: 'user and system CPU are shown together as process_cpu_seconds_total',
  process_cpu_system_seconds_total: 'user and system CPU are shown together as process_cpu_seconds_total',
  process_virtual_memory_bytes: 'virtual size says little about a Node.js process; resident memory is shown',
  process_heap_bytes: 'the V8 heap is shown from nodejs_heap_size_used_bytes and nodejs_heap_size_total_bytes',
  nodejs_eventloop_lag_seconds: 'a single sample at scrape time; the lag percentiles and max are shown',
  nodejs_eventloop_lag_min_seconds: 'the best case says nothing a reader acts on; p50, p99 and max are shown',
  nodejs_eventloop_lag_mean_seconds: 'p50 is shown; the mean hides the tail p99 shows',
  nodejs_eventloop_lag_stddev_seconds: 'p50, p99 and max are shown',
  nodejs_eventloop_lag_p90_seconds: 'p50 and p99 are shown',
  nodejs_active_resources: 'per resource type; the handle total is shown',
  nodejs_active_resources_total: 'overlaps with active handles and requests; the handle total is shown',
  nodejs_active_handles: 'per handle type; the total is shown',
  nodejs_active_requests: 'libuv requests (file system, DNS) are brief and few in the proxy',
  nodejs_active_requests_total: 'libuv requests (file system, DNS) are brief and few in the proxy',
  nodejs_heap_space_size_total_bytes: 'per V8 heap space; the heap as a whole is shown',
  nodejs_heap_space_size_used_bytes: 'per V8 heap space; the heap as a whole is shown',
  nodejs_heap_space_size_available_bytes: 'per V8 heap space; the heap as a whole is shown',
};
