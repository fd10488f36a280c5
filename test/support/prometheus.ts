import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { accessSync, constants, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * A real Prometheus (Debian's `prometheus` package, which `npm test`'s pretest installs when it is missing)
 * and its `promtool`, for the tests of dashboards/. A test that needs them and cannot find them
 * fails, saying how to install them: it is never skipped.
 */

const INSTALL = 'install it with: apt-get install prometheus (Debian\'s package; npm test\'s pretest, scripts/test-setup.js, installs it as root)';

/** The path of a Prometheus binary on PATH; throws, saying how to install it, when there is none. */
export function prometheusBinary(name: 'prometheus' | 'promtool'): string {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    const candidate = path.join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not in this folder
    }
  }
  throw new Error(`${name} is not installed (not on PATH): ${INSTALL}`);
}

export interface ToolRun { code: number; output: string }

/** Runs promtool with these arguments in `cwd`; never throws for a non-zero exit: the test reads `code`. */
export function promtool(args: string[], cwd: string): Promise<ToolRun> {
  const binary = prometheusBinary('promtool');
  return new Promise((resolve) => {
    execFile(binary, args, { cwd, timeout: 30_000 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      resolve({ code, output: `${stdout}${stderr}` });
    });
  });
}

export interface Sample { metric: Record<string, string>; value?: [number, string]; values?: Array<[number, string]> }
export interface QueryResult { resultType: string; result: Sample[] }

export interface RuleState {
  name: string;
  type: 'recording' | 'alerting';
  query: string;
  health: string;
  lastError?: string;
  lastEvaluation: string;
  state?: string;
}

export interface RunningPrometheus {
  readonly url: string;
  /** What Prometheus wrote to its standard error, for a failing test to show. */
  readonly log: string[];
  /** An instant query at `time` (seconds); rejects with Prometheus's error for a query it refuses. */
  query(expr: string, time?: number): Promise<QueryResult>;
  /** A range query, as a Grafana time series panel makes one. */
  queryRange(expr: string, start: number, end: number, stepSeconds: number): Promise<QueryResult>;
  /** The values of a label, as Grafana's label_values(metric{…}, label) asks for them. */
  labelValues(label: string, match: string, start: number, end: number): Promise<string[]>;
  rules(): Promise<RuleState[]>;
  alerts(): Promise<Array<{ labels: Record<string, string>; state: string }>>;
  get<T>(pathAndQuery: string): Promise<T>;
  close(): Promise<void>;
}

interface ApiAnswer<T> { status: 'success' | 'error'; data: T; errorType?: string; error?: string }

/**
 * Starts Prometheus with this configuration (YAML text) on an ephemeral loopback port, with its
 * data in a temporary folder, and waits until it is ready.
 *
 * The port: `--web.listen-address=127.0.0.1:0` lets the kernel choose a free port at bind time
 * (Prometheus 2.42 accepts it) and Prometheus logs the address it got
 * (`msg="Listening on" address=127.0.0.1:PORT`), which is read from its standard error. Nothing
 * else can take the port between choosing and binding, as it could if the test picked a port
 * by binding and closing a socket of its own first.
 */
export async function startPrometheus(config: string): Promise<RunningPrometheus> {
  const binary = prometheusBinary('prometheus');
  const dir = mkdtempSync(path.join(tmpdir(), 'cutover-prometheus-'));
  const configFile = path.join(dir, 'prometheus.yml');
  writeFileSync(configFile, config);
  const child: ChildProcess = spawn(binary, [
    `--config.file=${configFile}`,
    `--storage.tsdb.path=${path.join(dir, 'data')}`,
    '--web.listen-address=127.0.0.1:0',
    '--log.level=info',
  ], { stdio: ['ignore', 'ignore', 'pipe'] });
  const log: string[] = [];
  let exited: string | undefined;
  child.on('exit', (code, signal) => { exited = `exited with ${code ?? signal}`; });
  let address: string | undefined;
  let buffered = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => {
    buffered += chunk;
    const lines = buffered.split('\n');
    buffered = lines.pop() ?? '';
    for (const line of lines) {
      log.push(line);
      address ??= /msg="Listening on" address=(127\.0\.0\.1:\d+)/.exec(line)?.[1];
    }
  });

  const stop = async () => {
    if (exited === undefined && child.exitCode === null) {
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await once(child, 'exit').catch(() => undefined);
      clearTimeout(killer);
    }
    rmSync(dir, { recursive: true, force: true });
  };

  try {
    const deadline = performance.now() + 20_000;
    let ready = false;
    while (!ready) {
      if (exited) throw new Error(`prometheus ${exited} before it was ready:\n${log.slice(-20).join('\n')}`);
      if (performance.now() > deadline) throw new Error(`prometheus was not ready within 20 s:\n${log.slice(-20).join('\n')}`);
      if (address) ready = await fetch(`http://${address}/-/ready`).then((response) => response.ok, () => false);
      if (!ready) await sleep(50);
    }
  } catch (error) {
    await stop();
    throw error;
  }

  const url = `http://${address}`;
  const api = async <T>(pathname: string, form?: Record<string, string>): Promise<T> => {
    const response = await fetch(`${url}${pathname}`, form
      ? { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(form).toString() }
      : {});
    const answer = await response.json() as ApiAnswer<T>;
    if (answer.status !== 'success') throw new Error(`prometheus ${pathname}: ${answer.errorType ?? ''}: ${answer.error ?? response.status}${form?.query ? `\nquery: ${form.query}` : ''}`);
    return answer.data;
  };
  return {
    url,
    log,
    query: (expr, time) => api<QueryResult>('/api/v1/query', { query: expr, ...(time === undefined ? {} : { time: String(time) }) }),
    queryRange: (expr, start, end, step) => api<QueryResult>('/api/v1/query_range', { query: expr, start: String(start), end: String(end), step: String(step) }),
    labelValues: (label, match, start, end) => api<string[]>(`/api/v1/label/${encodeURIComponent(label)}/values?${new URLSearchParams({ 'match[]': match, start: String(start), end: String(end) }).toString()}`),
    rules: async () => (await api<{ groups: Array<{ rules: RuleState[] }> }>('/api/v1/rules')).groups.flatMap((group) => group.rules),
    alerts: async () => (await api<{ alerts: Array<{ labels: Record<string, string>; state: string }> }>('/api/v1/alerts')).alerts,
    get: <T>(pathAndQuery: string) => api<T>(pathAndQuery),
    close: stop,
  };
}
