import express, { type NextFunction, type Request, type Response } from 'express';
import type pg from 'pg';
import { catalogRoutes } from './catalog-routes.js';
import { ApiError, negotiation, sendError } from './jsonapi.js';
import { orderRoutes } from './order-routes.js';

/** The legacy pet-store monolith, reduced to the endpoints being migrated. */
export function createLegacyApp(db: pg.Pool): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');
  app.use(negotiation);
  app.use(express.text({ type: () => true, limit: '1mb' }));
  app.use(catalogRoutes(db));
  app.use(orderRoutes(db));
  app.use((req: Request, _res: Response, next: NextFunction) => next(new ApiError(404, 'not_found', `No route for ${req.method} ${req.path}.`)));
  app.use((error: unknown, _req: Request, res: Response, _next: NextFunction) => {
    if (error instanceof ApiError) return sendError(res, error);
    console.error(`legacy: ${(error as Error).stack ?? String(error)}`);
    sendError(res, new ApiError(500, 'internal_error', 'The monolith failed to handle the request.'));
  });
  return app;
}
