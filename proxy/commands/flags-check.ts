import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { ConfigError } from '../config/config.js';
import { DEFAULT_CONFIG, loadConfigFile } from './config-file.js';
import { checkChange, checkDatafile, type Datafile } from '../decision/datafile/check.js';

export interface CommandIo {
  stdout(text: string): void;
  stderr(text: string): void;
}

/** `cutover flags check [--config FILE] [--datafile FILE]`: exit 0 when sound, 1 with problems, 2 on unusable input. */
export async function flagsCheckCommand(args: string[], io: CommandIo): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({ args, options: { config: { type: 'string', short: 'c', default: DEFAULT_CONFIG }, datafile: { type: 'string' }, previous: { type: 'string' } }, strict: true }));
  } catch (error) {
    io.stderr(`cutover flags check: ${(error as Error).message.split(/\.\s|\n/)[0]}\n`);
    return 2;
  }
  return flagsCheck(values, io);
}

/** The check itself, for options already parsed (the CLI parses them with commander). */
export async function flagsCheck(values: { config: string; datafile?: string | undefined; previous?: string | undefined }, io: CommandIo): Promise<number> {
  let file: string;
  let groups: ReadonlyArray<{ name: string; flag: string }>;
  try {
    const config = loadConfigFile(values.config);
    groups = config.groups;
    const source = config.flags.source;
    if (values.datafile) file = values.datafile;
    else if (source.kind === 'file') file = source.path;
    else throw new ConfigError('the configuration polls Optimizely (flags.sdkKey): pass the datafile to check with --datafile FILE');
  } catch (error) {
    io.stderr(`cutover flags check: ${(error as Error).message}\n`);
    return 2;
  }
  const read = async (name: string): Promise<Datafile | undefined> => {
    try {
      return JSON.parse(await readFile(name, 'utf8')) as Datafile;
    } catch (error) {
      io.stderr(`cutover flags check: ${name}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}\n`);
      return undefined;
    }
  };
  const datafile = await read(file);
  const previous = values.previous === undefined ? undefined : await read(values.previous);
  if (!datafile || (values.previous !== undefined && !previous)) return 2;
  const problems = [...checkDatafile(datafile, groups), ...(previous ? checkChange(previous, datafile, groups) : [])];
  if (problems.length > 0) {
    io.stderr(problems.map((problem) => `cutover flags check: ${problem}\n`).join(''));
    return 1;
  }
  io.stdout(`cutover flags check: ${groups.length} group(s) sound in ${file}${previous ? `, and no caller moves back from ${values.previous}` : ''}\n`);
  return 0;
}
