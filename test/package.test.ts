import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import http, { type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { writeDatafile } from './support/datafile.js';
import { until } from './support/until.js';

/**
 * What the image does, without Docker: the package as `npm pack` makes it, installed with
 * `--omit=dev` into an empty folder, started with `cutover start`. It proves that nothing a
 * developer has (dev dependencies, the sources, tsx) is needed at run time, that nothing is
 * compiled at start, and that other projects can import `cutover/decide` on plain Node.
 */
const files = (dir: string) => readdirSync(dir, { recursive: true }) as string[];

describe('the packed package, installed with --omit=dev', function () {
  this.timeout(180_000);
  let dir: string;
  let app: string;
  let legacy: Server;
  let config: string;
  let installed: string;

  function npm(args: string[], cwd: string): string {
    const run = spawnSync('npm', [...args, '--no-audit', '--no-fund', '--loglevel=error'], { cwd, encoding: 'utf8', timeout: 150_000 });
    assert.equal(run.status, 0, `npm ${args.join(' ')}:\n${run.stdout}\n${run.stderr}`);
    return run.stdout;
  }

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'cutover-package-'));
    // npm pack runs `prepare`, which builds dist/ only when it is stale.
    const packed = JSON.parse(npm(['pack', '--json', '--pack-destination', dir], process.cwd())) as Array<{ filename: string }>;
    app = path.join(dir, 'app');
    mkdirSync(app);
    writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
    npm(['install', '--omit=dev', '--prefer-offline', path.join(dir, packed[0]?.filename ?? '')], app);
    installed = path.join(app, 'node_modules', 'cutover');

    legacy = http.createServer((request, response) => {
      response.setHeader('content-type', 'application/json');
      response.end(JSON.stringify({ servedBy: 'legacy', url: request.url }));
    });
    legacy.listen(0, '127.0.0.1');
    await once(legacy, 'listening');
    const datafile = writeDatafile(path.join(dir, 'datafile.json'), [{ key: 'catalog_flag', everyoneElse: 'shadow' }]);
    config = path.join(dir, 'cutover.json');
    writeFileSync(config, JSON.stringify({
      traffic: { host: '127.0.0.1', port: 0 },
      admin: { host: '127.0.0.1', port: 0 },
      legacy: { url: `http://127.0.0.1:${(legacy.address() as AddressInfo).port}` },
      lambda: { endpoint: 'http://127.0.0.1:1' },
      flags: { datafile },
      caller: { header: 'x-customer-id' },
      groups: { catalog: { flag: 'catalog_flag', function: 'catalog', routes: ['GET /products'] } },
      // Overrides count as stale long before embedded Postgres has opened: the proxy must tell a
      // store that is still opening from one that does not answer.
      store: { overrides: { staleAfterMs: 100 } },
    }));
  });

  after(() => {
    legacy?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('is not rebuilt by npm\'s prepare (which npx and npm install run) while dist/ is current: a running proxy keeps its files', () => {
    // before() packed the package, and npm pack ran prepare, so dist/ is current now.
    const times = () => (readdirSync('dist', { recursive: true }) as string[]).map((file) => `${file} ${statSync(path.join('dist', file)).mtimeMs}`).sort();
    const built = times();
    const run = spawnSync('npm', ['run', 'prepare'], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stderr, /dist\/ is current, nothing to build/);
    assert.deepEqual(times(), built);
  });

  it('holds the build and no sources, and installs no dev dependency', () => {
    assert.ok(files(installed).includes(path.join('dist', 'proxy', 'cli.js')));
    assert.deepEqual(files(installed).filter((file) => file.endsWith('.ts') && !file.endsWith('.d.ts')), [], 'no TypeScript to compile');
    for (const dev of ['tsx', 'typescript', 'mocha', 'pino-pretty', 'deep-diff', 'http-proxy']) {
      assert.equal(existsSync(path.join(app, 'node_modules', dev)), false, `${dev} is not installed`);
    }
  });

  it('starts with the embedded store, serves a request, and stops when its process group gets SIGTERM: exit 0, no error and no stack in its log', async () => {
    // A process group of its own, signalled as a whole, as Ctrl-C or a supervisor signals it.
    const child = spawn(path.join(app, 'node_modules', '.bin', 'cutover'), ['start', '--config', config], { cwd: app, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    const killer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    let stdout = '', stderr = '';
    child.stderr.setEncoding('utf8').on('data', (text: string) => { stderr += text; });
    try {
      const [traffic, admin] = await new Promise<[string, string]>((resolve, reject) => {
        child.stdout.setEncoding('utf8').on('data', (text: string) => {
          stdout += text;
          const started = /cutover: traffic on (\S+), admin on (\S+)/.exec(stdout);
          if (started) resolve([started[1] as string, started[2] as string]);
        });
        child.once('exit', (code) => reject(new Error(`cutover start exited ${code} before serving:\n${stdout}\n${stderr}`)));
      });
      const response = await fetch(`${traffic}/products?page=2`, { headers: { 'x-customer-id': 'alice' } });
      assert.equal(response.status, 200);
      assert.deepEqual(await response.json(), { servedBy: 'legacy', url: '/products?page=2' });
      // Stopped once started cleanly: the store open and the overrides read.
      await until(async () => (await (await fetch(`${admin}/readyz`)).json() as { status: string }).status === 'ready', 'the proxy ready', 60_000);
      const exited = once(child, 'exit');
      process.kill(-(child.pid as number), 'SIGTERM');
      assert.deepEqual(await exited, [0, null], stderr);
    } finally {
      clearTimeout(killer);
      try {
        process.kill(-(child.pid as number), 'SIGKILL');
      } catch {
        // the group is gone
      }
    }
    assert.doesNotMatch(stderr, /TypeScript sources/, 'the build ran, not the sources');
    const lines = stdout.split('\n').filter((line) => line.startsWith('{')).map((line) => JSON.parse(line) as { level: number; msg: string; stack?: string; err?: unknown });
    assert.ok(lines.some((line) => line.msg === 'request'), `the request was logged:\n${stdout}`);
    const loud = lines.filter((line) => line.level >= 50 || JSON.stringify(line).includes('"stack"'));
    assert.deepEqual(loud, [], 'a clean start and stop logs no error and no stack');
    assert.doesNotMatch(stderr, /\n\s+at /, 'no stack on stderr');
  });

  it('is what the Dockerfile\'s final stage holds and runs: runtime dependencies, dist/ and bin/, node on the built entry point, as a non-root user, checked on /readyz', () => {
    const dockerfile = readFileSync('Dockerfile', 'utf8');
    const stages = dockerfile.split(/^FROM /m).slice(1);
    assert.equal(stages.length, 2, 'a build stage and the final one');
    const [build, final] = stages as [string, string];
    assert.match(build, /^RUN npm ci\b/m);
    assert.match(build, /^RUN npm run build$/m);
    assert.match(final, /^RUN npm ci --omit=dev\b/m);
    assert.deepEqual([...final.matchAll(/^COPY --from=build \/src\/(\S+)/gm)].map((match) => match[1]), ['bin', 'dist']);
    assert.match(final, /^USER node$/m);
    assert.match(final, /^HEALTHCHECK .*\n?.*http:\/\/127\.0\.0\.1:9901\/readyz/m);
    assert.match(final, /^ENTRYPOINT \["node", "dist\/proxy\/cli\.js"\]$/m);
    assert.doesNotMatch(final, /tsx|npx|npm run build|npm start/, 'nothing builds or compiles at start');
    // The runtime dependencies the image installs are the package's, which the tests above start.
    assert.ok(files(installed).includes(path.join('bin', 'cutover.js')));
  });

  it('lets another project import cutover/decide on plain Node, with its types', () => {
    const script = `const { openDecider } = await import('cutover/decide');
      const decider = await openDecider({ config: ${JSON.stringify(config)} });
      console.log(JSON.stringify(decider.decide('catalog', 'alice')));
      await decider.close();`;
    const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd: app, encoding: 'utf8', timeout: 30_000 });
    assert.equal(run.status, 0, run.stderr);
    // The decider logs to stdout too (the datafile it applied, as a JSON line): the decision is the line with a caller.
    const lines = run.stdout.trim().split('\n').map((line) => JSON.parse(line) as { stage?: string; caller?: string; msg?: string });
    const decisions = lines.filter((line) => line.caller === 'alice');
    assert.equal(decisions.length, 1, run.stdout);
    assert.equal(decisions[0]?.stage, 'shadow');
    assert.ok(lines.some((line) => line.msg?.startsWith('flags: datafile revision ')), run.stdout);

    writeFileSync(path.join(app, 'tsconfig.json'), JSON.stringify({ compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, noEmit: true, skipLibCheck: true }, files: ['use.ts'] }));
    writeFileSync(path.join(app, 'use.ts'), `import { openDecider, type Decider } from 'cutover/decide';
      const decider: Decider = await openDecider({ config: 'cutover.yaml' });
      const stage: string = decider.decide('catalog', 'alice').stage;
      // @ts-expect-error the types are the built ones, so a wrong call is caught
      decider.decide(1);
      export { stage };`);
    const tsc = spawnSync(process.execPath, [path.resolve('node_modules/typescript/bin/tsc'), '-p', app], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(tsc.status, 0, tsc.stdout + tsc.stderr);
  });
});
