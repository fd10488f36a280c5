import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import pg from 'pg';
import { createLegacyApp } from './app.js';
import { seedCatalog } from './seed.js';

export interface LegacyServer { url: string; close(): Promise<void> }

/**
 * Starts the legacy monolith on its own pool and seeds the catalog when it is empty. The
 * database must already be migrated (new-services/data/migrations.ts owns the shared schema).
 */
export async function startLegacy(options: { databaseUrl: string; host?: string; port?: number }): Promise<LegacyServer> {
  const db = new pg.Pool({ connectionString: options.databaseUrl, max: 4 });
  await seedCatalog(db);
  const server = createLegacyApp(db).listen(options.port ?? 0, options.host ?? '127.0.0.1');
  await once(server, 'listening');
  const { address, port } = server.address() as AddressInfo;
  return {
    url: `http://${address}:${port}`,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await db.end();
    },
  };
}
