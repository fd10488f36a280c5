import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { availableParallelism } from 'node:os';
import type { Duplex } from 'node:stream';
import type { EventDispatcher } from '@optimizely/optimizely-sdk';
import { createAdminApp } from './admin.js';
import { LambdaBackend } from './backends/lambda.js';
import { LegacyBackend } from './backends/legacy.js';
import type { Config } from './config.js';
import { Flags } from './flags.js';
import { Metrics } from './metrics.js';
import { RouteTable } from './route.js';
import { ComparePool } from './compare-pool.js';
import { Comparator } from './comparator.js';
import { Mirror } from './shadow.js';
import { ShadowPool } from './shadow-pool.js';
import { problemDocument } from './problem.js';
import { createTrafficHandler, UNMATCHED } from './traffic.js';

/** Above a load balancer's 60 s idle timeout, so that the balancer, not the proxy, closes idle connections. */
const KEEP_ALIVE_TIMEOUT_MS = 65_000;

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

async function shutdown(server: http.Server, deadlineMs: number): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  // A keep-alive connection turns idle when its last response is done: close it then, not at the deadline.
  const sweep = setInterval(() => server.closeIdleConnections(), 25);
  server.closeIdleConnections();
  const deadline = setTimeout(() => server.closeAllConnections(), deadlineMs);
  await closed;
  clearInterval(sweep);
  clearTimeout(deadline);
}

/** Starts the traffic and admin servers for a parsed configuration. */
export interface ProxyOptions {
  readonly log?: (line: string) => void;
  /** Where A/B event batches go instead of Optimizely (tests capture them here). */
  readonly eventDispatcher?: EventDispatcher;
  /** Sampling's source of chance (shadow share, calibration); tests make it predictable. */
  readonly random?: () => number;
}

export async function startProxy(config: Config, options: ProxyOptions = {}): Promise<RunningProxy> {
  const log = options.log ?? ((line: string) => console.error(line));
  const flags = await Flags.open(config.flags, config.groups, { log, ...(options.eventDispatcher ? { dispatcher: options.eventDispatcher } : {}) });
  const metrics = new Metrics();
  const legacy = new LegacyBackend(config.legacy.url, KEEP_ALIVE_TIMEOUT_MS);
  const lambda = new LambdaBackend(config.lambda, config.groups);
  const routes = new RouteTable(config.groups.flatMap((group) => group.routes));

  const pool = new ShadowPool(config.mirror.maxInFlight, (inFlight) => metrics.shadowInFlight.set(inFlight), log);
  const workers = new ComparePool(Math.max(1, availableParallelism() - 1));
  const comparator = new Comparator(config.groups, metrics, workers);
  const mirror = new Mirror(config, legacy, lambda, pool, comparator, metrics);
  const handler = createTrafficHandler({ config, routes, flags, legacy, lambda, mirror, pool, metrics, log, ...(options.random ? { random: options.random } : {}) });
  const traffic = http.createServer(handler);
  // Tunnels and protocol upgrades are not proxied: say so instead of dropping the connection.
  const refuseTunnel = (_req: http.IncomingMessage, socket: Duplex) => {
    metrics.requests.inc({ group: UNMATCHED, route: UNMATCHED, stage: 'legacy', served_by: 'legacy', status_class: '4xx' });
    const body = problemDocument(400, 'bad_request_target', 'CONNECT and protocol upgrades are not proxied.');
    socket.end(`HTTP/1.1 400 Bad Request\r\ncontent-type: application/vnd.api+json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
  };
  traffic.on('connect', refuseTunnel);
  traffic.on('upgrade', refuseTunnel);
  traffic.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
  traffic.headersTimeout = KEEP_ALIVE_TIMEOUT_MS + 1_000;
  const admin = http.createServer(createAdminApp({ config, flags, metrics, circuits: handler.circuits, comparator, log }));

  try {
    const trafficUrl = await listen(traffic, config.traffic.host, config.traffic.port);
    const adminUrl = await listen(admin, config.admin.host, config.admin.port);
    return {
      trafficUrl, adminUrl,
      async close(deadlineMs = 10_000) {
        await shutdown(traffic, deadlineMs);
        // Shadows already under way finish (each has its own timeout), so no started comparison is lost.
        await pool.drained();
        await workers.close();
        await shutdown(admin, 1_000);
        legacy.close();
        lambda.close();
        await flags.close();
      },
    };
  } catch (error) {
    traffic.close();
    admin.close();
    legacy.close();
    lambda.close();
    await flags.close();
    throw error;
  }
}
