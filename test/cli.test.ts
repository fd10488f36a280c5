import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import http from 'node:http';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import net, { type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { writeDatafile } from './support/datafile.js';
import { listen } from './support/servers.js';

interface Run { status: number | null; stdout: string; stderr: string }

/** The real command, as `npx cutover` runs it: package.json's bin. */
const BIN = JSON.parse(readFileSync('package.json', 'utf8')).bin.cutover as string;

function cutover(...args: string[]): Run {
  const result = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 20_000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** Like cutover(), but asynchronous, so that a server of this process can answer it meanwhile. */
async function cutoverAsync(...args: string[]): Promise<Run> {
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '', stderr = '';
  child.stdout.setEncoding('utf8').on('data', (text: string) => { stdout += text; });
  child.stderr.setEncoding('utf8').on('data', (text: string) => { stderr += text; });
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  const [status] = await once(child, 'exit') as [number | null];
  clearTimeout(timer);
  return { status, stdout, stderr };
}

/** One line on stderr and nothing else. */
function oneLine(run: Run): string {
  const lines = run.stderr.split('\n').filter((line) => line !== '');
  assert.equal(lines.length, 1, `one line on stderr, got:\n${run.stderr}`);
  return lines[0] as string;
}

describe('the cutover command', function () {
  this.timeout(60_000);
  let dir: string;
  before(() => { dir = mkdtempSync(path.join(tmpdir(), 'cutover-cli-')); });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('is package.json\'s bin: it runs the build in dist/ while it is current (sources, report page and compiler settings), and the sources through tsx otherwise', () => {
    assert.equal(BIN, 'bin/cutover.js');
    // A package of two stand-in entry points, each printing which one ran, with the real bin and tsx.
    const root = path.join(dir, 'package');
    mkdirSync(path.join(root, 'bin'), { recursive: true });
    mkdirSync(path.join(root, 'proxy'), { recursive: true });
    mkdirSync(path.join(root, 'proxy', 'review', 'page'), { recursive: true });
    mkdirSync(path.join(root, 'compare'), { recursive: true });
    mkdirSync(path.join(root, 'dist', 'proxy'), { recursive: true });
    for (const file of readdirSync('bin')) copyFileSync(path.join('bin', file), path.join(root, 'bin', file));
    symlinkSync(path.resolve('node_modules'), path.join(root, 'node_modules'));
    writeFileSync(path.join(root, 'package.json'), JSON.stringify({ type: 'module' }));
    writeFileSync(path.join(root, 'proxy', 'cli.ts'), "const ran: string = 'sources'; console.log(ran);");
    writeFileSync(path.join(root, 'proxy', 'review', 'page', 'app.js'), '');
    writeFileSync(path.join(root, 'compare', 'index.ts'), 'export {};');
    writeFileSync(path.join(root, 'tsconfig.build.json'), '{}');
    writeFileSync(path.join(root, 'dist', 'proxy', 'cli.js'), "console.log('build');");
    const ran = () => spawnSync(process.execPath, [path.join(root, 'bin', 'cutover.js')], { encoding: 'utf8', timeout: 20_000 }).stdout.trim();
    const at = (file: string, seconds: number) => utimesSync(path.join(root, file), seconds, seconds);

    const sources = ['proxy/cli.ts', 'proxy/review/page/app.js', 'compare/index.ts', 'tsconfig.build.json'];
    for (const edited of sources) {
      for (const file of sources) at(file, 1_000);
      at('dist/proxy/cli.js', 2_000);
      assert.equal(ran(), 'build');
      at(edited, 3_000);
      assert.equal(ran(), 'sources', `${edited} edited after the build`);
    }
    rmSync(path.join(root, 'dist'), { recursive: true });
    assert.equal(ran(), 'sources', 'no build');
  });

  it('diffs two observations with exit 0 on match, 1 on mismatch, 2 on unusable input', () => {
    const legacy = path.join(dir, 'legacy.json');
    const candidate = path.join(dir, 'new.json');
    const rules = path.join(dir, 'rules.json');
    writeFileSync(legacy, JSON.stringify({ status: 200, headers: { 'content-type': 'application/json' }, body: { price: 12.5, at: '2024-01-01T10:00:00.000Z' } }));
    writeFileSync(candidate, JSON.stringify({ status: 200, headers: { 'content-type': 'application/json' }, body: { price: 12.5, at: '2024-01-01T10:00:00Z' } }));
    writeFileSync(rules, JSON.stringify({ timestamps: 'instant' }));

    const mismatch = cutover('diff', legacy, candidate);
    assert.equal(mismatch.status, 1);
    assert.deepEqual(JSON.parse(mismatch.stdout), { verdict: 'mismatch', differences: [{ path: '/at', kind: 'changed', legacy: '2024-01-01T10:00:00.000Z', new: '2024-01-01T10:00:00Z' }] });

    const match = cutover('diff', '--rules', rules, legacy, candidate);
    assert.equal(match.status, 0);
    assert.deepEqual(JSON.parse(match.stdout), { verdict: 'match', differences: [] });

    const unusable = cutover('diff', legacy, path.join(dir, 'absent.json'));
    assert.equal(unusable.status, 2);
    assert.match(oneLine(unusable), /^cutover diff: .*absent\.json.*$/);
  });

  it('hides, with the demo\'s catalog rules, the stock that orders change between the two reads, and nothing else of a product', () => {
    const product = (inStock: number, price: number) => ({ type: 'products', id: '1001', attributes: { sku: 'DOG-1', price, currency: 'EUR', inStock } });
    const observe = (file: string, data: unknown) => {
      writeFileSync(path.join(dir, file), JSON.stringify({ status: 200, headers: { 'content-type': 'application/vnd.api+json' }, body: { data } }));
      return path.join(dir, file);
    };
    const diffed = (legacy: unknown, candidate: unknown) => cutover('diff', '--rules', 'demo/rules/catalog.json', observe('legacy.json', legacy), observe('new.json', candidate));
    assert.equal(diffed(product(7, 12.5), product(6, 12.5)).status, 0, 'one product, an order placed between the reads');
    assert.equal(diffed([product(7, 12.5)], [product(6, 12.5)]).status, 0, 'a list of products');
    const priced = diffed([product(7, 12.5)], [product(7, 13.5)]);
    assert.equal(priced.status, 1, 'a price that differs is still a mismatch');
    assert.deepEqual((JSON.parse(priced.stdout) as { differences: Array<{ path: string }> }).differences.map((difference) => difference.path), ['/data/0/attributes/price']);
  });

  it('checks the demo flags', () => {
    const check = cutover('flags', 'check', '--config', 'demo/cutover.yaml');
    assert.equal(check.status, 0, check.stderr);
    assert.match(check.stdout, /2 group\(s\) sound/);
  });

  it('reads the configuration CUTOVER_CONFIG names when --config is not given', () => {
    const run = spawnSync(process.execPath, [BIN, 'flags', 'check'], { encoding: 'utf8', timeout: 20_000, env: { ...process.env, CUTOVER_CONFIG: 'demo/cutover.yaml' } });
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, /2 group\(s\) sound/);
  });

  it('answers --help on every command and subcommand with its options and examples, exit 0', () => {
    const expected: Array<[string[], RegExp[]]> = [
      [['--help'], [/Usage: cutover \[options\] \[command\]/, /start/, /flags/, /diff/, /--version/]],
      [['start', '--help'], [/Usage: cutover start/, /--config <file>/, /default: "cutover\.yaml"/]],
      [['flags', '--help'], [/Usage: cutover flags/, /check/]],
      [['flags', 'check', '--help'], [/Usage: cutover flags check/, /--config <file>/, /--datafile <file>/]],
      [['diff', '--help'], [/Usage: cutover diff \[options\] <legacy> <new>/, /--rules <file>/, /Exit code 0 on match, 1 on mismatch, 2/]],
      [['help', 'diff'], [/Usage: cutover diff/]],
    ];
    for (const [args, patterns] of expected) {
      const run = cutover(...args);
      assert.equal(run.status, 0, `${args.join(' ')}: ${run.stderr}`);
      for (const pattern of [...patterns, /Examples:\n {2}\S/]) assert.match(run.stdout, pattern, args.join(' '));
      assert.equal(run.stderr, '');
    }
  });

  it('prints its version', () => {
    const run = cutover('--version');
    assert.equal(run.status, 0);
    assert.equal(run.stdout.trim(), JSON.parse(readFileSync('package.json', 'utf8')).version);
  });

  it('says what is wrong in one line with exit 2: an unknown command, option or missing argument', () => {
    const cases: Array<[string[], RegExp]> = [
      [['launch'], /^cutover: unknown command 'launch' \(see cutover --help\)$/],
      [['start', '--bogus'], /^cutover: unknown option '--bogus' \(see cutover start --help\)$/],
      [['flags', 'check', '--bogus'], /^cutover: unknown option '--bogus' \(see cutover flags check --help\)$/],
      [['diff', 'only-one.json'], /^cutover: missing required argument 'new' \(see cutover diff --help\)$/],
      [['diff', '--rules'], /^cutover: option '--rules <file>' argument missing \(see cutover diff --help\)$/],
    ];
    for (const [args, pattern] of cases) {
      const run = cutover(...args);
      assert.equal(run.status, 2, args.join(' '));
      assert.match(oneLine(run), pattern);
      assert.equal(run.stdout, '');
    }
  });

  it('shows the subcommands of "flags" when none is given, exit 2', () => {
    const run = cutover('flags');
    assert.equal(run.status, 2);
    assert.match(run.stderr, /Usage: cutover flags/);
    assert.match(run.stderr, /check \[options\]/);
  });

  it('points at --config demo/cutover.yaml when the configuration file is not there', () => {
    const start = cutover('start', '--config', path.join(dir, 'absent.yaml'));
    assert.equal(start.status, 2);
    assert.match(oneLine(start), /^cutover: .*absent\.yaml: no such configuration file; name one with --config FILE \(the demo's: --config demo\/cutover\.yaml\)$/);
    const check = cutover('flags', 'check', '--config', path.join(dir, 'absent.yaml'));
    assert.equal(check.status, 2);
    assert.match(oneLine(check), /--config demo\/cutover\.yaml/);
  });

  it('says in one line, exit 2, that the traffic port is taken, without starting', async () => {
    const busy = net.createServer();
    busy.listen(0, '127.0.0.1');
    await once(busy, 'listening');
    try {
      const port = (busy.address() as AddressInfo).port;
      const datafile = writeDatafile(path.join(dir, 'datafile.json'), [{ key: 'catalog_flag', everyoneElse: 'legacy' }]);
      const config = path.join(dir, 'busy.json');
      writeFileSync(config, JSON.stringify({
        traffic: { host: '127.0.0.1', port },
        admin: { host: '127.0.0.1', port: 0 },
        legacy: { url: `http://127.0.0.1:${port}` },
        flags: { datafile },
        groups: { catalog: { flag: 'catalog_flag', function: 'catalog', routes: ['GET /products'] } },
      }));
      const run = await cutoverAsync('start', '--config', config);
      assert.equal(run.status, 2);
      assert.equal(oneLine(run), `cutover: 127.0.0.1:${port} (traffic) is already in use: stop what listens there, or set traffic.host/traffic.port in ${config}`);
    } finally {
      busy.close();
    }
  });

  it('holds the heap growth memory.heapGrowthPercent names, says so, and drains and exits 0 on SIGTERM', async () => {
    const datafile = writeDatafile(path.join(dir, 'datafile.json'), [{ key: 'catalog_flag', everyoneElse: 'legacy' }]);
    const config = path.join(dir, 'lean.json');
    writeFileSync(config, JSON.stringify({
      traffic: { host: '127.0.0.1', port: 0 },
      admin: { host: '127.0.0.1', port: 0 },
      legacy: { url: 'http://127.0.0.1:1' },
      flags: { datafile },
      store: { enabled: false },
      memory: { heapGrowthPercent: 25 },
      groups: { catalog: { flag: 'catalog_flag', function: 'catalog', routes: ['GET /products'] } },
    }));
    const child = spawn(process.execPath, [BIN, 'start', '--config', config], { stdio: ['ignore', 'pipe', 'pipe'] });
    const killer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    let stdout = '', stderr = '';
    child.stderr.setEncoding('utf8').on('data', (text: string) => { stderr += text; });
    try {
      await new Promise<void>((resolve, reject) => {
        child.stdout.setEncoding('utf8').on('data', (text: string) => {
          stdout += text;
          if (stdout.includes('cutover: traffic on')) resolve();
        });
        child.once('exit', (code) => reject(new Error(`cutover start exited ${code} before serving:\n${stderr}`)));
      });
      assert.match(stderr, /^cutover: the heap grows at most 25 % past its live objects before a full collection \(memory\.heapGrowthPercent\)$/m);
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      assert.deepEqual(await exited, [0, null]);
    } finally {
      clearTimeout(killer);
      child.kill('SIGKILL');
    }
  });

  it('writes the access line of every request answered before SIGTERM to its stdout, at the default log level, before it exits 0', async () => {
    const legacy = await listen((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}'));
    const datafile = writeDatafile(path.join(dir, 'access-datafile.json'), [{ key: 'catalog_flag', everyoneElse: 'legacy' }]);
    const config = path.join(dir, 'access.json');
    writeFileSync(config, JSON.stringify({
      traffic: { host: '127.0.0.1', port: 0, drainMs: 0 },
      admin: { host: '127.0.0.1', port: 0 },
      legacy: { url: legacy.url },
      flags: { datafile },
      store: { enabled: false },
      groups: { catalog: { flag: 'catalog_flag', function: 'catalog', routes: ['GET /products/{id}'] } },
    }));
    const child = spawn(process.execPath, [BIN, 'start', '--config', config], { stdio: ['ignore', 'pipe', 'pipe'] });
    const killer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    let stdout = '', stderr = '';
    child.stderr.setEncoding('utf8').on('data', (text: string) => { stderr += text; });
    const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
    try {
      const trafficUrl = await new Promise<string>((resolve, reject) => {
        child.stdout.setEncoding('utf8').on('data', (text: string) => {
          stdout += text;
          const serving = /cutover: traffic on (\S+),/.exec(stdout);
          if (serving) resolve(serving[1] as string);
        });
        child.once('exit', (code) => reject(new Error(`cutover start exited ${code} before serving:\n${stderr}`)));
      });
      // Fewer bytes of access lines than the log's buffer holds at the end, so the last ones are
      // still in memory at SIGTERM, and more than it holds in all, so that earlier ones were written while serving.
      const ids = Array.from({ length: 300 }, (_, n) => `access-${String(n).padStart(6, '0')}`);
      await Promise.all(ids.map((id) => new Promise<void>((resolve, reject) => {
        http.get(`${trafficUrl}/products/${id}`, { agent, headers: { 'x-request-id': id } }, (res) => {
          res.resume().on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`${id}: ${res.statusCode}`))));
        }).on('error', reject);
      })));
      agent.destroy();
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      assert.deepEqual(await exited, [0, null]);
      const access = stdout.split('\n').filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as { msg: string; requestId?: string; status?: number })
        .filter((line) => line.msg === 'request');
      assert.deepEqual(access.map((line) => line.requestId).sort(), ids);
      assert.ok(access.every((line) => line.status === 200));
    } finally {
      clearTimeout(killer);
      child.kill('SIGKILL');
      agent.destroy();
      await legacy.close();
    }
  });
});

describe('npm run demo:traffic', function () {
  this.timeout(30_000);
  const traffic = (...args: string[]) => {
    const result = spawnSync(process.execPath, ['--import', 'tsx', 'demo/traffic.ts', ...args], { encoding: 'utf8', timeout: 20_000 });
    return { status: result.status, stdout: result.stdout, stderr: result.stderr };
  };

  it('answers --help with its options and examples, exit 0', () => {
    const run = traffic('--help');
    assert.equal(run.status, 0, run.stderr);
    for (const option of ['--url', '--requests', '--callers', '--concurrency', '--seed', 'Examples:']) assert.ok(run.stdout.includes(option), option);
  });

  it('refuses a bad option in one line with exit 2, and says so when no request reached the proxy, exit 1', () => {
    const bad = traffic('--requests', 'many');
    assert.equal(bad.status, 2);
    assert.match(oneLine(bad), /^demo:traffic: option '--requests <n>' argument 'many' is invalid/);
    const nobody = traffic('--requests', '2', '--url', 'http://127.0.0.1:9');
    assert.equal(nobody.status, 1);
    assert.match(nobody.stderr, /no request reached http:\/\/127\.0\.0\.1:9: is the demo stack running \(npm start\)\?/);
  });
});
