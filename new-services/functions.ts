import type pg from 'pg';
import { createCatalogHandler } from './catalog/handler.js';
import type { HostedFunction } from './lambda-host/server.js';

/** Every pet-store function by its Lambda name, as the local host serves them and Terraform deploys them. */
export function petStoreFunctions(db: pg.Pool): Record<string, HostedFunction> {
  return {
    catalog: { handler: createCatalogHandler(db), timeoutMs: 10_000 },
  };
}
