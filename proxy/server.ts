import { once } from 'node:events';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { availableParallelism } from 'node:os';
import type { EventDispatcher } from '@optimizely/optimizely-sdk';
import { createAdminApp } from './admin/admin.js';
import { LambdaBackend } from './backends/lambda.js';
import { LegacyBackend } from './backends/legacy.js';
import type { Config } from './config/config.js';
import { Flags } from './decision/flags.js';
import { Metrics } from './telemetry/metrics.js';
import { RouteTable } from './config/route.js';
import { ComparePool } from './shadow/compare-pool.js';
import { Comparator } from './shadow/comparator.js';
import { createLogger, type Logger } from './telemetry/log.js';
import { ComparisonLog, ComparisonMetrics, publisher } from './evidence/publish.js';
import { Overrides } from './decision/overrides.js';
import { Shadows } from './shadow/shadow.js';
import { ShadowPool } from './shadow/pool.js';
import { NO_TALLY } from './evidence/tally.js';
import { Store } from './store/store.js';
import { createTrafficHandler, type TrafficHandler } from './traffic/handler.js';
import { KEEP_ALIVE_TIMEOUT_MS } from './http/respond.js';
import { Primary } from './traffic/serve.js';
import { Guard } from './guard/guard.js';
import { DatafileFanout } from './decision/datafile/fanout.js';
import { publishStageShares } from './decision/current-stage.js';
import { StageRecorder } from './decision/stage-history.js';

export interface RunningProxy {
  readonly trafficUrl: string;
  readonly adminUrl: string;
  /** Stops accepting, lets in-flight requests finish within the deadline, then cuts the rest. */
  close(deadlineMs?: number): Promise<void>;
}

async function listen(server: http.Server, host: string, port: number): Promise<string> {
  server.listen(port, host);
  await Promise.race([once(server, 'listening'), once(server, 'error').then(([error]) => { throw error; })]);
  const address = server.address() as AddressInfo;
  const shown = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return `http://${shown}:${address.port}`;
}

/**
 * Stops accepting new connections and tells every client, on each response from now on, that its
 * connection closes (see `drain`). Connections idle at that moment are left open for `graceMs`:
 * a client may be writing its next request on one right now, and closing it would reset that
 * request (http.Server#close closes idle connections at once, so the listener is closed as a
 * net.Server). After the grace, connections are closed as soon as they are idle; whatever is left
 * at the deadline is cut.
 */
async function shutdown(server: http.Server, deadlineMs: number, graceMs: number, traffic?: TrafficHandler): Promise<void> {
  traffic?.drain();
  const closed = new Promise<void>((resolve) => net.Server.prototype.close.call(server, () => resolve()));
  let sweep: NodeJS.Timeout | undefined;
  const grace = setTimeout(() => {
    server.closeIdleConnections();
    sweep = setInterval(() => server.closeIdleConnections(), 25);
  }, Math.min(graceMs, deadlineMs));
  const deadline = setTimeout(() => server.closeAllConnections(), deadlineMs);
  await closed;
  clearTimeout(grace);
  clearInterval(sweep);
  clearTimeout(deadline);
}

/** Starts the traffic and admin servers for a parsed configuration. */
export interface ProxyOptions {
  /** Where the proxy's JSON log goes; standard output at the configured level otherwise. */
  readonly logger?: Logger;
  /** Where A/B event batches go instead of Optimizely (tests capture them here). */
  readonly eventDispatcher?: EventDispatcher;
  /** Sampling's source of chance (shadow share, calibration); tests make it predictable. */
  readonly random?: () => number;
}

export async function startProxy(config: Config, options: ProxyOptions = {}): Promise<RunningProxy> {
  const log = options.logger ?? createLogger(config.log.level);
  for (const deprecation of config.deprecations) log.warn(`configuration: ${deprecation}`);
  const metrics = new Metrics();
  const overrides = new Overrides(new Set(config.groups.map((group) => group.name)), () => store?.database, config.store.location.kind !== 'off', log,
    config.store.overrides, (stale) => metrics.overridesStale.set(stale ? 1 : 0), () => store?.opening ?? false,
    config.store.location.kind === 'embedded' && config.store.location.dataDir === undefined);
  const flags = await Flags.open(config.flags, config.groups, { log, overrides, metrics, ...(options.eventDispatcher ? { dispatcher: options.eventDispatcher } : {}) });
  const legacy = new LegacyBackend(config.legacy);
  const lambda = new LambdaBackend(config.lambda, config.groups);
  const routes = new RouteTable(config.groups.flatMap((group) => group.routes), config.routing);
  const random = options.random ?? Math.random;

  const pool = new ShadowPool(config.shadow.maxInFlight, (inFlight) => metrics.shadowInFlight.set(inFlight), log);
  const workers = new ComparePool(Math.max(1, availableParallelism() - 1));
  const comparator = new Comparator(config.groups, workers);
  const store = config.store.location.kind === 'off' ? undefined : new Store(config.store, config.caller, comparator, workers, metrics, log, random);
  const tally = store ?? NO_TALLY;
  publishStageShares(metrics, config.groups.map((group) => group.name), flags, overrides);
  const stageHistory = store ? new StageRecorder(flags, () => store.database, log) : undefined;
  const guard = new Guard(config.groups, overrides, metrics, log);
  const fanout = new DatafileFanout(flags, () => store?.database, log);
  const publish = publisher([new ComparisonMetrics(metrics), ...(store ? [store] : []), guard, new ComparisonLog(log)], log);
  const shadows = new Shadows({ config, legacy, lambda, pool, comparator, publish, metrics, tally, log });
  const primary = new Primary({
    config, legacy, lambda, shadows, metrics, tally, random,
    onCircuit: (group, state) => log.warn({ group, circuit: state }, `circuit: the new side of group ${group} is ${state.replace('_', '-')}`),
  });
  const handler = createTrafficHandler({
    config, routes, flags, metrics, tally, log, primary, random, overrides, guard,
    poolFull: () => pool.full,
  });
  const traffic = http.createServer(handler);
  traffic.on('connect', handler.refuseTunnel);
  traffic.on('upgrade', handler.refuseTunnel);
  traffic.on('clientError', handler.clientError);
  traffic.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
  traffic.headersTimeout = KEEP_ALIVE_TIMEOUT_MS + 1_000;
  const admin = http.createServer(createAdminApp({ config, flags, overrides, guard, metrics, circuits: handler.circuits, comparator, store, routes, recheck: (group, request) => shadows.recheck(group, request), log,
    datafilePublished: () => fanout.published() }));

  store?.start();
  overrides.start();
  guard.start();
  fanout.start();
  try {
    const trafficUrl = await listen(traffic, config.traffic.host, config.traffic.port);
    const adminUrl = await listen(admin, config.admin.host, config.admin.port);
    return {
      trafficUrl, adminUrl,
      async close(deadlineMs = 10_000) {
        await shutdown(traffic, deadlineMs, config.traffic.drainMs, handler);
        // Shadows already under way finish (each has its own timeout), so no started comparison is lost.
        await pool.drained();
        guard.close();
        await overrides.close();
        await fanout.close();
        await stageHistory?.close();
        // Before the workers stop: records still being prepared in them are written.
        await store?.close();
        await workers.close();
        await shutdown(admin, 1_000, 0);
        legacy.close();
        lambda.close();
        await flags.close();
      },
    };
  } catch (error) {
    traffic.close();
    admin.close();
    guard.close();
    await overrides.close();
    await fanout.close();
    await stageHistory?.close();
    await store?.close();
    legacy.close();
    lambda.close();
    await flags.close();
    throw error;
  }
}
