#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from './config.js';
import { DatafileError } from './flag-source.js';
import { readFile } from 'node:fs/promises';
import { diffCommand, type DiffIo } from './commands/diff.js';
import { flagsCheckCommand } from './commands/flags-check.js';
import { startProxy } from './server.js';

const terminal: DiffIo = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  readFile: (file) => readFile(file, 'utf8'),
};

const USAGE = `usage: cutover <command>

  start [--config FILE]                      run the proxy from a configuration file (default ./cutover.yaml)
  flags check [--config FILE] [--datafile F]  check that every group's flag has the variations its stages need
  diff [--rules FILE] LEGACY.json NEW.json    compare two observations; exit 0 match, 1 mismatch, 2 unusable input`;

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
    case 'diff':
      process.exitCode = await diffCommand(rest, terminal);
      return;
    case 'flags':
      if (rest[0] !== 'check') throw new UsageError(`unknown command "flags ${rest[0] ?? ''}"\n${USAGE}`);
      process.exitCode = await flagsCheckCommand(rest.slice(1), terminal);
      return;
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
