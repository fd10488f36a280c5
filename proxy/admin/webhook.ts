import { createHmac, timingSafeEqual } from 'node:crypto';
import express, { type Request, type Response, type Router } from 'express';
import type { FanoutResult } from '../decision/datafile/fanout.js';
import { problemDocument } from '../http/problem.js';
import type { Logger } from '../telemetry/log.js';
import type { Metrics, WebhookOutcome } from '../telemetry/metrics.js';

export const WEBHOOK_PATH = '/webhooks/optimizely';

/** The event Optimizely sends when a datafile is published; any other is answered and ignored. */
const DATAFILE_UPDATED = 'project.datafile_updated';

/**
 * Whether `signature` (the `X-Hub-Signature` header) is Optimizely's for these exact bytes:
 * `sha1=` and the hex HMAC-SHA1 of the raw body keyed with the webhook's secret. Compared in
 * constant time, so that the answer's timing does not give the expected signature away byte by byte.
 */
export function signedByOptimizely(secret: string, body: Buffer, signature: string | undefined): boolean {
  if (signature === undefined) return false;
  const expected = Buffer.from(`sha1=${createHmac('sha1', secret).update(body).digest('hex')}`);
  const given = Buffer.from(signature);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

export interface WebhookDependencies {
  /** The webhook's secret; undefined when none is configured, and then every webhook is refused. */
  readonly secret: string | undefined;
  /** Fetches the published datafile here and tells the other replicas. */
  published(): Promise<FanoutResult>;
  readonly metrics: Metrics;
  readonly log: Logger;
}

function answerProblem(res: Response, status: number, code: string, detail: string): void {
  res.status(status).type('application/vnd.api+json').send(problemDocument(status, code, detail));
}

/**
 * `POST /webhooks/optimizely`: Optimizely's datafile webhook. The signature is checked over the
 * raw bytes before anything of the payload is read; a verified `project.datafile_updated` makes
 * this replica fetch the datafile at once and tell the others through the store.
 */
export function optimizelyWebhook(deps: WebhookDependencies): Router {
  const router = express.Router();
  router.post(WEBHOOK_PATH, express.raw({ type: () => true, limit: '64kb' }), (req: Request, res: Response) => {
    const { secret, metrics, log } = deps;
    const count = (outcome: WebhookOutcome) => metrics.webhooks.inc({ outcome });
    if (secret === undefined) {
      return answerProblem(res, 404, 'webhook_not_configured', 'no webhook secret is configured (flags.webhookSecretEnv names the environment variable that holds it), so webhooks are refused');
    }
    const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    const signature = req.headers['x-hub-signature'];
    if (!signedByOptimizely(secret, body, typeof signature === 'string' ? signature : undefined)) {
      count('bad_signature');
      log.warn({ signed: signature !== undefined }, 'webhook: refused a payload without a valid X-Hub-Signature');
      return answerProblem(res, 401, 'bad_signature', 'the X-Hub-Signature header is missing or is not the payload\'s HMAC-SHA1 with the webhook secret: nothing was done');
    }
    let event: unknown;
    try {
      event = (JSON.parse(body.toString('utf8')) as { event?: unknown } | null)?.event;
    } catch {
      count('ignored');
      return answerProblem(res, 400, 'not_json', 'the signed payload is not JSON: nothing was done');
    }
    if (event !== DATAFILE_UPDATED) {
      count('ignored');
      return res.status(202).json({ ignored: `the event is ${JSON.stringify(event ?? null)}, not ${DATAFILE_UPDATED}: nothing was done` });
    }
    void deps.published().then((result) => {
      const announced = result.announced.ok ? 'told to the other replicas through the store' : `not told to the other replicas: ${result.announced.why}`;
      if (!result.announced.ok) log.warn(`webhook: the published datafile was ${announced}`);
      if (!result.fetched.ok) {
        count('fetch_failed');
        log.error(`webhook: Optimizely published a datafile, but ${result.fetched.why}; it was ${announced}`);
        return answerProblem(res, 502, 'fetch_failed', `${result.fetched.why}; the datafile was ${announced}`);
      }
      count('fetched');
      log.info(`webhook: the published datafile was fetched, and ${announced}`);
      res.json({ fetched: true, announced: result.announced.ok, ...(result.announced.ok ? {} : { why: result.announced.why }) });
    });
  });
  return router;
}
