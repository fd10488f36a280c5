/** The bench's results: bench/results/proxy.json (every pass) and proxy.md (the table). */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Accounting } from './cutover.js';
import type { ProfileSummary } from './profile.js';
import { median, spread } from './stats.js';

/** One measured window of one row. */
export interface PassFigures {
  readonly pass: number;
  readonly requests: number;
  readonly requestsPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly errors: number;
  /** Absent for the direct row, which has no proxy process. */
  readonly cpuMicrosPerRequest?: number;
  readonly peakRssKiB?: number;
  /** Cutover rows: the difference of /metrics before and after the window. */
  readonly accounting?: Accounting;
}

export interface RowSummary {
  readonly requestsPerSecond: number;
  readonly requestsPerSecondSpread: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** The highest of the passes' peaks. */
  readonly peakRssMiB?: number;
  readonly cpuMicrosPerRequest?: number;
  readonly cpuSpread?: number;
  /** Median req/s over the baseline's (bare http-proxy); absent when that row was not run. */
  readonly ratioToBaseline?: number;
  readonly errors: number;
  /** Summed over the passes; `balanced`: mirrored = compared + skipped in every pass. */
  readonly accounting?: Accounting & { readonly balanced: boolean };
}

export interface RowResult {
  readonly id: string;
  readonly label: string;
  readonly passes: readonly PassFigures[];
  readonly summary: RowSummary;
}

export interface Report {
  readonly command: string;
  readonly date: string;
  readonly machine: Readonly<Record<string, string>>;
  readonly settings: Readonly<Record<string, string | number>>;
  readonly notes: readonly string[];
  readonly rows: readonly RowResult[];
  readonly profile?: ProfileSummary;
}

function sumAccounting(passes: readonly PassFigures[]): RowSummary['accounting'] {
  const all = passes.map((pass) => pass.accounting).filter((entry): entry is Accounting => entry !== undefined);
  if (all.length === 0) return undefined;
  const detail: Record<string, number> = {};
  for (const entry of all) for (const [key, count] of Object.entries(entry.detail)) detail[key] = (detail[key] ?? 0) + count;
  return {
    mirrored: all.reduce((sum, entry) => sum + entry.mirrored, 0),
    compared: all.reduce((sum, entry) => sum + entry.compared, 0),
    skipped: all.reduce((sum, entry) => sum + entry.skipped, 0),
    detail,
    balanced: all.every((entry) => entry.mirrored === entry.compared + entry.skipped),
  };
}

function defined(values: ReadonlyArray<number | undefined>): number[] {
  return values.filter((value): value is number => value !== undefined);
}

export function summarize(passes: readonly PassFigures[], baselineRequestsPerSecond: number | undefined): RowSummary {
  const rates = passes.map((pass) => pass.requestsPerSecond);
  const cpu = defined(passes.map((pass) => pass.cpuMicrosPerRequest));
  const rss = defined(passes.map((pass) => pass.peakRssKiB));
  const requestsPerSecond = median(rates);
  return {
    requestsPerSecond,
    requestsPerSecondSpread: spread(rates),
    p50Ms: median(passes.map((pass) => pass.p50Ms)),
    p99Ms: median(passes.map((pass) => pass.p99Ms)),
    peakRssMiB: rss.length > 0 ? Math.max(...rss) / 1024 : undefined,
    cpuMicrosPerRequest: cpu.length > 0 ? median(cpu) : undefined,
    cpuSpread: cpu.length > 0 ? spread(cpu) : undefined,
    ratioToBaseline: baselineRequestsPerSecond ? requestsPerSecond / baselineRequestsPerSecond : undefined,
    errors: passes.reduce((sum, pass) => sum + pass.errors, 0),
    accounting: sumAccounting(passes),
  };
}

const number = (value: number | undefined, digits = 0) =>
  value === undefined || Number.isNaN(value) ? '—' : value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
const percent = (value: number | undefined) => (value === undefined || Number.isNaN(value) ? '—' : `${Math.round(value * 100)} %`);

function accountingCell(accounting: RowSummary['accounting']): string {
  if (!accounting) return '';
  const { mirrored, compared, skipped, detail, balanced } = accounting;
  if (mirrored === 0 && compared === 0 && skipped === 0) return 'none mirrored';
  const parts = Object.entries(detail).map(([key, count]) => `${key} ${number(count)}`).join(', ');
  const percent = (100 * compared) / mirrored;
  const share = mirrored === 0 ? '' : `; ${percent >= 10 ? Math.round(percent) : percent.toPrecision(2)} % compared`;
  return `${number(mirrored)} = ${number(compared)} + ${number(skipped)} ${balanced ? '✓' : '✗'} (${parts}${share})`;
}

/** Two decimals, or two significant digits below 0.1 (the slow mirror row is a thousandth of the baseline). */
function ratio(value: number | undefined): string {
  if (value === undefined || Number.isNaN(value)) return '—';
  return `${value >= 0.1 ? value.toFixed(2) : value.toPrecision(2)}×`;
}

function tableRow(row: RowResult): string {
  const s = row.summary;
  return `| ${row.label} | ${number(s.requestsPerSecond)} | ${percent(s.requestsPerSecondSpread)} | ${number(s.p50Ms, 2)} | ${number(s.p99Ms, 2)} | ${number(s.peakRssMiB, 1)} | ${number(s.cpuMicrosPerRequest)} | ${percent(s.cpuSpread)} | ${ratio(s.ratioToBaseline)} | ${number(s.errors)} | ${accountingCell(s.accounting)} |`;
}

function profileSection(profile: ProfileSummary): string {
  const busy = profile.sampledMs - profile.idleMs;
  return `
## CPU profile of the shadow stage (\`--profile\`)

A separate \`cutover-shadow\` run under \`node --cpu-prof\` (main thread; not one of the passes above), from
the process's start (module loading is in it) through warm-up and load to its exit: ${number(profile.sampledMs)} ms
sampled, ${number(busy)} ms busy. Top functions by self time, as a share of the busy time; the whole
profile is \`${profile.file}\` (open it in Chrome DevTools, Performance):

| self ms | share | function |
|---|---|---|
${profile.top.map((entry) => `| ${number(entry.selfMs)} | ${(entry.share * 100).toFixed(1)} % | \`${entry.where}\` |`).join('\n')}
`;
}

export function renderMarkdown(report: Report): string {
  const machine = Object.entries(report.machine).map(([key, value]) => `${key} ${value}`).join(', ');
  const settings = Object.entries(report.settings).map(([key, value]) => `${key} ${value}`).join(', ');
  return `# Proxy benchmark

Command: \`${report.command}\`

Machine: ${machine}; run ${report.date}.

Settings: ${settings}.
${report.notes.map((note) => `\n- ${note}`).join('')}${report.notes.length > 0 ? '\n' : ''}
| row | req/s | spread | p50 ms | p99 ms | peak RSS MiB | CPU µs/req | spread | × baseline | errors | mirrored = compared + skipped |
|---|---|---|---|---|---|---|---|---|---|---|
${report.rows.map(tableRow).join('\n')}

Reading:

- Medians over the passes; "spread" is (max − min) / median over the passes. Rows ran in one run, the
  order reversed every other pass, so drift of a shared machine falls on every row alike.
- The baseline is the bare http-proxy row: "× baseline" is a row's req/s over its req/s.
- CPU µs/req is utime + stime of the proxy process (/proc/PID/stat) over the window, until its
  shadows settled and it and its store went quiet (what the window kept is written before the next
  row's window), divided by the requests wrk completed: the figure least disturbed by other tenants.
  For nginx, the worker process. The direct row has no proxy, so no CPU or RSS. The kernel counts
  CPU time in clock ticks (10 ms): a window of a few hundred requests (the slow mirror) reads coarsely.
- Peak RSS is VmHWM of the proxy process, reset at the start of each window; the highest of the passes.
- errors: wrk's socket errors and non-2xx answers, summed over the passes.
- The accounting is read from Cutover's /metrics before and after each window, summed over the passes:
  in the mirroring stages (shadow, live) every request of the group is mirrored, and each one must
  be compared or counted as skipped (✓ when that held in every pass). A few \`client_aborted\` are
  wrk closing its connections at the end of a window.
- Isolation rows: the shadow side answers after 2 s, or refuses connections (127.0.0.1:1). The
  client should not notice: compare their req/s and p99 with the plain mirror rows.
- The mismatch row: the new side answers the product's price changed, so every comparison is a mismatch and
  the store keeps each one (matches are kept at \`store.sample.match\`, 1 % by default). It is the
  cost of a bad release of the new side, beside the plain shadow row.
${report.profile ? profileSection(report.profile) : ''}`;
}

export function writeReport(dir: string, report: Report): { markdown: string; json: string } {
  mkdirSync(dir, { recursive: true });
  const markdown = path.join(dir, 'proxy.md');
  const json = path.join(dir, 'proxy.json');
  writeFileSync(markdown, renderMarkdown(report));
  writeFileSync(json, `${JSON.stringify(report, null, 2)}\n`);
  return { markdown, json };
}
