import { timingSafeEqual } from 'node:crypto';
import express, { type NextFunction, type Request, type Response } from 'express';
import { hostCheck } from './hosts.js';
import { type Flags, UnknownGroupError } from '../decision/flags.js';
import { OverrideNotShared, type Overrides } from '../decision/overrides.js';
import type { Logger } from '../telemetry/log.js';
import type { Metrics } from '../telemetry/metrics.js';
import { type ReviewDependencies, reviewApi } from '../review/api.js';
import { reportPage } from '../review/page.js';
import { isStage, type Stage, STAGES } from '../decision/stage.js';
import { type Readiness, startupChecks } from './startup-checks.js';
import { optimizelyWebhook } from './webhook.js';
import { agentDecide } from './agent-decide.js';
import type { FanoutResult } from '../decision/datafile/fanout.js';

export interface AdminDependencies extends Omit<ReviewDependencies, 'authorized' | 'problem' | 'actor'> {
  readonly flags: Flags;
  readonly overrides: Overrides;
  /** The guard, when it could not roll a breaching group back. */
  readonly guard: { problem(): string | undefined };
  readonly metrics: Metrics;
  readonly log: Logger;
  /** What `/readyz` reports; by default the start-up checks, which begin when the app is made. */
  readonly readiness?: Readiness;
  /** A published datafile, fetched here and told to the other replicas (Optimizely's webhook). */
  readonly datafilePublished: () => Promise<FanoutResult>;
}

function problem(res: Response, status: number, detail: string): void {
  res.status(status).json({ error: detail });
}

function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Who changed an override, for its history: the credential's name and the person an operator names, never the token. */
function actorOf(req: Request): string {
  const named = req.headers['x-cutover-actor'];
  return typeof named === 'string' && /^[\w.@ -]{1,64}$/.test(named) ? `admin token (${named})` : 'admin token';
}

/** Mutating endpoints need the configured bearer token; with none configured they are refused. */
function requireToken(token: string | undefined) {
  return (req: Request, res: Response, next: NextFunction) => {
    if (!token) return problem(res, 403, 'no admin token is configured (admin.token or CUTOVER_ADMIN_TOKEN), so changes are refused');
    const header = req.headers.authorization ?? '';
    if (!header.startsWith('Bearer ') || !sameSecret(header.slice('Bearer '.length), token)) {
      res.setHeader('www-authenticate', 'Bearer');
      return problem(res, 401, 'a valid "Authorization: Bearer <token>" header is required');
    }
    next();
  };
}

/** The admin port: metrics, health, decisions, and the kill switch. */
export function createAdminApp(deps: AdminDependencies): express.Express {
  const { config, flags, metrics } = deps;
  const app = express();
  app.disable('x-powered-by');
  const authorized = requireToken(config.admin.token);
  const ownHost = hostCheck(config.admin.allowedHosts);

  // First, before any endpoint: a page that rebinds its name to this port reads and changes nothing.
  app.use((req, res, next) => {
    if (ownHost(req.headers.host)) return next();
    problem(res, 421, `the admin port answers only for its own host names, not "${(req.headers.host ?? '').slice(0, 100)}": add the name to admin.allowedHosts if it is one`);
  });

  app.get('/metrics', async (_req, res) => {
    res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });
  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  // Degraded is still 200: the proxy serves, and whatever is wrong sends traffic to legacy, which is safe.
  const readiness = deps.readiness ?? startupChecks({ config, flags, log: deps.log });
  app.get('/readyz', async (_req, res) => {
    const reasons = [...await readiness.reasons(), ...[deps.store?.problem(), deps.overrides.problem(), deps.guard.problem()].filter((reason): reason is string => reason !== undefined)];
    const flagState = flags.ready ? 'loaded' : 'unavailable: every group is served by legacy';
    const overrides = deps.overrides.shared ? 'shared through the store' : 'in this process only (no store)';
    const applied = flags.datafile();
    // Which datafile this replica obeys, and since when: a flip is acknowledged when its revision shows here.
    const datafile = applied ? { revision: applied.revision, appliedAt: applied.appliedAt.toISOString(), ageSeconds: Math.round((Date.now() - applied.appliedAt.getTime()) / 1000) } : null;
    res.json(reasons.length === 0 ? { status: 'ready', flags: flagState, datafile, overrides } : { status: 'degraded', reasons, flags: flagState, datafile, overrides });
  });

  app.use(optimizelyWebhook({ secret: config.flags.webhookSecret, published: deps.datafilePublished, metrics, log: deps.log }));
  app.use(reviewApi({ ...deps, authorized, problem, actor: actorOf }));

  // What calibration learned: per route and field, A/B and A/A difference rates, and the rules that would ignore the noise.
  app.get('/api/noise', (req, res) => {
    const { group } = req.query;
    const wanted = typeof group === 'string' ? config.groups.filter((candidate) => candidate.name === group) : config.groups;
    if (wanted.length === 0) return problem(res, 404, `no group named "${String(group)}"`);
    res.json({ groups: wanted.map((candidate) => deps.comparator.noiseOf(candidate.name)) });
  });

  app.get('/api/decide', (req, res) => {
    const { group, caller } = req.query;
    if (typeof group !== 'string' || typeof caller !== 'string' || caller === '') {
      return problem(res, 400, 'query parameters "group" and "caller" are required');
    }
    try {
      // A lookup serves no one: never an impression in Optimizely.
      res.json(flags.decide(group, caller, { explain: true }));
    } catch (error) {
      if (error instanceof UnknownGroupError) return problem(res, 404, error.message);
      throw error;
    }
  });

  const changeOverride = (req: Request<{ group: string }>, res: Response, stage: Stage | null, reason: string) => {
    deps.overrides.change({ group: req.params.group, stage, reason, actor: actorOf(req) }).then((record) => {
      deps.log.warn({ group: record.group, stage: record.stage, previous: record.previous, reason: record.reason, actor: record.actor },
        stage === null ? 'admin: override cleared' : 'admin: group forced to a stage');
      res.json({ ...record, shared: deps.overrides.shared, ...(stage === null ? { override: null, cleared: record.previous !== null } : {}) });
    }, (error: unknown) => {
      if (error instanceof UnknownGroupError) return problem(res, 404, error.message);
      if (error instanceof OverrideNotShared) return problem(res, 503, `overrides: ${error.message}`);
      problem(res, 500, (error as Error).message);
    });
  };

  app.put('/api/overrides/:group', authorized, express.json({ limit: '4kb', type: () => true }), (req: Request<{ group: string }>, res) => {
    // Any content type is read as JSON: a curl without -H 'content-type: …' is not a wrong body.
    const body: unknown = req.body;
    const usage = `the body is {"stage": one of ${STAGES.join(', ')}, "reason": "why" (optional)}`;
    const extra = body && typeof body === 'object' && !Array.isArray(body) ? Object.keys(body).find((key) => key !== 'stage' && key !== 'reason') : undefined;
    if (extra !== undefined) return problem(res, 400, `unknown key "${extra}": ${usage}`);
    const { stage, reason } = (body ?? {}) as { stage?: unknown; reason?: unknown };
    if (!isStage(stage)) return problem(res, 400, `body must be {"stage": …}: ${usage}`);
    if (reason !== undefined && (typeof reason !== 'string' || reason.length > 500)) return problem(res, 400, `"reason" must be text of at most 500 characters: ${usage}`);
    changeOverride(req, res, stage, reason ?? '');
  });

  app.delete('/api/overrides/:group', authorized, (req: Request<{ group: string }>, res) => {
    const reason = typeof req.query.reason === 'string' ? req.query.reason.slice(0, 500) : '';
    changeOverride(req, res, null, reason);
  });

  app.use(agentDecide(config, flags, problem));

  app.get('/api/overrides', (_req, res) => {
    deps.overrides.changes().then((history) => {
      res.json({ shared: deps.overrides.shared, overrides: Object.fromEntries(deps.overrides.all()), history });
    }, (error: unknown) => problem(res, 503, `overrides: the history is in the store, which does not answer: ${(error as Error).message}`));
  });

  app.use(reportPage());
  app.use((_req: Request, res: Response) => problem(res, 404, 'no such admin endpoint'));
  app.use((error: Error & { status?: number; type?: string }, _req: Request, res: Response, _next: NextFunction) => {
    if (error.type === 'entity.parse.failed') return problem(res, 400, `body is not JSON: ${error.message}`);
    deps.log.error({ err: error }, 'admin: request failed');
    problem(res, error.status ?? 500, error.message);
  });
  return app;
}
