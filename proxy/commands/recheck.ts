import { adminRequest, adminUrl, duration, problemOf, type ReviewIo, shown, UsageProblem } from './report.js';

export interface RecheckOptions {
  readonly group?: string | undefined;
  readonly admin?: string | undefined;
  readonly since?: string | undefined;
  readonly limit?: string | number | undefined;
  readonly json?: boolean | undefined;
}

/** A stored mismatch as GET /api/diffs lists it. */
interface Listed { readonly id: string; readonly route: string; readonly path: string }

/** What POST /api/diffs/:id/recheck answers. */
interface Answer {
  readonly id: string;
  readonly group: string;
  readonly route: string;
  readonly was: string;
  readonly verdict: 'match' | 'mismatch' | 'noise' | 'error';
  readonly reason: string | null;
  readonly differences: ReadonlyArray<{ path: string; kind: string; legacy: unknown; new: unknown }>;
  readonly caveats: readonly string[];
}

type Outcome =
  | (Answer & { readonly outcome: 'now_match' | 'still_differ' })
  | { readonly id: string; readonly route: string; readonly outcome: 'skipped'; readonly error: string };

export const DEFAULT_LIMIT = 50;
const MAX_LIMIT = 10_000;
const PAGE = 500;
/** A recheck waits for both sides (each within its shadow timeout): longer than a plain read. */
const RECHECK_TIMEOUT_MS = 60_000;
const PATHS_SHOWN = 3;

function limitOf(value: string | number | undefined): number {
  if (value === undefined) return DEFAULT_LIMIT;
  const limit = Number(value);
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT) throw new UsageProblem(`--limit must be a whole number from 1 to ${MAX_LIMIT}, not "${value}"`);
  return limit;
}

/** The group's stored mismatches, newest first, following the cursor until `limit`. */
async function mismatches(io: ReviewIo, admin: URL, group: string, since: string, limit: number): Promise<Listed[]> {
  const found: Listed[] = [];
  let cursor: string | null = null;
  do {
    const query = new URLSearchParams({ group, verdict: 'mismatch', since, limit: String(Math.min(PAGE, limit - found.length)) });
    if (cursor) query.set('cursor', cursor);
    const answer = await adminRequest(io, admin, `/api/diffs?${query}`);
    if (answer.status !== 200) throw new UsageProblem(`${shown(admin)}/api/diffs answered ${answer.status}: ${problemOf(answer)}`);
    if (!Array.isArray(answer.body.diffs)) throw new UsageProblem(`${shown(admin)}/api/diffs answered without a list of comparisons: is it the proxy's admin port?`);
    found.push(...(answer.body.diffs as Listed[]));
    cursor = answer.body.nextCursor as string | null;
  } while (cursor && found.length < limit);
  return found.slice(0, limit);
}

/** Who runs the command, for the proxy's audit line (it keeps names of letters, digits, ".", "@", "-", spaces). */
function actorOf(env: ReviewIo['env']): string {
  const user = env.USER ?? env.LOGNAME;
  return user !== undefined && /^[\w.@-]{1,40}$/.test(user) ? `${user} with cutover recheck` : 'cutover recheck';
}

/** Sends one stored request again; an answer the admin port refuses for this comparison only is a skip. */
async function recheckOne(io: ReviewIo, admin: URL, token: string, listed: Listed): Promise<Outcome> {
  const answer = await adminRequest(io, admin, `/api/diffs/${encodeURIComponent(listed.id)}/recheck`, {
    method: 'POST', headers: { authorization: `Bearer ${token}`, 'x-cutover-actor': actorOf(io.env) }, timeoutMs: RECHECK_TIMEOUT_MS,
  });
  if (answer.status === 401) throw new UsageProblem(`${shown(admin)} refused CUTOVER_ADMIN_TOKEN (401): set it to the proxy's admin token (admin.token)`);
  if (answer.status === 403) throw new UsageProblem(`${shown(admin)} refused the recheck (403): ${problemOf(answer)}`);
  if (answer.status !== 200) return { id: listed.id, route: listed.route, outcome: 'skipped', error: problemOf(answer) };
  const now = answer.body as unknown as Answer;
  return { ...now, outcome: now.verdict === 'match' || now.verdict === 'noise' ? 'now_match' : 'still_differ' };
}

/** One line: id, route, was → now, and the first paths that still differ (or why it was skipped). */
export function formatOutcome(outcome: Outcome, widths: { id: number; route: number } = { id: 0, route: 0 }): string {
  const head = `#${outcome.id.padEnd(widths.id)}  ${outcome.route.padEnd(widths.route)}  `;
  if (outcome.outcome === 'skipped') return `${head}skipped: ${outcome.error}`;
  const paths = outcome.differences.slice(0, PATHS_SHOWN).map((difference) => difference.path).join(', ');
  const more = outcome.differences.length > PATHS_SHOWN ? ` (+${outcome.differences.length - PATHS_SHOWN} more)` : '';
  const detail = outcome.verdict === 'error' ? `  ${outcome.reason ?? ''}` : paths ? `  ${paths}${more}` : '';
  return `${head}${outcome.was} → ${outcome.verdict}${detail}`.trimEnd();
}

function tally(outcomes: readonly Outcome[]) {
  const of = (kind: Outcome['outcome']) => outcomes.filter((outcome) => outcome.outcome === kind).length;
  return { rechecked: outcomes.length, nowMatch: of('now_match'), stillDiffer: of('still_differ'), skipped: of('skipped') };
}

export function summaryLine(outcomes: readonly Outcome[]): string {
  const { rechecked, nowMatch, stillDiffer, skipped } = tally(outcomes);
  return `${rechecked} rechecked: ${nowMatch} now match, ${stillDiffer} still differ, ${skipped} skipped`;
}

/** "n replays: caveat" once per distinct caveat: why a replay may differ from the original request. */
function caveatLines(outcomes: readonly Outcome[]): string[] {
  const counts = new Map<string, number>();
  for (const outcome of outcomes) {
    if (outcome.outcome === 'skipped') continue;
    for (const caveat of outcome.caveats) counts.set(caveat, (counts.get(caveat) ?? 0) + 1);
  }
  return [...counts].map(([caveat, n]) => `note: ${n} replay${n === 1 ? '' : 's'}: ${caveat}`);
}

/** "recheck 3/40" on a terminal's stderr, rewritten in place and wiped before anything else is printed. */
function progress(io: ReviewIo) {
  let drawn = false;
  return {
    show(done: number, total: number) {
      if (!io.stderrIsTTY) return;
      io.stderr(`\r\x1b[2Krecheck ${done + 1}/${total}…`);
      drawn = true;
    },
    clear() {
      if (drawn) io.stderr('\r\x1b[2K');
      drawn = false;
    },
  };
}

/**
 * `cutover recheck --group G`: sends the group's stored mismatches again to both sides, through
 * the admin port, and says which now match. Exit code 0 when every one rechecked now matches (at
 * least one), 1 otherwise, 2 on usage problems (options, token, admin port).
 */
export async function recheck(options: RecheckOptions, io: ReviewIo): Promise<number> {
  const outcomes: Outcome[] = [];
  const bar = progress(io);
  try {
    if (!options.group) throw new UsageProblem('--group is required: the group whose mismatches to send again');
    const admin = adminUrl(options.admin, io.env);
    const since = duration(options.since ?? '24h', '--since');
    const limit = limitOf(options.limit);
    const token = io.env.CUTOVER_ADMIN_TOKEN;
    if (!token) throw new UsageProblem('CUTOVER_ADMIN_TOKEN is not set: a recheck sends requests again, so it needs the proxy\'s admin token (admin.token)');
    const listed = await mismatches(io, admin, options.group, since, limit);
    if (listed.length === 0 && !options.json) io.stdout(`no mismatch of ${options.group} stored in the last ${since}: nothing to recheck\n`);
    const widths = { id: Math.max(0, ...listed.map((one) => one.id.length)), route: Math.max(0, ...listed.map((one) => one.route.length)) };
    for (const [index, one] of listed.entries()) {
      bar.show(index, listed.length);
      const outcome = await recheckOne(io, admin, token, one);
      outcomes.push(outcome);
      bar.clear();
      if (!options.json) io.stdout(`${formatOutcome(outcome, widths)}\n`);
    }
  } catch (error) {
    bar.clear();
    if (!(error instanceof UsageProblem)) throw error;
    io.stderr(`cutover recheck: ${error.message}${outcomes.length > 0 ? ` (stopped after ${summaryLine(outcomes)})` : ''}\n`);
    return 2;
  }
  if (options.json) {
    io.stdout(`${JSON.stringify({ group: options.group, summary: tally(outcomes), rechecked: outcomes }, null, 2)}\n`);
    io.stderr(`${summaryLine(outcomes)}\n`);
  } else {
    io.stdout(`${[...caveatLines(outcomes), summaryLine(outcomes)].join('\n')}\n`);
  }
  return outcomes.length > 0 && outcomes.every((outcome) => outcome.outcome === 'now_match') ? 0 : 1;
}
