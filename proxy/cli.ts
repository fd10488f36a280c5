import v8 from 'node:v8';
import { createRequire } from 'node:module';
import { readFile } from 'node:fs/promises';
import { Command, CommanderError } from 'commander';
import type { Config } from './config/config.js';
import { ConfigError } from './config/config.js';
import { DatafileError } from './decision/datafile/source.js';
import { DEFAULT_CONFIG, loadConfigFile } from './commands/config-file.js';
import { diff, type DiffIo } from './commands/diff.js';
import { flagsCheck } from './commands/flags-check.js';
import { flagsSet } from './commands/flags-set.js';
import { DEFAULT_LIMIT, recheck } from './commands/recheck.js';
import { DEFAULT_ADMIN, report, type ReviewIo } from './commands/report.js';
import { startProxy } from './server.js';

/**
 * `cutover`: the proxy's command line (`npx cutover`, package.json `bin`). Every problem the user
 * can fix is one line on stderr and exit code 2; `--help` on every command lists its options and
 * examples.
 */

const terminal: DiffIo = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  readFile: (file) => readFile(file, 'utf8'),
};

/** The review commands talk to a running proxy's admin port. */
const reviewTerminal: ReviewIo = {
  stdout: terminal.stdout,
  stderr: terminal.stderr,
  fetch: (url, init) => fetch(url, init),
  env: process.env,
  get stderrIsTTY() { return process.stderr.isTTY === true; },
};

/** A problem the user can fix, printed as one line, exit code 2. */
class UsageError extends Error {}

// By the package's own name, so that the sources and the build in dist/ find the same file.
const version = (createRequire(import.meta.url)('cutover/package.json') as { version: string }).version;

/** The configuration file when `--config` is not given: the environment's (an image's), else ./cutover.yaml. */
function defaultConfig(): string {
  return process.env.CUTOVER_CONFIG || DEFAULT_CONFIG;
}

function examples(...lines: string[]): string {
  return `\nExamples:\n${lines.map((line) => `  ${line}`).join('\n')}\n`;
}

/** Node's listen errors the user can fix, as one line naming the configuration key. */
function listenProblem(error: NodeJS.ErrnoException & { address?: string; port?: number }, config: Config, file: string): UsageError | undefined {
  const key = error.port === config.admin.port && error.address === config.admin.host ? 'admin' : 'traffic';
  const where = `${error.address ?? config[key].host}:${error.port ?? config[key].port}`;
  const fix = `set ${key}.host/${key}.port in ${file}`;
  if (error.code === 'EADDRINUSE') return new UsageError(`${where} (${key}) is already in use: stop what listens there, or ${fix}`);
  if (error.code === 'EACCES') return new UsageError(`${where} (${key}): permission denied (ports below 1024 need privileges); ${fix}`);
  if (error.code === 'EADDRNOTAVAIL') return new UsageError(`${where} (${key}): no such address on this machine; ${fix}`);
  return undefined;
}

/**
 * V8 reads its heap growth factor at every full collection, so setting it here, before the proxy
 * allocates much, holds from the first one on: a smaller heap at the cost of more collections
 * (docs/performance.md, "Memory at saturation").
 */
function holdHeapGrowth(percent: number): void {
  if (percent === 0) return;
  v8.setFlagsFromString(`--heap-growing-percent=${percent}`);
  console.error(`cutover: the heap grows at most ${percent} % past its live objects before a full collection (memory.heapGrowthPercent)`);
}

async function start(options: { config: string }): Promise<void> {
  const config = loadConfigFile(options.config);
  holdHeapGrowth(config.memory.heapGrowthPercent);
  let proxy;
  try {
    proxy = await startProxy(config);
  } catch (error) {
    throw listenProblem(error as NodeJS.ErrnoException, config, options.config) ?? error;
  }
  const stop = (signal: string) => {
    console.log(`cutover: ${signal}, finishing in-flight requests`);
    proxy.close().then(() => process.exit(0), (error: unknown) => {
      console.error(`cutover: shutdown failed: ${(error as Error).message}`);
      process.exit(1);
    });
  };
  // Before the line that says it serves: a supervisor may signal as soon as it reads it.
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  console.log(`cutover: traffic on ${proxy.trafficUrl}, admin on ${proxy.adminUrl}`);
  if (import.meta.url.endsWith('.ts')) console.error('cutover: running the TypeScript sources through tsx, whose loader holds about 40 MB more memory than the build (npm run build writes it to dist/)');
}

export function program(): Command {
  const cutover = new Command('cutover')
    .description('Strangler-fig migration proxy: routes each group of endpoints to the legacy system or the new Lambda APIs by Optimizely flag, mirrors requests to the other side and compares the answers.')
    .version(version, '-V, --version', 'print the version')
    .helpOption('-h, --help', 'show help for a command')
    .helpCommand('help [command]', 'show help for a command')
    .showSuggestionAfterError()
    .exitOverride()
    .addHelpText('after', examples(
      'cutover start --config demo/cutover.yaml    run the proxy',
      'cutover flags check --config cutover.yaml   check the datafile before publishing it',
      'cutover diff legacy.json new.json           compare two responses by hand',
      'cutover report --group catalog              is a group ready for its next stage?',
      'cutover recheck --group catalog             send its stored mismatches again',
      'cutover start --help                        the options of one command',
    ) + '\nDocumentation: README.md, docs/walkthrough.md, docs/configuration.md, docs/operations.md\n');

  cutover.command('start')
    .description('run the proxy (traffic and admin ports) from a configuration file; SIGTERM or Ctrl-C drains and stops it')
    .option('-c, --config <file>', 'the configuration, YAML or JSON (every key: docs/configuration.md); default: $CUTOVER_CONFIG, else cutover.yaml', defaultConfig())
    .addHelpText('after', examples(
      'cutover start --config demo/cutover.yaml',
      'CUTOVER_ADMIN_TOKEN=… cutover start -c /etc/cutover/cutover.yaml',
    ) + '\nExit code 2 with one line when the configuration is missing or invalid, or a port is taken.\n')
    .action(start);

  const flags = cutover.command('flags')
    .description('work with the Optimizely flags of the configured groups')
    .addHelpText('after', examples('cutover flags check --config demo/cutover.yaml'));
  flags.command('check')
    .description('check that the datafile has every configured flag, each able to express the four stages (legacy, shadow, live, complete)')
    .option('-c, --config <file>', 'the configuration naming the groups and their flags; default: $CUTOVER_CONFIG, else cutover.yaml', defaultConfig())
    .option('--datafile <file>', 'the datafile to check (default: flags.datafile of the configuration; needed with flags.sdkKey)')
    .option('--previous <file>', 'the datafile published now: also fail when a rule change would move callers of live or complete back (a rule shrunk, moved, removed or re-created)')
    .addHelpText('after', examples(
      'cutover flags check --config demo/cutover.yaml',
      'cutover flags check -c cutover.yaml --datafile exported-datafile.json',
      'cutover flags check -c cutover.yaml --datafile next.json --previous published.json',
    ) + '\nExit code 0 when sound, 1 with the problems (one a line), 2 on unusable input.\n')
    .action(async (options: { config: string; datafile?: string; previous?: string }) => {
      process.exitCode = await flagsCheck(options, terminal);
    });
  flags.command('set')
    .description('roll a group out in the local datafile: its flag gives <stage> to <share> of callers and the rest stay where they are (a growing share keeps every caller it had)')
    .argument('<group>', 'a configured group')
    .argument('<stage>', 'legacy, shadow, live or complete')
    .argument('[share]', 'the share of callers, such as 10%; default 100%')
    .option('-c, --config <file>', 'the configuration naming the group and its flag; default: $CUTOVER_CONFIG, else cutover.yaml', defaultConfig())
    .option('--datafile <file>', 'the datafile to change (default: flags.datafile of the configuration)')
    .addHelpText('after', examples(
      'cutover flags set catalog live 10% --config demo/cutover.yaml',
      'cutover flags set catalog live 50% --config demo/cutover.yaml',
      'cutover flags set catalog complete --config demo/cutover.yaml',
    ) + '\nExit code 0 when written, 1 when the result would not pass flags check (nothing written), 2 on unusable input.\n')
    .action(async (group: string, stage: string, share: string | undefined, options: { config: string; datafile?: string }) => {
      process.exitCode = await flagsSet(group, stage, share, options, terminal);
    });

  cutover.command('diff')
    .description('compare two observations ({"status", "headers", "body"}) as the proxy would, and print the differences as JSON')
    .argument('<legacy>', 'the legacy side\'s observation (JSON file)')
    .argument('<new>', 'the new side\'s observation (JSON file)')
    .option('--rules <file>', 'comparison rules (JSON; docs/architecture.md, "Comparison rules")')
    .option('--explain', 'also list what the rules hid, as "hidden": [{"path", "kind", "legacy", "new", "rule"}]')
    .addHelpText('after', examples(
      'cutover diff legacy.json new.json',
      'cutover diff --rules demo/rules/catalog.json legacy.json new.json',
      'cutover diff --explain --rules demo/rules/catalog.json legacy.json new.json',
    ) + '\nAn observation: {"status": 200, "headers": {"content-type": "application/json"}, "body": {"price": 12.5}}\n(headers and body optional).'
      + '\nNumbers are compared exactly; one that no double holds shows as {"$number": "12345678901234567890"}.'
      + '\nExit code 0 on match, 1 on mismatch, 2 on unusable input or a body past a limit (one line on stderr).\n')
    .action(async (legacy: string, newSide: string, options: { rules?: string; explain?: boolean }) => {
      process.exitCode = await diff({ rules: options.rules, legacy, newSide, explain: options.explain ?? false }, terminal);
    });

  const adminOption = `the proxy's admin port (default: $CUTOVER_ADMIN_URL, else ${DEFAULT_ADMIN})`;
  cutover.command('report')
    .description('print each group\'s evidence from a running proxy: stage mix, comparisons, match rate, latency, error rates, skipped shadows, and whether it is ready for its next stage')
    .option('--admin <url>', adminOption)
    .option('-g, --group <name>', 'one group only; the exit code then says whether it is ready')
    .option('--since <duration>', 'the window of evidence: 90m, 24h, 7d', '24h')
    .option('--json', 'print the review API\'s groups as JSON, for scripts')
    .addHelpText('after', examples(
      'cutover report',
      'cutover report --group catalog --since 7d',
      'cutover report --admin http://10.0.3.7:9901 --json | jq \'.groups[].readiness.verdict\'',
      'cutover report --group catalog && echo "catalog may move on"',
    ) + '\nExit code 0; with --group, 0 when that group is ready, 1 when it is not_ready or'
      + '\ninsufficient_data; 2 on usage problems (one line on stderr): an unknown group,'
      + '\nan admin port that cannot be reached.\n')
    .action(async (options: { admin?: string; group?: string; since: string; json?: boolean }) => {
      process.exitCode = await report(options, reviewTerminal);
    });

  cutover.command('recheck')
    .description('send a group\'s stored mismatches again to both sides (marked as shadows, through the admin port) and say which now match')
    .requiredOption('-g, --group <name>', 'the group whose mismatches to recheck')
    .option('--since <duration>', 'only mismatches stored within this window: 90m, 24h, 7d', '24h')
    .option('--limit <n>', 'at most this many, newest first', String(DEFAULT_LIMIT))
    .option('--admin <url>', adminOption)
    .option('--json', 'print each answer and the counts as JSON (the summary line goes to stderr)')
    .addHelpText('after', examples(
      'CUTOVER_ADMIN_TOKEN=… cutover recheck --group catalog',
      'CUTOVER_ADMIN_TOKEN=… cutover recheck -g catalog --since 2h --limit 200',
    ) + '\nNeeds CUTOVER_ADMIN_TOKEN, the proxy\'s admin token. A write is sent again only'
      + '\nin a group with shadow.writes: dry-run; otherwise it is skipped.'
      + '\nExit code 0 when every comparison rechecked now matches (at least one),'
      + '\n1 otherwise (still differing, skipped, or none stored), 2 on usage problems'
      + '\n(one line on stderr): no token, an unknown group, an admin port that cannot'
      + '\nbe reached.\n')
    .action(async (options: { admin?: string; group: string; since: string; limit: string; json?: boolean }) => {
      process.exitCode = await recheck(options, reviewTerminal);
    });

  oneLineErrors(cutover);
  return cutover;
}

/** Commander's own errors (unknown option, missing argument…) as one line, naming the command's help. */
function oneLineErrors(command: Command, name = command.name()): void {
  command.configureOutput({ outputError: (text, write) => write(`cutover: ${text.replace(/^error: /, '').trim()} (see ${name} --help)\n`) });
  for (const sub of command.commands) oneLineErrors(sub, `${name} ${sub.name()}`);
}

/** Runs the command line; resolves with nothing, the exit code is set or the process exits. */
export async function main(argv: string[]): Promise<void> {
  try {
    await program().parseAsync(argv, { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help and --version exit 0; help shown because a command was missing, and every usage error, exit 2.
      process.exit(error.exitCode === 0 ? 0 : 2);
    }
    const expected = error instanceof ConfigError || error instanceof DatafileError || error instanceof UsageError;
    console.error(`cutover: ${expected ? (error as Error).message : (error as Error).stack}`);
    process.exit(expected ? 2 : 1);
  }
}

await main(process.argv.slice(2));
