import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { startLegacy } from '../legacy/server.js';
import { migrate } from '../new-services/data/migrate.js';
import { invokeQueue } from '../new-services/fulfillment/invoke-queue.js';
import { petStoreFunctions } from '../new-services/functions.js';
import { startLambdaHost } from '../new-services/lambda-host/server.js';
import { type Config, loadConfig } from '../proxy/config/config.js';
import { createLogger, type Logger } from '../proxy/telemetry/log.js';
import { startProxy } from '../proxy/server.js';
import pretty from 'pino-pretty';
import { startEmbeddedPostgres } from '../proxy/store/embedded-postgres.js';

export interface StackOptions {
  /** Where embedded Postgres keeps its files; in memory when absent. */
  dataDir?: string;
  /** A PostgreSQL server to use instead of embedded Postgres. */
  databaseUrl?: string;
  ports?: { postgres?: number; legacy?: number; lambda?: number };
  /** The proxy's log; the services' lines go to it too. JSON on standard output by default. */
  logger?: Logger;
}

export interface Stack {
  readonly databaseUrl: string;
  readonly legacyUrl: string;
  readonly lambdaUrl: string;
  readonly trafficUrl: string;
  readonly adminUrl: string;
  close(): Promise<void>;
}

/**
 * The whole migration on one machine: Postgres, the legacy monolith, the local Lambda host with
 * the new services, and the proxy in front. The proxy configuration names the upstreams; this
 * points them at the components it just started, so ephemeral ports work too.
 */
export async function startStack(config: Config, options: StackOptions = {}): Promise<Stack> {
  const logger = options.logger ?? createLogger(config.log.level);
  const log = (line: string) => logger.info(line);
  const closers: Array<() => Promise<void>> = [];
  const close = async () => {
    for (const closer of closers.reverse()) await closer();
  };
  try {
    const embedded = options.databaseUrl ? undefined : await startEmbeddedPostgres({ dataDir: options.dataDir, port: options.ports?.postgres });
    if (embedded) closers.push(() => embedded.close());
    const databaseUrl = options.databaseUrl ?? embedded?.url ?? '';

    const pool = new pg.Pool({ connectionString: databaseUrl, max: 8 });
    closers.push(() => pool.end());
    // The new services own the shared schema's migrations; the monolith starts on a migrated database.
    await migrate(pool);

    const legacy = await startLegacy({ databaseUrl, port: options.ports?.legacy });
    closers.push(() => legacy.close());

    // New orders reach the fulfillment function as SQS-shaped events, invoked asynchronously through the host.
    const lambda = await startLambdaHost({
      functions: (hostUrl) => petStoreFunctions(pool, { fulfillmentQueue: invokeQueue(hostUrl), log }),
      port: options.ports?.lambda,
      log,
    });
    closers.push(() => lambda.close());

    // The demo keeps its diff store beside the pet store's tables, in the one Postgres a reviewer's Grafana would read.
    const store = config.store.location.kind === 'embedded' ? { ...config.store, location: { kind: 'server' as const, url: databaseUrl } } : config.store;
    const proxy = await startProxy({
      ...config,
      store,
      legacy: { ...config.legacy, url: new URL(legacy.url) },
      lambda: { ...config.lambda, endpoint: new URL(lambda.url) },
    }, { logger });
    closers.push(() => proxy.close(2_000));

    return { databaseUrl, legacyUrl: legacy.url, lambdaUrl: lambda.url, trafficUrl: proxy.trafficUrl, adminUrl: proxy.adminUrl, close };
  } catch (error) {
    await close();
    throw error;
  }
}

async function main(): Promise<void> {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const config = loadConfig(process.env.CUTOVER_CONFIG ?? path.join(here, 'cutover.yaml'));
  const port = (url: URL | undefined) => (url ? Number(url.port) : undefined);
  const stack = await startStack(config, {
    dataDir: path.join(here, '..', '.data', 'postgres'),
    databaseUrl: process.env.DATABASE_URL,
    ports: { postgres: 55432, legacy: port(config.legacy.url), lambda: port(config.lambda.endpoint) },
    // The demo is read by a person: the same log lines, made readable.
    logger: createLogger(config.log.level, pretty({ colorize: process.stdout.isTTY, ignore: 'pid,hostname,service' })),
  });
  console.log(`Cutover demo stack is up:
  proxy (traffic)   ${stack.trafficUrl}      try: curl ${stack.trafficUrl}/products
  report page       ${stack.adminUrl}/      the evidence: groups, fields, samples
  admin / metrics   ${stack.adminUrl}      ${stack.adminUrl}/metrics
  legacy stand-in   ${stack.legacyUrl}
  local Lambda host ${stack.lambdaUrl}
  Postgres          ${stack.databaseUrl}
Ctrl-C stops everything.`);
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`\n${signal}: stopping the demo stack`);
    stack.close().then(() => process.exit(0), (error: unknown) => {
      console.error(`demo: shutdown failed: ${(error as Error).message}`);
      process.exit(1);
    });
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((error: unknown) => {
    console.error(`demo: ${(error as Error).message}`);
    process.exit(1);
  });
}
