import { readFileSync } from 'node:fs';
import {
  type Client,
  createInstance,
  createStaticProjectConfigManager,
  OptimizelyDecideOption,
} from '@optimizely/optimizely-sdk';
import { isStage, type Stage } from './stage.js';

/** Where a stage came from: the flag, the admin API's kill switch, or the safe default. */
export type DecisionSource = 'optimizely' | 'override' | 'fallback';

/** The stage one caller gets for one group, and why. */
export interface Decision {
  readonly group: string;
  readonly caller: string;
  readonly stage: Stage;
  readonly source: DecisionSource;
  readonly flag: string;
  readonly variation: string | null;
  readonly rule: string | null;
  readonly reasons: readonly string[];
}

export class DatafileError extends Error {}

export class UnknownGroupError extends Error {}

const DECIDE_OPTIONS = [OptimizelyDecideOption.INCLUDE_REASONS, OptimizelyDecideOption.DISABLE_DECISION_EVENT];

function readDatafile(file: string): string {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new DatafileError(`${file}: cannot read the Optimizely datafile (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
  try {
    JSON.parse(text);
  } catch (error) {
    throw new DatafileError(`${file}: the Optimizely datafile is not JSON: ${(error as Error).message}`);
  }
  return text;
}

/**
 * Decides each group's stage per caller from its Optimizely flag. The stage is the key of the
 * variation the caller is bucketed into; a disabled flag means `legacy`. Variables are never
 * read for the stage, because a variation with `featureEnabled: false` answers the flag's
 * default variables, which could otherwise send a caller to the new side unnoticed.
 */
export class Flags {
  private readonly overrides = new Map<string, Stage>();

  private constructor(
    private readonly client: Client,
    private readonly flagOf: ReadonlyMap<string, string>,
  ) {}

  /** Loads a local datafile (the offline default); an unreadable or invalid one is a DatafileError. */
  static async fromDatafile(file: string, groups: ReadonlyArray<{ name: string; flag: string }>): Promise<Flags> {
    const datafile = readDatafile(file);
    const client = createInstance({ projectConfigManager: createStaticProjectConfigManager({ datafile }), defaultDecideOptions: DECIDE_OPTIONS });
    try {
      await client.onReady({ timeout: 5_000 });
    } catch (error) {
      // Not awaited: the SDK's close() of a client that never became ready does not settle.
      client.close().catch(() => undefined);
      throw new DatafileError(`${file}: Optimizely rejected the datafile: ${(error as Error).message}`);
    }
    return new Flags(client, new Map(groups.map((group) => [group.name, group.flag])));
  }

  get groups(): string[] {
    return [...this.flagOf.keys()];
  }

  decide(group: string, caller: string): Decision {
    const flag = this.flagOf.get(group);
    if (flag === undefined) throw new UnknownGroupError(`no group named "${group}"`);
    const base = { group, caller, flag, variation: null, rule: null };

    const forced = this.overrides.get(group);
    if (forced) return { ...base, stage: forced, source: 'override', reasons: [`stage ${forced} forced through the admin API`] };

    const decision = this.client.createUserContext(caller)?.decide(flag);
    if (!decision) return { ...base, stage: 'legacy', source: 'fallback', reasons: ['the Optimizely client is not ready'] };
    const found = { ...base, variation: decision.variationKey, rule: decision.ruleKey };
    if (decision.variationKey === null) {
      return { ...found, stage: 'legacy', source: 'fallback', reasons: [`flag "${flag}" gave no variation`, ...decision.reasons] };
    }
    if (!decision.enabled) {
      return { ...found, stage: 'legacy', source: 'optimizely', reasons: [`flag "${flag}" is disabled for this caller`, ...decision.reasons] };
    }
    if (!isStage(decision.variationKey)) {
      return { ...found, stage: 'legacy', source: 'fallback', reasons: [`variation "${decision.variationKey}" of flag "${flag}" is not a stage`, ...decision.reasons] };
    }
    return { ...found, stage: decision.variationKey, source: 'optimizely', reasons: decision.reasons };
  }

  /** The kill switch: a stage for every caller of the group, until cleared. */
  override(group: string, stage: Stage): void {
    if (!this.flagOf.has(group)) throw new UnknownGroupError(`no group named "${group}"`);
    this.overrides.set(group, stage);
  }

  clearOverride(group: string): boolean {
    if (!this.flagOf.has(group)) throw new UnknownGroupError(`no group named "${group}"`);
    return this.overrides.delete(group);
  }

  overrideOf(group: string): Stage | undefined {
    return this.overrides.get(group);
  }

  async close(): Promise<void> {
    await this.client.close();
  }
}
