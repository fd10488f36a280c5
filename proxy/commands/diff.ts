import { parseArgs } from 'node:util';
import { z } from 'zod';
import {
  compare, DEFAULT_RULES, type Difference, hiddenDifferences, type JsonValue, memberText, type Observation, parseRules, type Response, type Rules, RulesError,
} from '../../compare/index.js';

export interface DiffIo {
  stdout(text: string): void;
  stderr(text: string): void;
  readFile(path: string): Promise<string>;
}

export const DIFF_USAGE = 'usage: cutover diff [--rules FILE] [--explain] LEGACY.json NEW.json';

/** Input the command cannot use; its message is the one line printed after "cutover diff: ". */
class UnusableInput extends Error {}

const observationSchema = z.strictObject({
  status: z.number().int().min(100).max(599),
  headers: z.record(z.string(), z.union([z.string(), z.array(z.string())])).default({}),
  // Any JSON value: the file parsed as JSON. (z.json() would check it again, recursively.)
  body: z.unknown().optional(),
});

interface JsonFile { readonly text: string; readonly value: unknown }

async function readJson(file: string, io: DiffIo): Promise<JsonFile> {
  let text: string;
  try {
    text = await io.readFile(file);
  } catch (error) {
    throw new UnusableInput(`${file}: cannot read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
  try {
    return { text, value: JSON.parse(text) };
  } catch (error) {
    throw new UnusableInput(`${file}: not valid JSON: ${(error as Error).message.split('\n')[0]}`);
  }
}

function where(path: readonly PropertyKey[]): string {
  return path.map((key) => (typeof key === 'number' ? `[${key}]` : `.${String(key)}`)).join('').replace(/^\./, '') || '(top level)';
}

async function readObservation(file: string, io: DiffIo): Promise<Response> {
  const { text, value } = await readJson(file, io);
  const result = observationSchema.safeParse(value);
  if (!result.success) {
    const issue = result.error.issues[0];
    const message = issue?.code === 'unrecognized_keys' ? `unknown key "${issue.keys[0]}"` : issue?.message ?? 'invalid observation';
    throw new UnusableInput(`${file}: ${issue ? where(issue.path) : '(top level)'}: ${message}`);
  }
  const { status, headers, body } = result.data;
  // A string body is the raw body (parsed when Content-Type is JSON). Any other is JSON, handed
  // over as the file's text of it: JSON.parse has rounded its big numbers and dropped repeated members.
  if (body === undefined) return { status, headers };
  if (typeof body === 'string') return { status, headers, body };
  return { status, headers, body: memberText(text, 'body') ?? JSON.stringify(body as JsonValue), bodyIsJson: true };
}

async function readRules(file: string | undefined, io: DiffIo): Promise<Rules | undefined> {
  if (file === undefined) return undefined;
  try {
    return parseRules((await readJson(file, io)).value);
  } catch (error) {
    if (error instanceof RulesError) throw new UnusableInput(`${file}: ${error.message}`);
    throw error;
  }
}

export interface DiffOptions {
  readonly rules: string | undefined;
  readonly legacy: string;
  readonly newSide: string;
  /** Also list what the rules hid, each with its rule. */
  readonly explain?: boolean;
}

function parse(args: string[]): DiffOptions {
  let parsed;
  try {
    parsed = parseArgs({ args, options: { rules: { type: 'string' }, explain: { type: 'boolean' } }, allowPositionals: true, strict: true });
  } catch (error) {
    // Node's message goes on to explain "--"; its first sentence is the reason.
    throw new UnusableInput(`${(error as Error).message.split(/\.\s|\n/)[0]} (${DIFF_USAGE})`);
  }
  const [legacy, newSide, ...extra] = parsed.positionals;
  if (legacy === undefined || newSide === undefined || extra.length > 0) throw new UnusableInput(`two observation files are needed (${DIFF_USAGE})`);
  return { rules: parsed.values.rules, legacy, newSide, explain: parsed.values.explain ?? false };
}

/**
 * `cutover diff [--rules FILE] [--explain] LEGACY.json NEW.json`: prints the comparison of two
 * observations as JSON, with `--explain` also what the rules hid. Exit code 0 on match, 1 on
 * mismatch, 2 on unusable input or a body past a limit (one line on stderr).
 */
export async function diffCommand(args: string[], io: DiffIo): Promise<number> {
  let options;
  try {
    options = parse(args);
  } catch (error) {
    if (!(error instanceof UnusableInput)) throw error;
    io.stderr(`cutover diff: ${error.message}\n`);
    return 2;
  }
  return diff(options, io);
}

/** What the rules hid, as `cutover diff --explain` prints it: each difference with the rule that hid it. */
function hidden(legacy: Observation, newSide: Observation, rules: Rules, shown: readonly Difference[]) {
  return hiddenDifferences(legacy, newSide, rules, shown)
    .map(({ difference: { path, kind, legacy, new: next }, rule }) => ({ path, kind, legacy, new: next, rule }));
}

/** The diff itself, for options already parsed (the CLI parses them with commander). */
export async function diff(options: DiffOptions, io: DiffIo): Promise<number> {
  try {
    const rules = await readRules(options.rules, io) ?? DEFAULT_RULES;
    const legacy = await readObservation(options.legacy, io);
    const newSide = await readObservation(options.newSide, io);
    const comparison = compare(legacy, newSide, rules);
    if (comparison.verdict === 'error') throw new UnusableInput(comparison.reason ?? 'the bodies cannot be compared');
    const differences = comparison.differences.map(({ path, kind, legacy, new: newSide }) => ({ path, kind, legacy, new: newSide }));
    const output = options.explain
      ? { verdict: comparison.verdict, differences, hidden: hidden(legacy, newSide, rules, comparison.differences) }
      : { verdict: comparison.verdict, differences };
    io.stdout(`${JSON.stringify(output, null, 2)}\n`);
    return comparison.verdict === 'match' ? 0 : 1;
  } catch (error) {
    if (!(error instanceof UnusableInput)) throw error;
    io.stderr(`cutover diff: ${error.message}\n`);
    return 2;
  }
}
