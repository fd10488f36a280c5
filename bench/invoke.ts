/**
 * What one Lambda Invoke costs the calling process in CPU: N calls with a fixed number in flight
 * against the bench's local Lambda host (bench/lambda-upstream.ts, a child process whose CPU is
 * not counted), measured with process.cpuUsage() around the calls after a warm-up. Wall time is
 * not reported: on a shared 2-core machine it says more about the neighbours than about us.
 *
 *   npx tsx bench/invoke.ts                          (every configuration, 3 passes each, medians)
 *   npx tsx bench/invoke.ts --only backend --profile (a CPU profile of one more pass, by self time)
 *
 * Configurations:
 *   backend  LambdaBackend.invoke: the event built, the trimmed client, the result mapped back
 *   client   InvokeClient.send with a fixed payload: the trimmed client alone
 *   sdk      a stock LambdaClient (maxAttempts 1), for reference
 *   http     node:http POSTing the same bytes on a keep-alive agent, no SDK and no signing:
 *            the floor of Node's HTTP client, for reference only
 *   undici   an undici Pool POSTing the same bytes with the same headers as the client, unsigned:
 *            the floor of the transport the client uses, so that the gap above it is the client's own
 *
 * Options: --calls N (20000), --concurrency N (32), --warmup N calls (3000), --passes N (3),
 * --only a,b, --profile (of the first configuration run).
 */
import http from 'node:http';
import { Session } from 'node:inspector/promises';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Pool } from 'undici';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import type { Group } from '../proxy/config/config.js';
import { InvokeClient } from '../proxy/backends/lambda-client.js';
import { LambdaBackend } from '../proxy/backends/lambda.js';
import type { UpstreamRequest } from '../proxy/backends/upstream.js';
import { Children } from './lib/children.js';
import { count } from './lib/options.js';
import { summarizeProfile } from './lib/profile.js';
import { median } from './lib/stats.js';

const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));
const REGION = 'us-east-1';
const FUNCTION = 'catalog';
const TIMEOUT_MS = 10_000;
const PROFILE_TOP = 25;

/** A GET as the proxy hands it to the backend: the headers a browser-like caller sends. */
const REQUEST: UpstreamRequest = {
  method: 'GET',
  url: '/products/1?include=category',
  headers: {
    host: 'shop.example.com',
    'user-agent': 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36',
    accept: 'application/vnd.api+json',
    'accept-encoding': 'gzip, deflate, br',
    'accept-language': 'en-GB,en;q=0.9',
    'x-customer-id': 'c-000123',
    'x-request-id': 'bench-0000000000000001',
  },
  httpVersion: '1.1',
  sourceIp: '127.0.0.1',
  body: Buffer.alloc(0),
  requestId: 'bench-0000000000000001',
  group: 'catalog',
  match: { route: { method: 'GET', template: '/products/{id}', group: 'catalog', key: 'GET /products/{id}', conversion: undefined }, params: { id: '1' } },
  timeoutMs: TIMEOUT_MS,
};

/** One call of a configuration; it throws when the answer is not the function's 200. */
type Call = () => Promise<void>;

interface Configuration {
  readonly id: string;
  readonly label: string;
  /** Makes the caller (its client and sockets), and how to let it go. */
  make(endpoint: URL, payload: Buffer): { call: Call; close(): void };
}

const CONFIGURATIONS: readonly Configuration[] = [
  {
    id: 'backend',
    label: 'LambdaBackend.invoke',
    make(endpoint) {
      const group = { name: 'catalog', function: FUNCTION } as Group;
      const backend = new LambdaBackend({ region: REGION, endpoint }, [group]);
      return {
        async call() {
          const answer = await backend.invoke(REQUEST);
          if (answer.failure || answer.observation.status !== 200) throw new Error(`backend: ${JSON.stringify(answer.failure)}`);
        },
        close: () => backend.close(),
      };
    },
  },
  {
    id: 'client',
    label: 'InvokeClient.send',
    make(endpoint, payload) {
      const client = new InvokeClient({ region: REGION, endpoint });
      return {
        async call() {
          const output = await client.send(FUNCTION, payload, TIMEOUT_MS);
          if (output.StatusCode !== 200 || output.FunctionError) throw new Error(`client: ${output.StatusCode} ${output.FunctionError}`);
        },
        close: () => client.destroy(),
      };
    },
  },
  {
    id: 'sdk',
    label: 'stock LambdaClient (reference)',
    make(endpoint, payload) {
      const client = new LambdaClient({ region: REGION, endpoint: endpoint.href, credentials: { accessKeyId: 'local', secretAccessKey: 'local' }, maxAttempts: 1 });
      return {
        async call() {
          const output = await client.send(new InvokeCommand({ FunctionName: FUNCTION, Payload: payload }));
          if (output.StatusCode !== 200 || output.FunctionError) throw new Error(`sdk: ${output.StatusCode} ${output.FunctionError}`);
        },
        close: () => client.destroy(),
      };
    },
  },
  {
    id: 'http',
    label: 'node:http, no SDK (floor)',
    make(endpoint, payload) {
      const agent = new http.Agent({ keepAlive: true, maxSockets: 512 });
      const options = {
        agent, method: 'POST', host: endpoint.hostname, port: endpoint.port, path: `/2015-03-31/functions/${FUNCTION}/invocations`,
        headers: { 'content-type': 'application/octet-stream', 'content-length': payload.length },
      };
      return {
        call: () => new Promise<void>((resolve, reject) => {
          http.request(options, (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (chunk: Buffer) => chunks.push(chunk)).on('end', () => {
              if (res.statusCode === 200 && Buffer.concat(chunks).length > 0) resolve();
              else reject(new Error(`http: ${res.statusCode}`));
            }).on('error', reject);
          }).on('error', reject).end(payload);
        }),
        close: () => agent.destroy(),
      };
    },
  },
  {
    id: 'undici',
    label: 'undici Pool, unsigned (floor)',
    make(endpoint, payload) {
      const pool = new Pool(endpoint.origin, { connections: 512 });
      const headers = {
        'content-type': 'application/octet-stream', 'content-length': String(payload.length), 'user-agent': 'cutover/bench',
        'x-amz-date': '20261206T000000Z', 'x-amz-content-sha256': '0'.repeat(64), host: endpoint.host,
        authorization: `AWS4-HMAC-SHA256 Credential=local/20261206/${REGION}/lambda/aws4_request, SignedHeaders=content-length;content-type;host;x-amz-content-sha256;x-amz-date, Signature=${'0'.repeat(64)}`,
      };
      const path = `/2015-03-31/functions/${FUNCTION}/invocations`;
      return {
        async call() {
          const { statusCode, body } = await pool.request({ method: 'POST', path, headers, body: payload });
          const answer = await body.arrayBuffer();
          if (statusCode !== 200 || answer.byteLength === 0) throw new Error(`undici: ${statusCode}`);
        },
        close: () => { pool.destroy().catch(() => undefined); },
      };
    },
  },
];

/** Runs `count` calls with `concurrency` in flight; the first failure fails the run. */
async function drive(call: Call, count: number, concurrency: number): Promise<void> {
  let started = 0;
  const lane = async () => {
    while (started < count) {
      started += 1;
      await call();
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, lane));
}

/** CPU microseconds (user + system) of this process per call, over `count` calls. */
async function cpuPerCall(call: Call, count: number, concurrency: number): Promise<number> {
  const before = process.cpuUsage();
  await drive(call, count, concurrency);
  const used = process.cpuUsage(before);
  return (used.user + used.system) / count;
}

async function profiled(call: Call, count: number, concurrency: number, label: string): Promise<void> {
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
  await drive(call, count, concurrency);
  const { profile } = await session.post('Profiler.stop');
  session.disconnect();
  // Kept for a closer look (Chrome DevTools opens it).
  const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'cutover-invoke-')), 'invoke.cpuprofile');
  writeFileSync(file, JSON.stringify(profile));
  const summary = summarizeProfile(file, REPO_ROOT, PROFILE_TOP);
  const busyMs = summary.sampledMs - summary.idleMs;
  // The profiler samples wall time: time the thread spent preempted inside a system call (writev,
  // which wakes the Lambda host on this machine's two cores) counts there, on top of CPU time.
  console.log(`\nCPU profile of ${label} (${file}), ${count} calls: ${Math.round(busyMs)} ms busy (${Math.round((busyMs * 1000) / count)} µs a call, profiler and preemption included); top self time:`);
  for (const entry of summary.top) console.log(`${((entry.selfMs * 1000) / count).toFixed(1).padStart(7)} µs ${(entry.share * 100).toFixed(1).padStart(5)} %  ${entry.where}`);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      calls: { type: 'string', default: '20000' },
      concurrency: { type: 'string', default: '32' },
      warmup: { type: 'string', default: '3000' },
      passes: { type: 'string', default: '3' },
      only: { type: 'string' },
      profile: { type: 'boolean', default: false },
    },
  });
  const calls = count(values.calls, 'calls');
  const concurrency = count(values.concurrency, 'concurrency');
  const warmup = count(values.warmup, 'warmup', true);
  const passes = count(values.passes, 'passes');
  const wanted = values.only?.split(',');
  const configurations = wanted ? CONFIGURATIONS.filter((configuration) => wanted.includes(configuration.id)) : CONFIGURATIONS;
  if (configurations.length === 0) throw new Error(`--only names none of ${CONFIGURATIONS.map((configuration) => configuration.id).join(', ')}`);

  const children = new Children();
  try {
    const host = await children.start('lambda host', process.execPath, ['--import', 'tsx', 'bench/lambda-upstream.ts'], { cwd: REPO_ROOT, ready: /listening (\S+)/ });
    const endpoint = new URL(host.ready[1] as string);
    // The event LambdaBackend sends for REQUEST, about 1 KB: the clients below send the same size.
    const payload = Buffer.from(JSON.stringify({ version: '2.0', routeKey: 'GET /products/{id}', rawPath: '/products/1', headers: REQUEST.headers, padding: 'x'.repeat(400) }));
    const callers = configurations.map((configuration) => ({ configuration, ...configuration.make(endpoint, payload) }));
    try {
      for (const { call } of callers) await drive(call, warmup, concurrency);
      const figures = new Map<string, number[]>(callers.map(({ configuration }) => [configuration.id, []]));
      // Passes alternate between configurations, so that a busy moment on the machine is shared.
      for (let pass = 0; pass < passes; pass += 1) {
        for (const { configuration, call } of callers) figures.get(configuration.id)?.push(await cpuPerCall(call, calls, concurrency));
      }
      console.log(`${calls} calls a pass, ${concurrency} in flight, ${warmup} calls of warm-up, ${passes} passes; CPU of this process per call (process.cpuUsage), median:`);
      for (const { configuration } of callers) {
        const micros = figures.get(configuration.id) ?? [];
        console.log(`${configuration.id.padEnd(8)} ${configuration.label.padEnd(32)} ${median(micros).toFixed(0).padStart(5)} µs/invoke  (passes: ${micros.map((value) => value.toFixed(0)).join(', ')})`);
      }
      const first = callers[0];
      if (values.profile && first) await profiled(first.call, calls, concurrency, first.configuration.label);
    } finally {
      for (const { close } of callers) close();
    }
  } finally {
    await children.stopAll();
  }
}

await main();
