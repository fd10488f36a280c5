import express, { type Request, type Response, type Router } from 'express';
import type { Config } from '../config/config.js';
import type { Decision, Flags } from '../decision/flags.js';

/** Optimizely Agent's decide options, as its `decideOptions` names them. */
const AGENT_OPTIONS = ['DISABLE_DECISION_EVENT', 'ENABLED_FLAGS_ONLY', 'IGNORE_USER_PROFILE_SERVICE', 'INCLUDE_REASONS', 'EXCLUDE_VARIABLES'] as const;
type AgentOption = typeof AGENT_OPTIONS[number];

const USAGE = `the body is {"userId": "<caller key>", "userAttributes": {…} (optional), "decideOptions": [${AGENT_OPTIONS.join(', ')}] (optional)}; flag keys go in ?keys=`;

/**
 * The options given, or the line that says why they cannot be used. As Agent does, a name it does
 * not know is refused: a typo in DISABLE_DECISION_EVENT would otherwise send impressions unseen.
 */
function optionsOf(given: unknown): ReadonlySet<AgentOption> | string {
  if (given === undefined) return new Set();
  if (!Array.isArray(given)) return `"decideOptions" must be a list: ${USAGE}`;
  const unknown = given.find((option) => !(AGENT_OPTIONS as readonly unknown[]).includes(option));
  if (unknown !== undefined) return `unknown decide option ${JSON.stringify(unknown)}: Optimizely Agent's are ${AGENT_OPTIONS.join(', ')}`;
  return new Set(given as AgentOption[]);
}

/**
 * A decision in Optimizely Agent's shape. The variation is the stage (the flag's variation keys
 * are the stage names), an override's too; `enabled` is false when the caller gets legacy because
 * the flag is disabled or unusable for it. `cutover` carries what Agent has no word for.
 */
function agentDecision(decision: Decision, attributes: object, options: ReadonlySet<AgentOption>) {
  const forced = decision.source === 'override';
  return {
    flagKey: decision.flag,
    variationKey: forced ? decision.stage : decision.variation,
    enabled: forced || decision.variation === decision.stage,
    ruleKey: forced ? null : decision.rule,
    variables: decision.shadowPercent === undefined || options.has('EXCLUDE_VARIABLES') ? {} : { shadowPercent: decision.shadowPercent },
    userContext: { userId: decision.caller, attributes },
    reasons: options.has('INCLUDE_REASONS') ? decision.reasons : [],
    cutover: { group: decision.group, stage: decision.stage, source: decision.source },
  };
}

/**
 * `POST /v1/decide`: Optimizely Agent's decide, for projects that are not in Node: the proxy's
 * own decision, overrides included. A decision here serves the caller the project asks for, so it
 * is an impression (with A/B events configured) unless `DISABLE_DECISION_EVENT` says otherwise.
 * `IGNORE_USER_PROFILE_SERVICE` is accepted and changes nothing: the proxy has no user profile service.
 */
export function agentDecide(config: Config, flags: Flags, problem: (res: Response, status: number, detail: string) => void): Router {
  const router = express.Router();
  router.post('/v1/decide', express.json({ limit: '16kb', type: () => true }), (req: Request, res: Response) => {
    const { userId, userAttributes, decideOptions } = (req.body ?? {}) as { userId?: unknown; userAttributes?: unknown; decideOptions?: unknown };
    if (typeof userId !== 'string' || userId === '') return problem(res, 400, USAGE);
    const options = optionsOf(decideOptions);
    if (typeof options === 'string') return problem(res, 400, options);
    const keys = ([] as unknown[]).concat(req.query.keys ?? []).map(String);
    const unknown = keys.find((key) => !config.groups.some((group) => group.flag === key));
    if (unknown !== undefined) return problem(res, 404, `no configured group is decided by flag "${unknown}"`);
    const groups = keys.length === 0 ? config.groups : config.groups.filter((group) => keys.includes(group.flag));
    const attributes = userAttributes && typeof userAttributes === 'object' ? userAttributes : {};
    const decide = { explain: options.has('INCLUDE_REASONS'), impression: !options.has('DISABLE_DECISION_EVENT') };
    const decisions = groups.map((group) => agentDecision(flags.decide(group.name, userId, decide), attributes, options));
    res.json(options.has('ENABLED_FLAGS_ONLY') ? decisions.filter((decision) => decision.enabled) : decisions);
  });
  return router;
}
