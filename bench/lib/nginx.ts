/**
 * nginx as a peer of Cutover: a reverse proxy with one worker and a keep-alive upstream pool, and
 * the same with `mirror`, nginx's way of copying each request to a second upstream (whose answer
 * it discards: it mirrors but does not compare).
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Children, Started } from './children.js';
import { childPids } from './procfs.js';

export interface NginxOptions {
  /** A directory of its own: config, pid file, error log and temp paths go there. */
  readonly dir: string;
  /** host:port of the upstream that answers. */
  readonly upstream: string;
  /** host:port every request is also mirrored to; absent: a plain reverse proxy. */
  readonly mirror?: string;
}

export interface RunningNginx {
  readonly url: string;
  readonly master: Started;
  /** The worker: the process that proxies, whose CPU and memory are the row's. */
  readonly worker: number;
}

/**
 * A port free at this moment. nginx cannot listen on port 0 and tell us which port it got, so the
 * bench picks one and hands it over; another process could take it in between (a small race, on
 * loopback of a bench machine), in which case nginx fails to start and says so.
 */
async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Both pools keep connections open, as the bare http-proxy baseline and Cutover do. */
function upstreamBlock(name: string, address: string): string {
  return `upstream ${name} { server ${address}; keepalive 64; }`;
}

/** HTTP/1.1 without `Connection: close` towards the upstream, which is what lets the pool keep connections. */
const KEEP_ALIVE = 'proxy_http_version 1.1; proxy_set_header Connection "";';

export function nginxConfig(options: NginxOptions, port: number): string {
  const temp = (kind: string) => `${kind}_temp_path ${path.join(options.dir, `${kind}-temp`)};`;
  const mirrorLocation = options.mirror
    ? `location = /_mirror { internal; ${KEEP_ALIVE} proxy_pass http://shadow$request_uri; }`
    : '';
  return `daemon off;
worker_processes 1;
pid ${path.join(options.dir, 'nginx.pid')};
# crit: a refused mirror upstream would otherwise write a line per request.
error_log ${path.join(options.dir, 'error.log')} crit;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path ${path.join(options.dir, 'client-body-temp')};
  ${['proxy', 'fastcgi', 'uwsgi', 'scgi'].map(temp).join('\n  ')}
  ${upstreamBlock('primary', options.upstream)}
  ${options.mirror ? upstreamBlock('shadow', options.mirror) : ''}
  server {
    listen 127.0.0.1:${port};
    location / { ${options.mirror ? 'mirror /_mirror; ' : ''}${KEEP_ALIVE} proxy_pass http://primary; }
    ${mirrorLocation}
  }
}
`;
}

async function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

export async function startNginx(children: Children, name: string, options: NginxOptions): Promise<RunningNginx> {
  mkdirSync(options.dir, { recursive: true });
  // Run as root, nginx's worker drops to an unprivileged user, which must reach its temp paths here.
  chmodSync(options.dir, 0o755);
  const port = await freePort();
  const config = path.join(options.dir, 'nginx.conf');
  writeFileSync(config, nginxConfig(options, port));
  // -e: the error log from the very start, before the config is read (not the system's log).
  const master = await children.start(name, 'nginx', ['-e', path.join(options.dir, 'error.log'), '-p', options.dir, '-c', config]);
  for (const deadline = Date.now() + 10_000; Date.now() < deadline; await sleep(50)) {
    if (master.child.exitCode !== null) break;
    const [worker] = childPids(master.pid);
    if (worker !== undefined && (await accepts(port))) {
      children.adopt(worker);
      return { url: `http://127.0.0.1:${port}`, master, worker };
    }
  }
  const log = path.join(options.dir, 'error.log');
  throw new Error(`${name} did not start on port ${port}; its output:\n${master.tail()}${existsSync(log) ? readFileSync(log, 'utf8') : ''}`);
}
