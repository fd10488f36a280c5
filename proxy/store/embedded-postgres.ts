import { mkdirSync } from 'node:fs';
import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import { ProtocolQueue } from './pglite-protocol-queue.js';

export interface EmbeddedPostgres { url: string; close(): Promise<void> }

/**
 * PGlite served over the Postgres wire protocol, so that every component talks to it with `pg`
 * exactly as it would to a PostgreSQL server. Without a data folder it lives in memory.
 */
export async function startEmbeddedPostgres(options: { dataDir?: string; host?: string; port?: number } = {}): Promise<EmbeddedPostgres> {
  if (options.dataDir) mkdirSync(options.dataDir, { recursive: true });
  const db = await PGlite.create(options.dataDir);
  const host = options.host ?? '127.0.0.1';
  const server = new PGLiteSocketServer({ db, host, port: options.port ?? 0, maxConnections: 100 });
  // Handlers take the server's queue when they attach: ours must be in place before start().
  Object.assign(server, { queryQueue: new ProtocolQueue(db) });
  try {
    await server.start();
  } catch (error) {
    await db.close();
    throw error;
  }
  return {
    url: `postgres://postgres@${server.getServerConn()}/postgres?sslmode=disable`,
    async close() {
      await server.stop();
      await db.close();
    },
  };
}
