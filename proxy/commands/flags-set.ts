import { readFile, rename, writeFile } from 'node:fs/promises';
import { ConfigError } from '../config/config.js';
import { checkDatafile, type Datafile } from '../decision/datafile/check.js';
import { RolloutError, withStageShare } from '../decision/flag-rollout.js';
import { splitText } from '../decision/flag-split.js';
import { isStage } from '../decision/stage.js';
import type { CommandIo } from './flags-check.js';
import { loadConfigFile } from './config-file.js';

/** `live`, `10%`, `12.5 %` or `100`: a share of callers in percent. */
function parseShare(text: string | undefined): number {
  if (text === undefined) return 100;
  const match = /^\s*(\d+(?:\.\d+)?)\s*%?\s*$/.exec(text);
  if (!match) throw new RolloutError(`the share must be a percentage such as 10%: ${text}`);
  return Number(match[1]);
}

/**
 * `cutover flags set <group> <stage> [share]`: writes the local datafile (flags.datafile) so that
 * the group's flag gives `stage` to that share of callers and the rest stay where they are; the
 * proxy watching the file applies it within a second. Exit 0 when written, 1 when the result would
 * not pass `flags check` (nothing written), 2 on unusable input.
 */
export async function flagsSet(group: string, stage: string, share: string | undefined, values: { config: string; datafile?: string | undefined }, io: CommandIo): Promise<number> {
  const fail = (message: string, code = 2) => {
    io.stderr(`cutover flags set: ${message}\n`);
    return code;
  };
  let file: string;
  let flag: string;
  let groups: ReadonlyArray<{ name: string; flag: string }>;
  try {
    const config = loadConfigFile(values.config);
    groups = config.groups;
    const found = groups.find((candidate) => candidate.name === group);
    if (!found) throw new ConfigError(`no group "${group}" in ${values.config} (groups: ${groups.map((candidate) => candidate.name).join(', ')})`);
    flag = found.flag;
    const source = config.flags.source;
    if (values.datafile) file = values.datafile;
    else if (source.kind === 'file') file = source.path;
    else throw new ConfigError('the configuration polls Optimizely (flags.sdkKey): change the rule in Optimizely, or name a local datafile with --datafile FILE');
  } catch (error) {
    return fail((error as Error).message);
  }
  if (!isStage(stage)) return fail(`"${stage}" is not a stage (legacy, shadow, live, complete)`);
  let datafile: Datafile;
  try {
    datafile = JSON.parse(await readFile(file, 'utf8')) as Datafile;
  } catch (error) {
    return fail(`${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  let rollout;
  try {
    rollout = withStageShare(datafile, flag, stage, parseShare(share));
  } catch (error) {
    if (error instanceof RolloutError) return fail(error.message);
    throw error;
  }
  const problems = checkDatafile(rollout.datafile, groups);
  if (problems.length > 0) return fail(`nothing written, the result would not pass flags check: ${problems.join('; ')}`, 1);
  // Written beside it and renamed over it: the proxy watching the file never reads half of one.
  const written = `${file}.${process.pid}.tmp`;
  await writeFile(written, `${JSON.stringify(rollout.datafile, null, 2)}\n`);
  await rename(written, file);
  const split = splitText(rollout.split);
  const back = rollout.movedBack > 0 ? `; ${rollout.movedBack} % of callers move from the new side back toward legacy` : '';
  io.stdout(`cutover flags set: group ${group}: ${split} (rule "${rollout.rule}" of flag "${flag}", revision ${(rollout.datafile as { revision?: string }).revision}) in ${file}${back}\n`);
  return 0;
}
