import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { EventDispatcher } from '@optimizely/optimizely-sdk';
import { type HostedFunction, type LambdaHost, startLambdaHost } from '../../new-services/lambda-host/server.js';
import { parseConfig } from '../../proxy/config/config.js';
import { type RunningProxy, startProxy } from '../../proxy/server.js';
import { type FlagSpec, writeDatafile } from './datafile.js';
import { capturedLogger } from './logs.js';
import { until } from './until.js';

export const ADMIN_TOKEN = 'test-admin-token-0123456789';

export interface TestProxy {
  readonly proxy: RunningProxy;
  readonly lambda: LambdaHost;
  readonly datafile: string;
  readonly logs: string[];
  metrics(): Promise<string>;
  close(): Promise<void>;
}

export interface TestProxyOptions {
  legacyUrl: string;
  functions: Record<string, HostedFunction>;
  /** Groups as in the configuration file; each flag gets a rollout from `flags`. */
  groups: Record<string, unknown>;
  flags: FlagSpec[];
  /** Optimizely event keys the datafile defines, for conversions. */
  events?: string[];
  extra?: Record<string, unknown>;
  flagsConfig?: Record<string, unknown>;
  eventDispatcher?: EventDispatcher;
  /** The environment the configuration is read with (a secret a key names); empty by default. */
  env?: NodeJS.ProcessEnv;
}

/** The proxy in front of a given legacy server and a local Lambda host with the given functions. */
export async function startTestProxy(options: TestProxyOptions): Promise<TestProxy> {
  const dir = mkdtempSync(path.join(tmpdir(), 'cutover-proxy-'));
  const datafile = writeDatafile(path.join(dir, 'datafile.json'), options.flags, 1, options.events);
  const { logger, lines: logs } = capturedLogger();
  const lambda = await startLambdaHost({ functions: options.functions, log: (line) => logger.info(line) });
  try {
    const config = parseConfig({
      // No grace for idle connections at close: a test's clients are done by then.
      traffic: { host: '127.0.0.1', port: 0, drainMs: 0 },
      admin: { host: '127.0.0.1', port: 0, token: ADMIN_TOKEN },
      legacy: { url: options.legacyUrl, timeoutMs: 1_000 },
      lambda: { endpoint: lambda.url },
      flags: { datafile, watchIntervalMs: 50, ...options.flagsConfig },
      caller: { header: 'x-customer-id' },
      groups: options.groups,
      // A suite that reviews evidence gives a store (extra.store); the others spare its start-up.
      store: { enabled: false },
      ...options.extra,
    }, dir, options.env ?? {});
    const proxy = await startProxy(config, { logger, ...(options.eventDispatcher ? { eventDispatcher: options.eventDispatcher } : {}) });
    return {
      proxy, lambda, datafile, logs,
      metrics: async () => (await fetch(`${proxy.adminUrl}/metrics`)).text(),
      async close() {
        await proxy.close(1_000);
        await lambda.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await lambda.close();
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}

/** Waits until a proxy's /readyz says ready: its store open and its overrides read. */
export async function untilReady(adminUrl: string, what = 'the store open', timeoutMs = 15_000): Promise<void> {
  await until(async () => ((await (await fetch(`${adminUrl}/readyz`)).json()) as { status: string }).status === 'ready', what, timeoutMs);
}
