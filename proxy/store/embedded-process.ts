import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { startEmbeddedPostgres } from './embedded-postgres.js';

/**
 * Embedded Postgres (PGlite) in a child process of the proxy: PGlite takes about 700 MB and 3 s
 * to start, which the proxy's own memory and event loop must not carry. The child prints its
 * connection URL as one JSON line and stops when the proxy closes its standard input, which
 * also happens when the proxy dies, and only then: signals are the proxy's to act on.
 */
export interface EmbeddedStore { readonly url: string; close(): Promise<void> }

const here = fileURLToPath(import.meta.url);
/** The sources need tsx's loader (resolved from here, whatever the working directory); the build in dist/ does not. */
const loader = here.endsWith('.ts') ? ['--import', pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href] : [];

export async function startEmbeddedStore(options: { dataDir: string | undefined; port: number }): Promise<EmbeddedStore> {
  const child = spawn(process.execPath, [...loader, here, JSON.stringify(options)], {
    stdio: ['pipe', 'pipe', 'pipe'],
    cwd: path.dirname(here),
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => { stderr = (stderr + chunk.toString()).slice(-2_000); });
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  const exited = once(child, 'exit').then(([code]) => { throw new Error(`embedded Postgres exited (code ${String(code)}) before it was ready: ${stderr.trim().split('\n').pop() ?? ''}`); });
  const ready = once(lines, 'line').then(([line]) => (JSON.parse(line as string) as { url: string }).url);
  let url: string;
  try {
    url = await Promise.race([ready, exited]);
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
  exited.catch(() => undefined);
  return { url, close: () => stop(child) };
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exit = once(child, 'exit');
  child.stdin?.end();
  const kill = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await exit;
  clearTimeout(kill);
}

async function main(): Promise<void> {
  const options = JSON.parse(process.argv[2] ?? '{}') as { dataDir?: string; port?: number };
  const embedded = await startEmbeddedPostgres({ dataDir: options.dataDir, port: options.port });
  process.stdout.write(`${JSON.stringify({ url: embedded.url })}\n`);
  const done = () => embedded.close().then(() => process.exit(0), () => process.exit(1));
  process.stdin.on('end', done);
  process.stdin.on('error', done);
  process.stdin.resume();
  // A signal to the proxy's whole process group (Ctrl-C, a supervisor stopping a service) reaches
  // this child too. Stopping then would break the proxy's connections while it still closes them
  // (errors with stacks in its log); it stops when the proxy, once done, closes its stdin.
  process.on('SIGINT', () => undefined);
  process.on('SIGTERM', () => undefined);
}

if (process.argv[1] && path.resolve(process.argv[1]) === here) {
  main().catch((error: unknown) => {
    process.stderr.write(`embedded Postgres: ${(error as Error).message}\n`);
    process.exit(1);
  });
}
