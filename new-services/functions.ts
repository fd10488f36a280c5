import type pg from 'pg';
import { createCatalogHandler } from './catalog/handler.js';
import { createFulfillmentHandler } from './fulfillment/handler.js';
import type { FulfillmentQueue } from './fulfillment/messages.js';
import type { HostedFunction } from './lambda-host/server.js';
import { createOrdersHandler } from './orders/handler.js';

/**
 * Every pet-store function by its Lambda name, as the local host serves them and Terraform
 * deploys them; `entry` is the module whose `handler` export is the deployed handler, bundled by
 * `npm run build:functions` to build/functions/<name>/index.mjs.
 */
export const FUNCTION_ENTRIES = {
  catalog: 'new-services/catalog/index.ts',
  orders: 'new-services/orders/index.ts',
  fulfillment: 'new-services/fulfillment/index.ts',
} as const;

export type FunctionName = keyof typeof FUNCTION_ENTRIES;

export function petStoreFunctions(db: pg.Pool, options: { fulfillmentQueue: FulfillmentQueue; log?: (line: string) => void }): Record<FunctionName, HostedFunction> {
  return {
    catalog: { handler: createCatalogHandler(db), timeoutMs: 10_000 },
    orders: { handler: createOrdersHandler(db, { queue: options.fulfillmentQueue, log: options.log }), timeoutMs: 10_000 },
    fulfillment: { handler: createFulfillmentHandler(db, options.log), timeoutMs: 30_000 },
  };
}
