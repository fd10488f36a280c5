import net from 'node:net';
import type { Config } from '../config/config.js';
import type { Flags } from '../decision/flags.js';
import type { Logger } from '../telemetry/log.js';

/** How long a connection attempt to legacy may take before it counts as not answering. */
const CONNECT_TIMEOUT_MS = 2_000;
/** `/readyz` checks legacy again at most this often. */
const RECHECK_MS = 5_000;

/**
 * Whether anything accepts connections at the legacy URL: one TCP connection, closed at once,
 * with no request on it (so a legacy server counts no extra request). Undefined when it answers,
 * otherwise why not. The socket is unref'd: a probe under way never keeps the process alive.
 */
export function probeLegacy(url: URL, timeoutMs = CONNECT_TIMEOUT_MS): Promise<string | undefined> {
  const port = Number(url.port || (url.protocol === 'https:' ? 443 : 80));
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    socket.unref();
    const done = (problem: string | undefined) => {
      socket.destroy();
      resolve(problem);
    };
    socket.setTimeout(timeoutMs, () => done(`no connection within ${timeoutMs} ms`));
    socket.once('connect', () => done(undefined));
    socket.once('error', (error: NodeJS.ErrnoException) => done(error.code ?? error.message));
  });
}

export interface Readiness {
  /** What is wrong now; empty when the proxy is ready. */
  reasons(): Promise<string[]>;
}

/**
 * The checks that catch configuration mistakes which would otherwise only show as traffic that
 * never leaves legacy, or as every request failing: a flag key the datafile lacks, a flag that
 * cannot express the four stages (both from `Flags.problems`, logged by Flags), no usable
 * datafile, a later datafile refused (the one before keeps deciding), and a legacy URL that does not accept connections. Legacy is checked at once (a
 * warning line when it does not answer) and again when asked, at most every 5 s, so `/readyz`
 * follows legacy coming and going. None of these stops the proxy: it keeps serving, and a group
 * whose flag is broken is served by legacy, which is safe.
 */
export function startupChecks(deps: { config: Config; flags: Flags; log: Logger }, probe: (url: URL) => Promise<string | undefined> = probeLegacy): Readiness {
  const url = deps.config.legacy.url;
  let legacy: { at: number; problem: Promise<string | undefined> } | undefined;
  let lastProblem: string | undefined;

  const checkLegacy = (): Promise<string | undefined> => {
    if (legacy && Date.now() - legacy.at < RECHECK_MS) return legacy.problem;
    const problem = probe(url).then((found) => {
      if (found && found !== lastProblem) deps.log.warn({ check: 'legacy', legacy: url.href }, `start-up check: legacy ${url.href} does not accept connections (${found}); requests served by legacy fail until it does`);
      if (!found && lastProblem) deps.log.info({ check: 'legacy', legacy: url.href }, `legacy ${url.href} accepts connections again`);
      lastProblem = found;
      return found;
    });
    legacy = { at: Date.now(), problem };
    return problem;
  };
  checkLegacy();

  return {
    async reasons() {
      const reasons: string[] = [];
      const unavailable = deps.flags.unavailable;
      if (unavailable) reasons.push(`flags: ${unavailable}; every group is served by legacy`);
      const refused = deps.flags.refusal();
      const applied = deps.flags.datafile();
      if (refused && applied) reasons.push(`flags: ${refused.message}; revision ${applied.revision} (applied ${applied.appliedAt.toISOString()}) keeps deciding`);
      reasons.push(...deps.flags.problems());
      const legacyProblem = await checkLegacy();
      if (legacyProblem) reasons.push(`legacy: ${url.href} does not accept connections (${legacyProblem})`);
      return reasons;
    },
  };
}
