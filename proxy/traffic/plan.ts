import { type Caller, identifyCaller } from '../decision/caller.js';
import type { Config, Group } from '../config/config.js';
import type { Decision, Flags } from '../decision/flags.js';
import type { Metrics } from '../telemetry/metrics.js';
import type { RouteMatch, RouteTable } from '../config/route.js';
import { shadowChoice, type SkipReason } from '../shadow/shadow.js';
import { primarySide, type Side, shadowSide } from '../decision/stage.js';
import type { Inbound } from '../http/request.js';

/** What the proxy decided to do with a request that matched a route. */
export interface Plan {
  readonly match: RouteMatch;
  readonly group: Group;
  readonly caller: Caller;
  readonly decision: Decision;
  /** The side that answers the client. */
  readonly side: Side;
  /** Whether to send a shadow, or why not; undefined in a stage that compares nothing. */
  readonly shadow: 'send' | SkipReason | undefined;
}

export interface PlanDependencies {
  readonly config: Config;
  readonly routes: RouteTable;
  readonly groups: ReadonlyMap<string, Group>;
  readonly flags: Flags;
  readonly metrics: Metrics;
  /** Whether the shadow pool would drop a shadow now: checked before a body is buffered for nothing. */
  readonly poolFull: () => boolean;
  readonly random: () => number;
}

/**
 * The routing half of the request path, in order: route, caller, decide, count the decision,
 * choose shadow. Undefined for traffic outside the route table, which legacy serves untouched.
 */
export function planOf(inbound: Inbound, deps: PlanDependencies): Plan | undefined {
  const match = deps.routes.match(inbound.method, inbound.path);
  const group = match && deps.groups.get(match.route.group);
  if (!match || !group) return undefined;
  const caller = identifyCaller(inbound.headers, deps.config.caller);
  const decision = deps.flags.decide(group.name, caller.id, { remember: caller.setCookie === undefined, impression: true });
  deps.metrics.flagDecisions.inc({ group: group.name, stage: decision.stage, source: decision.source });
  return { match, group, caller, decision, side: primarySide(decision.stage), shadow: chooseShadow(group, decision, inbound.method, deps) };
}

/**
 * The configured share first (it is the user's intent), then what the proxy can afford now. The
 * shadow side's breaker is asked once, when the shadow is sent: its half-open probe is a permit
 * taken then, and a look ahead here would be a second answer to the same question.
 */
function chooseShadow(group: Group, decision: Decision, method: string, deps: PlanDependencies): Plan['shadow'] {
  if (!shadowSide(decision.stage)) return undefined;
  const choice = shadowChoice(group, decision, method, deps.random);
  if (choice !== 'send') return choice;
  return deps.poolFull() ? 'capacity' : 'send';
}
