import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import pg from 'pg';
import { seedCatalog } from '../../legacy/seed.js';
import { migrate } from '../../new-services/data/migrate.js';
import { openTestDatabase, type TestDatabase } from './database.js';

export interface PetStoreDatabase {
  readonly database: TestDatabase;
  readonly pool: pg.Pool;
  close(): Promise<void>;
}

/** A migrated, seeded pet-store database of the given kind, with a pool on it. */
export async function openPetStore(kind: 'embedded' | 'server', poolSize = 10): Promise<PetStoreDatabase> {
  const database = await openTestDatabase(kind);
  const pool = new pg.Pool({ connectionString: database.url, max: poolSize });
  try {
    await migrate(pool);
    await seedCatalog(pool);
  } catch (error) {
    await pool.end();
    await database.close();
    throw error;
  }
  return {
    database,
    pool,
    async close() {
      await pool.end();
      await database.close();
    },
  };
}

/** Row counts of every table an order touches, to show that a shadow write left no trace. */
export async function rowCounts(pool: pg.Pool): Promise<{ [table: string]: number; stockUnits: number }> {
  const counts: { [table: string]: number; stockUnits: number } = { stockUnits: 0 };
  for (const table of ['orders', 'order_lines', 'reservations', 'shipments', 'shipment_lines']) {
    const { rows } = await pool.query<{ count: string }>(`SELECT count(*) FROM ${table}`);
    counts[table] = Number(rows[0]?.count);
  }
  const { rows } = await pool.query<{ total: string }>('SELECT sum(quantity) AS total FROM stock');
  counts.stockUnits = Number(rows[0]?.total);
  return counts;
}

/** Sets a product's stock to exactly `units`, all in one center. */
export async function setStock(pool: pg.Pool, product: number, units: number, center = 1): Promise<void> {
  await pool.query('UPDATE stock SET quantity = CASE WHEN center_id = $2 THEN $3 ELSE 0 END WHERE product_id = $1', [product, center, units]);
}

/** An API Gateway HTTP API (payload 2.0) event, as the proxy builds it for a matched route. */
export function httpEvent(routeKey: string, options: {
  path?: string; query?: string; pathParameters?: Record<string, string>; headers?: Record<string, string>; body?: unknown;
} = {}): APIGatewayProxyEventV2 {
  const [method = 'GET', template = '/'] = routeKey.split(' ');
  const rawPath = options.path ?? template;
  const body = options.body === undefined ? undefined : typeof options.body === 'string' ? options.body : JSON.stringify(options.body);
  const headers = { ...(body !== undefined ? { 'content-type': 'application/vnd.api+json' } : {}), ...options.headers };
  return {
    version: '2.0',
    routeKey,
    rawPath,
    rawQueryString: options.query ?? '',
    headers,
    ...(options.pathParameters ? { pathParameters: options.pathParameters } : {}),
    requestContext: {
      accountId: 'test', apiId: 'test', domainName: 'localhost', domainPrefix: 'localhost',
      http: { method, path: rawPath, protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'mocha' },
      requestId: 'test', routeKey, stage: '$default', time: '', timeEpoch: 0,
    },
    ...(body !== undefined ? { body } : {}),
    isBase64Encoded: false,
  };
}
