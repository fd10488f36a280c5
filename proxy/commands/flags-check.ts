import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from '../config.js';
import { STAGES } from '../stage.js';

export interface CommandIo {
  stdout(text: string): void;
  stderr(text: string): void;
}

interface Variation { key: string; featureEnabled?: boolean }
interface Rule { id: string; variations?: Variation[] }
interface Datafile {
  featureFlags?: Array<{ key: string; rolloutId?: string; experimentIds?: string[] }>;
  rollouts?: Array<{ id: string; experiments?: Rule[] }>;
  experiments?: Rule[];
  groups?: Array<{ experiments?: Rule[] }>;
}

/**
 * What is wrong with the datafile for these groups: a flag that is missing, a variation that is
 * enabled but names no stage, a stage variation that is disabled (it would serve legacy under
 * another name), or a stage the flag cannot reach because no variation has its key.
 */
export function checkDatafile(datafile: Datafile, groups: ReadonlyArray<{ name: string; flag: string }>): string[] {
  const experiments = new Map<string, Rule>([...(datafile.experiments ?? []), ...(datafile.groups ?? []).flatMap((group) => group.experiments ?? [])].map((rule) => [rule.id, rule]));
  const rollouts = new Map((datafile.rollouts ?? []).map((rollout) => [rollout.id, rollout.experiments ?? []]));
  const problems: string[] = [];
  for (const group of groups) {
    const flag = (datafile.featureFlags ?? []).find((candidate) => candidate.key === group.flag);
    if (!flag) {
      problems.push(`group ${group.name}: flag "${group.flag}" is not in the datafile`);
      continue;
    }
    const rules = [...(flag.rolloutId ? rollouts.get(flag.rolloutId) ?? [] : []), ...(flag.experimentIds ?? []).flatMap((id) => experiments.get(id) ?? [])];
    const variations = new Map<string, Variation>(rules.flatMap((rule) => rule.variations ?? []).map((variation) => [variation.key, variation]));
    for (const variation of variations.values()) {
      const isStage = (STAGES as readonly string[]).includes(variation.key);
      if (variation.featureEnabled && !isStage) problems.push(`group ${group.name}: variation "${variation.key}" of flag "${group.flag}" is enabled but is not a stage (${STAGES.join(', ')})`);
      if (!variation.featureEnabled && isStage) problems.push(`group ${group.name}: variation "${variation.key}" of flag "${group.flag}" is disabled, so it would serve legacy`);
    }
    const missing = STAGES.filter((stage) => !variations.has(stage));
    if (missing.length > 0) problems.push(`group ${group.name}: flag "${group.flag}" has no variation for stage ${missing.join(', ')}`);
  }
  return problems;
}

/** `cutover flags check [--config FILE] [--datafile FILE]`: exit 0 when sound, 1 with problems, 2 on unusable input. */
export async function flagsCheckCommand(args: string[], io: CommandIo): Promise<number> {
  let file: string;
  let groups: ReadonlyArray<{ name: string; flag: string }>;
  try {
    const { values } = parseArgs({ args, options: { config: { type: 'string', short: 'c', default: 'cutover.yaml' }, datafile: { type: 'string' } }, strict: true });
    const config = loadConfig(values.config);
    groups = config.groups;
    const source = config.flags.source;
    if (values.datafile) file = values.datafile;
    else if (source.kind === 'file') file = source.path;
    else throw new ConfigError('the configuration polls Optimizely (flags.sdkKey): pass the datafile to check with --datafile FILE');
  } catch (error) {
    io.stderr(`cutover flags check: ${(error as Error).message}\n`);
    return 2;
  }
  let datafile: Datafile;
  try {
    datafile = JSON.parse(await readFile(file, 'utf8')) as Datafile;
  } catch (error) {
    io.stderr(`cutover flags check: ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}\n`);
    return 2;
  }
  const problems = checkDatafile(datafile, groups);
  if (problems.length > 0) {
    io.stderr(problems.map((problem) => `cutover flags check: ${problem}\n`).join(''));
    return 1;
  }
  io.stdout(`cutover flags check: ${groups.length} group(s) sound in ${file}\n`);
  return 0;
}
