import { timingSafeEqual } from 'node:crypto';
import express, { type NextFunction, type Request, type Response } from 'express';
import { UnknownGroupError } from './flags.js';
import type { Logger } from './log.js';
import type { Metrics } from './metrics.js';
import { type ReviewDependencies, reviewApi } from './review/api.js';
import { reportPage } from './review/page.js';
import { isStage, STAGES } from './stage.js';
import { type Readiness, startupChecks } from './startup-checks.js';

export interface AdminDependencies extends Omit<ReviewDependencies, 'authorized' | 'problem'> {
  readonly metrics: Metrics;
  readonly log: Logger;
  /** What `/readyz` reports; by default the start-up checks, which begin when the app is made. */
  readonly readiness?: Readiness;
}

function problem(res: Response, status: number, detail: string): void {
  res.status(status).json({ error: detail });
}

function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
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

  app.get('/metrics', async (_req, res) => {
    res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });
  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  // Degraded is still 200: the proxy serves, and whatever is wrong sends traffic to legacy, which is safe.
  const readiness = deps.readiness ?? startupChecks({ config, flags, log: deps.log });
  app.get('/readyz', async (_req, res) => {
    const reasons = [...await readiness.reasons(), ...(deps.store?.problem() ? [deps.store.problem() as string] : [])];
    const flagState = flags.ready ? 'loaded' : 'unavailable: every group is served by legacy';
    res.json(reasons.length === 0 ? { status: 'ready', flags: flagState } : { status: 'degraded', reasons, flags: flagState });
  });

  app.use(reviewApi({ ...deps, authorized, problem }));

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
      res.json(flags.decide(group, caller));
    } catch (error) {
      if (error instanceof UnknownGroupError) return problem(res, 404, error.message);
      throw error;
    }
  });

  app.put('/api/overrides/:group', authorized, express.json({ limit: '4kb', type: () => true }), (req: Request<{ group: string }>, res) => {
    // Any content type is read as JSON: a curl without -H 'content-type: …' is not a wrong body.
    const body: unknown = req.body;
    const extra = body && typeof body === 'object' && !Array.isArray(body) ? Object.keys(body).find((key) => key !== 'stage') : undefined;
    if (extra !== undefined) return problem(res, 400, `unknown key "${extra}": the body is {"stage": one of ${STAGES.join(', ')}}`);
    const stage: unknown = (body as { stage?: unknown } | undefined)?.stage;
    if (!isStage(stage)) return problem(res, 400, `body must be {"stage": one of ${STAGES.join(', ')}}`);
    try {
      flags.override(req.params.group, stage);
    } catch (error) {
      if (error instanceof UnknownGroupError) return problem(res, 404, error.message);
      throw error;
    }
    deps.log.warn({ group: req.params.group, stage }, 'admin: group forced to a stage');
    res.json({ group: req.params.group, stage });
  });

  app.delete('/api/overrides/:group', authorized, (req: Request<{ group: string }>, res) => {
    try {
      const removed = flags.clearOverride(req.params.group);
      if (removed) deps.log.warn({ group: req.params.group }, 'admin: override cleared');
      res.json({ group: req.params.group, override: null, cleared: removed });
    } catch (error) {
      if (error instanceof UnknownGroupError) return problem(res, 404, error.message);
      throw error;
    }
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
