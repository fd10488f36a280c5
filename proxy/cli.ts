#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from './config.js';
import { DatafileError } from './flag-source.js';
import { startProxy } from './server.js';

const USAGE = `usage: cutover start [--config FILE]

  start   run the proxy (traffic and admin ports) from a configuration file (default ./cutover.yaml)`;

/** A problem the user can fix, printed as one line. */
class UsageError extends Error {}

async function start(args: string[]): Promise<void> {
  const { values } = parseArgs({ args, options: { config: { type: 'string', short: 'c', default: 'cutover.yaml' } }, strict: true });
  const config = loadConfig(values.config);
  const proxy = await startProxy(config);
  console.log(`cutover: traffic on ${proxy.trafficUrl}, admin on ${proxy.adminUrl}`);
  const stop = (signal: string) => {
    console.log(`cutover: ${signal}, finishing in-flight requests`);
    proxy.close().then(() => process.exit(0), (error: unknown) => {
      console.error(`cutover: shutdown failed: ${(error as Error).message}`);
      process.exit(1);
    });
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'start':
      return start(rest);
    case undefined:
    case '--help':
    case '-h':
      console.log(USAGE);
      return;
    default:
      throw new UsageError(`unknown command "${command}"\n${USAGE}`);
  }
}

main(process.argv.slice(2)).catch((error: unknown) => {
  const expected = error instanceof ConfigError || error instanceof DatafileError || error instanceof UsageError || (error as { code?: string }).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION';
  console.error(`cutover: ${expected ? (error as Error).message : (error as Error).stack}`);
  process.exit(expected ? 2 : 1);
});
