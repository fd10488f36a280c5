import express, { type Request, type Response, type Router } from 'express';
import type { Comparison } from '../../compare/index.js';
import type { UpstreamRequest } from '../backends/upstream.js';
import type { CircuitState } from '../backends/circuit.js';
import type { Comparator } from '../shadow/comparator.js';
import type { Config, Group } from '../config/config.js';
import type { Overrides } from '../decision/overrides.js';
import { currentStage, type ForcedStage } from '../decision/current-stage.js';
import type { Flags } from '../decision/flags.js';
import type { RouteTable } from '../config/route.js';
import type { Logger } from '../telemetry/log.js';
import { requestIdOf } from '../http/request-id.js';
import type { StageEvent, StoreDatabase } from '../store/database.js';
import { StoreUnavailable } from '../store/database.js';
import { maySendTwice } from '../shadow/shadow.js';
import type { Store } from '../store/store.js';
import { BadQuery, comparisonId, ReviewQuery } from './query.js';
import { replayable, replayCommands } from './replay.js';
import { summarise } from './summary.js';

/** One stage change, as GET /api/groups and /api/groups/:name/history give it. */
export type { StageEvent };

export interface ReviewDependencies {
  readonly config: Config;
  readonly flags: Flags;
  readonly overrides: Overrides;
  readonly circuits: () => ReadonlyMap<string, CircuitState>;
  readonly comparator: Comparator;
  readonly routes: RouteTable;
  /** Undefined when the store is off (store.enabled: false). */
  readonly store: Store | undefined;
  readonly recheck: (group: Group, request: UpstreamRequest) => Promise<Comparison>;
  /** The bearer-token check of the mutating endpoints. */
  readonly authorized: express.RequestHandler;
  readonly problem: (res: Response, status: number, detail: string) => void;
  /** Who asks, for the audit line: the credential's name and the person named in x-cutover-actor. */
  readonly actor: (req: Request) => string;
  readonly log: Logger;
}

/** A comparison id the store does not hold: 404. */
class NotFound extends Error {}

/** Stage changes shown with each group in /api/groups; the history endpoint gives more. */
const RECENT_CHANGES = 20;
/** Override changes read for who set the overrides in force. */
const OVERRIDE_CHANGES = 500;

/** The review API on the admin port: the evidence behind each flip (docs/operations.md, "Reviewing the evidence"). */
export function reviewApi(deps: ReviewDependencies): Router {
  const { config } = deps;
  const router = express.Router();
  const groups = new Map(config.groups.map((group) => [group.name, group]));

  /** The open store, or a 503 naming why there is none. */
  const reader = (): StoreDatabase => {
    if (!deps.store) throw new StoreUnavailable('no diff store is configured (store.enabled is false)');
    const store = deps.store.database;
    if (!store) throw new StoreUnavailable(deps.store.problem() ?? 'the diff store is not open yet');
    return store;
  };
  const names = new Set(groups.keys());
  const queryOf = (req: Request) => new ReviewQuery(req.query, names);
  const handle = (answer: (req: Request<Record<string, string>>) => Promise<unknown>) => (req: Request<Record<string, string>>, res: Response) => {
    answer(req).then((body) => res.json(body), (error: unknown) => {
      if (error instanceof BadQuery) return deps.problem(res, 400, error.message);
      if (error instanceof NotFound) return deps.problem(res, 404, error.message);
      if (error instanceof StoreUnavailable) return deps.problem(res, 503, error.message);
      deps.problem(res, 500, (error as Error).message);
    });
  };

  /** The overrides in force with who set them and why, from their history (the stage alone when it is out of reach). */
  const forcedStages = async (): Promise<Map<string, ForcedStage>> => {
    const changes = await deps.overrides.changes(OVERRIDE_CHANGES).catch(() => []);
    const forced = new Map<string, ForcedStage>();
    for (const [group, stage] of deps.overrides.all()) {
      const set = changes.find((change) => change.group === group);
      forced.set(group, set?.stage === stage ? { stage, actor: set.actor, reason: set.reason, at: set.at } : { stage, actor: null, reason: null, at: null });
    }
    return forced;
  };

  router.get('/api/groups/:name/history', handle(async (req) => {
    const name = req.params.name ?? '';
    if (!groups.has(name)) throw new NotFound(`no group named "${name}"`);
    const limitText = queryOf(req).text('limit') ?? '100';
    const limit = /^\d{1,4}$/.test(limitText) ? Number(limitText) : NaN;
    if (!(limit >= 1 && limit <= 1_000)) throw new BadQuery('limit must be a whole number from 1 to 1000');
    return { group: name, events: await reader().stageHistory(name, limit) };
  }));

  router.get('/api/groups', handle(async (req) => {
    const hours = queryOf(req).hours('window');
    const circuits = deps.circuits();
    const store = deps.store?.database;
    const forced = await forcedStages();
    const datafile = deps.flags.datafile();
    return {
      store: deps.store ? (deps.store.problem() ?? 'up') : 'off',
      groups: await Promise.all(config.groups.map(async (group) => {
        const windowed = hours === undefined ? group : { ...group, readiness: { ...group.readiness, windowHours: hours } };
        return {
          name: group.name,
          flag: group.flag,
          function: group.function,
          override: deps.overrides.get(group.name) ?? null,
          current: currentStage(datafile, group.name, forced.get(group.name) ?? null),
          changes: store ? await store.stageHistory(group.name, RECENT_CHANGES).catch(() => null) : null,
          fallback: group.fallback,
          circuit: circuits.get(group.name) ?? 'closed',
          ...(store ? summarise(windowed, await store.evidence(group.name, { hours: windowed.readiness.windowHours })) : { routes: group.routes.map((route) => ({ route: route.key })), readiness: null }),
        };
      })),
    };
  }));

  router.get('/api/diffs', handle(async (req) => {
    const page = await reader().diffs(queryOf(req).diffs(Date.now()));
    return { diffs: page.diffs, nextCursor: page.more ? page.diffs[page.diffs.length - 1]?.id ?? null : null };
  }));

  const storedWithReplay = async (id: string) => {
    const stored = await reader().diff(comparisonId(id, 'id'));
    if (!stored) throw new NotFound(`no comparison ${id} in the store (retention may have removed it)`);
    const group = groups.get(stored.group);
    const match = group && deps.routes.match(stored.method, stored.path);
    if (!group || !match) throw new NotFound(`comparison ${id} belongs to a group or route that is no longer configured`);
    return { stored, group, replay: replayable(stored, group, match) };
  };

  router.get('/api/diffs/:id', handle(async (req) => {
    const { stored, group, replay } = await storedWithReplay(req.params.id ?? '');
    const { requestHeaders, requestBody, method, path, query, requestId, caller, rule, variation, ...rest } = stored;
    return {
      ...rest,
      at: stored.at.toISOString(),
      request: { method, path, query, requestId, caller, rule, variation, headers: requestHeaders, body: requestBody },
      replay: { ...replayCommands(replay, group, config), caveats: replay.caveats },
    };
  }));

  const recheck = async (req: Request<Record<string, string>>) => {
    const { stored, group, replay } = await storedWithReplay(req.params.id ?? '');
    if (!maySendTwice(group, stored.method)) {
      throw new BadQuery(`comparison ${stored.id} is a ${stored.method}: only idempotent requests, or writes of a group with shadow.writes: dry-run, are sent again`);
    }
    const now = await deps.recheck(group, replay.request);
    return { id: stored.id, group: group.name, route: stored.route, was: stored.verdict, verdict: now.verdict, reason: now.reason ?? null, differences: now.differences, caveats: replay.caveats };
  };

  // A recheck sends a stored request to both sides again: each one, refused or not, leaves an audit line.
  router.post('/api/diffs/:id/recheck', deps.authorized, handle(async (req) => {
    const audit = { requestId: requestIdOf(req.headers), actor: deps.actor(req), comparison: req.params.id ?? '' };
    try {
      const answer = await recheck(req);
      deps.log.warn({ ...audit, group: answer.group, route: answer.route, was: answer.was, outcome: answer.verdict }, 'admin: comparison rechecked');
      return answer;
    } catch (error) {
      const outcome = error instanceof BadQuery || error instanceof NotFound ? 'refused' : 'failed';
      deps.log.warn({ ...audit, outcome, reason: (error as Error).message }, 'admin: comparison rechecked');
      throw error;
    }
  }));

  router.get('/api/fields', handle(async (req) => {
    const query = queryOf(req);
    const group = query.group();
    const fields = await reader().fields(group, query.text('route'));
    const noisy = new Set<string>();
    for (const named of config.groups.filter((one) => group === undefined || one.name === group)) {
      for (const route of deps.comparator.noiseOf(named.name).snapshot.routes) {
        for (const field of route.fields) if (field.noisy) noisy.add(`${named.name} ${route.route} ${field.field}`);
      }
    }
    return { fields: fields.map((field) => ({ ...field, noise: noisy.has(`${field.group} ${field.route} ${field.field}`) })) };
  }));

  return router;
}
