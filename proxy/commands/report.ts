import type { CurrentStage } from '../decision/current-stage.js';
import type { StageEvent as StageChange } from '../review/api.js';
import type { ReadinessVerdict } from '../review/readiness.js';
import type { GroupSummary, Latency } from '../review/summary.js';

/** What `cutover report` and `cutover recheck` need of the world: given by the CLI, faked by tests. */
export interface ReviewIo {
  stdout(text: string): void;
  stderr(text: string): void;
  fetch(url: string, init?: RequestInit): Promise<Response>;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Whether stderr is a terminal: progress is drawn there only then. */
  readonly stderrIsTTY: boolean;
}

/** A problem the user can fix (an option, the admin URL, the token): one line, exit code 2. */
export class UsageProblem extends Error {}

export const DEFAULT_ADMIN = 'http://127.0.0.1:9901';
const TIMEOUT_MS = 10_000;

/** --admin, else CUTOVER_ADMIN_URL, else the default admin port. */
export function adminUrl(option: string | undefined, env: ReviewIo['env']): URL {
  const text = option ?? (env.CUTOVER_ADMIN_URL || DEFAULT_ADMIN);
  const from = option === undefined && env.CUTOVER_ADMIN_URL ? 'CUTOVER_ADMIN_URL' : '--admin';
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UsageProblem(`${from} "${text}" is not a URL (the admin port, e.g. ${DEFAULT_ADMIN})`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UsageProblem(`${from} "${text}" is not an http(s) URL (the admin port, e.g. ${DEFAULT_ADMIN})`);
  return url;
}

/** "90m", "24h", "7d", as the review API takes them. */
export function duration(text: string, option: string): string {
  if (!/^\d+(?:\.\d+)?[mhd]$/.test(text)) throw new UsageProblem(`${option} must be a duration such as 90m, 24h or 7d, not "${text}"`);
  return text;
}

/** The admin URL without a trailing slash, for messages and for joining paths. */
export function shown(admin: URL): string {
  return admin.href.replace(/\/$/, '');
}

/**
 * One request to the admin port, answered with its status and JSON body. An admin port that
 * cannot be reached, or something else answering there, is a UsageProblem naming the URL.
 */
export async function adminRequest(io: ReviewIo, admin: URL, path: string, init: RequestInit & { timeoutMs?: number } = {}): Promise<{ status: number; body: Record<string, unknown> }> {
  const url = `${shown(admin)}${path}`;
  const { timeoutMs = TIMEOUT_MS, ...rest } = init;
  let response: Response;
  try {
    response = await io.fetch(url, { ...rest, signal: AbortSignal.timeout(timeoutMs) });
  } catch (error) {
    const cause = (error as { cause?: NodeJS.ErrnoException }).cause;
    if ((error as Error).name === 'TimeoutError') throw new UsageProblem(`the admin port at ${shown(admin)} did not answer within ${timeoutMs / 1000} s: check --admin or CUTOVER_ADMIN_URL, and that the proxy is not stuck`);
    const why = cause?.code ?? cause?.message ?? (error as Error).message;
    throw new UsageProblem(`cannot reach the admin port at ${shown(admin)} (${why}): is the proxy running? Check --admin or CUTOVER_ADMIN_URL (admin.host/admin.port of its configuration)`);
  }
  let body: unknown;
  try {
    body = await response.json();
  } catch {
    body = undefined;
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body) || (response.status === 404 && path.startsWith('/api/groups'))) {
    throw new UsageProblem(`${url} answered ${response.status} without the review API: is ${shown(admin)} the proxy's admin port (not its traffic port)?`);
  }
  return { status: response.status, body: body as Record<string, unknown> };
}

/** The `error` line of an admin problem answer. */
export function problemOf(answer: { status: number; body: Record<string, unknown> }): string {
  return typeof answer.body.error === 'string' ? answer.body.error : `HTTP ${answer.status}`;
}

/** A group as GET /api/groups describes it; without an open store, no summary. */
export type GroupView = {
  readonly name: string;
  readonly flag: string;
  readonly function: string;
  readonly override: string | null;
  readonly fallback: boolean;
  readonly circuit: string;
  readonly current: CurrentStage;
  /** Newest first; null when the store does not answer. */
  readonly changes: readonly StageChange[] | null;
} & (GroupSummary | { readonly routes: ReadonlyArray<{ route: string }>; readonly readiness: null });

interface GroupsDocument { readonly store: string; readonly groups: GroupView[] }

const count = new Intl.NumberFormat('en-US');

function percent(share: number | null): string {
  return share === null ? 'n/a' : `${Number((share * 100).toFixed(share > 0 && share < 0.01 ? 2 : 1))} %`;
}

function latency(side: Latency | null): string {
  return side === null ? 'not measured' : `p50 ${side.p50Ms} ms, p99 ${side.p99Ms} ms`;
}

function tally(counts: GroupSummary['comparisons']): string {
  return `${count.format(counts.total)}: ${count.format(counts.match)} match, ${count.format(counts.mismatch)} mismatch, ${count.format(counts.noise)} noise, ${count.format(counts.error)} error`;
}

function nonZero(record: Readonly<Record<string, number>>): string {
  const entries = Object.entries(record).filter(([, n]) => n > 0);
  return entries.length === 0 ? 'none' : entries.map(([name, n]) => `${name} ${count.format(n)}`).join(', ');
}

const VERDICT_TEXT: Record<ReadinessVerdict, string> = { ready: 'ready', not_ready: 'not ready', insufficient_data: 'insufficient data' };

/** One group, readable in a terminal. */
export function formatGroup(group: GroupView, store: string): string {
  const head = `${group.name}  flag ${group.flag} · function ${group.function} · override ${group.override ?? 'none'} · circuit ${group.circuit}`;
  if (group.readiness === null) return `${head}\n  no evidence: ${store === 'off' ? 'the diff store is off (store.enabled: false)' : `the diff store is not open (${store})`}\n`;
  const summary = group as GroupSummary & GroupView;
  const { requests } = summary;
  const lines = [
    head,
    `  requests     ${count.format(requests.total)} in ${summary.window}: stages ${nonZero(requests.byStage)} · served by ${nonZero(requests.servedBy)}`,
    `  comparisons  ${tally(summary.comparisons)} · match rate ${percent(summary.matchRate)}`,
    ...(summary.routes.length > 1 ? summary.routes.map((route) => `    ${route.route}  ${tally(route.comparisons)} · match rate ${percent(route.matchRate)}`) : []),
    `  latency      legacy ${latency(summary.latency.legacy)} · new ${latency(summary.latency.new)}`,
    `  error rate   legacy ${percent(summary.errorRate.legacy)} · new ${percent(summary.errorRate.new)}`,
    `  skipped      ${nonZero(summary.skippedShadows)} (shadows not sent)`,
    `  lost         ${nonZero(summary.lostEvidence)} (compared, evidence not kept)`,
    `  readiness    ${VERDICT_TEXT[summary.readiness.verdict]}`,
    ...summary.readiness.reasons.map((reason) => `    ${reason.ok ? '✔' : '✘'} ${reason.text}`),
  ];
  return `${lines.join('\n')}\n`;
}

/** Stage changes the report lists per group; the history endpoint has the rest. */
const CHANGES_SHOWN = 5;

function changeLine(change: StageChange): string {
  const who = change.kind === 'datafile' ? `datafile revision ${change.revision}` : `by ${change.actor}`;
  return `${change.at}  ${change.from ?? '—'} → ${change.to}  (${who}${change.reason ? `: ${change.reason}` : ''})`;
}

/**
 * A group's stage as the fleet serves it now (the split, and the override that wins over it), its
 * guard's last trip with the figures that tripped it, and its latest stage changes. Its lines
 * start with "stage of", apart from the evidence block of the group.
 */
export function formatStage(group: GroupView): string {
  const { current } = group;
  const revision = current.revision === null ? 'no datafile applied yet' : `datafile revision ${current.revision}, applied ${current.appliedAt}`;
  const lines = [`stage of ${group.name}: ${current.override ? `override ${current.override.stage} (wins over the split ${current.splitText})` : current.splitText}${current.rule ? ` · rule ${current.rule}` : ''} · ${revision}`];
  if (current.override) lines.push(`  override     ${current.override.stage}, set by ${current.override.actor ?? 'unknown'}${current.override.reason ? `: ${current.override.reason}` : ''}${current.override.at ? ` at ${current.override.at}` : ''}`);
  if (group.changes === null) {
    lines.push('  changes      unknown: the stage history is in the diff store, which does not answer');
  } else {
    const trip = group.changes.find((change) => change.kind === 'override' && change.actor === 'guard');
    if (trip) lines.push(`  guard        last trip ${trip.at}: ${trip.from ?? '—'} → ${trip.to} · ${trip.reason}`);
    lines.push(`  changes      ${group.changes.length === 0 ? 'none recorded yet' : 'newest first'}`, ...group.changes.slice(0, CHANGES_SHOWN).map((change) => `    ${changeLine(change)}`));
  }
  return `${lines.join('\n')}\n`;
}

export interface ReportOptions {
  readonly admin?: string | undefined;
  readonly group?: string | undefined;
  readonly since?: string | undefined;
  readonly json?: boolean | undefined;
}

async function groups(options: ReportOptions, io: ReviewIo): Promise<{ admin: URL; window: string; document: GroupsDocument }> {
  const admin = adminUrl(options.admin, io.env);
  const window = duration(options.since ?? '24h', '--since');
  const answer = await adminRequest(io, admin, `/api/groups?window=${encodeURIComponent(window)}`);
  if (answer.status !== 200 || !Array.isArray(answer.body.groups)) throw new UsageProblem(`${shown(admin)}/api/groups answered ${answer.status}: ${problemOf(answer)}`);
  return { admin, window, document: answer.body as unknown as GroupsDocument };
}

/**
 * `cutover report`: each group's evidence over the window and its readiness verdict. Exit code 0;
 * with --group, 0 when that group is ready and 1 when not (or without enough data); 2 on usage
 * problems, an unknown group, or an admin port that cannot be reached.
 */
export async function report(options: ReportOptions, io: ReviewIo): Promise<number> {
  let fetched;
  try {
    fetched = await groups(options, io);
    if (options.group !== undefined && !fetched.document.groups.some((group) => group.name === options.group)) {
      const names = fetched.document.groups.map((group) => group.name).join(', ');
      throw new UsageProblem(`no group named "${options.group}" at ${shown(fetched.admin)} (its groups: ${names})`);
    }
  } catch (error) {
    if (!(error instanceof UsageProblem)) throw error;
    io.stderr(`cutover report: ${error.message}\n`);
    return 2;
  }
  const { document, window } = fetched;
  const shownGroups = document.groups.filter((group) => options.group === undefined || group.name === options.group);
  if (options.json) {
    io.stdout(`${JSON.stringify({ store: document.store, groups: shownGroups }, null, 2)}\n`);
  } else {
    const store = document.store === 'up' ? '' : ` · diff store: ${document.store}`;
    io.stdout(`cutover report: ${shown(fetched.admin)}, last ${window}${store}\n\n${shownGroups.map((group) => formatGroup(group, document.store)).join('\n')}\n${shownGroups.map(formatStage).join('\n')}`);
  }
  if (options.group === undefined) return 0;
  const readiness = shownGroups[0]?.readiness ?? null;
  if (readiness === null) {
    io.stderr(`cutover report: no readiness for ${options.group}: the diff store is ${document.store === 'off' ? 'off (store.enabled: false)' : `not open (${document.store})`}\n`);
    return 2;
  }
  return readiness.verdict === 'ready' ? 0 : 1;
}
