import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ConfigError, loadConfig, parseConfig } from '../proxy/config/config.js';

const minimal = () => ({
  legacy: { url: 'http://127.0.0.1:4001' },
  flags: { datafile: 'datafile.json' },
  groups: { catalog: { flag: 'catalog_migration', function: 'catalog', routes: ['GET /products', 'GET /products/{id}'] } },
});

function rejection(document: unknown): string {
  try {
    parseConfig(document, '/etc/cutover', {});
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${String(error)}`);
    assert.doesNotMatch(error.message, /\n/, 'the message is one line');
    return error.message;
  }
  assert.fail('the configuration was accepted');
}

describe('configuration', () => {
  it('fills in the documented defaults and resolves the datafile next to the config', () => {
    const config = parseConfig(minimal(), '/etc/cutover', {});
    assert.deepEqual(config.traffic, { host: '0.0.0.0', port: 8080, drainMs: 1000, trustForwarded: false, bodyIdleMs: 15_000 });
    assert.deepEqual({ ...config.legacy, url: undefined }, { url: undefined, timeoutMs: 10_000, idleTimeoutMs: 30_000, ca: undefined, keepAliveMs: 4_000, connections: 512, bufferBodyBytes: 64 * 1024, streamedShare: 0.5 });
    assert.deepEqual(config.routing, { caseSensitive: true, trailingSlash: 'strict' });
    assert.deepEqual(config.log, { level: 'info' });
    assert.deepEqual({ host: config.admin.host, port: config.admin.port, token: config.admin.token }, { host: '127.0.0.1', port: 9901, token: undefined });
    assert.deepEqual(config.flags.source, { kind: 'file', path: '/etc/cutover/datafile.json', watchIntervalMs: 1000 });
    assert.equal(config.caller.cookie, 'cutover_caller');
    assert.deepEqual(config.groups[0]?.routes.map((route) => route.key), ['GET /products', 'GET /products/{id}']);
    assert.deepEqual(config.memory, { heapGrowthPercent: 0 });
  });

  it('keeps the guard off by default with its documented thresholds, and never lets it roll forward', () => {
    const config = parseConfig(minimal(), '/', {});
    assert.deepEqual(config.groups[0]?.guard, {
      enabled: false, windowMs: 60_000, minSamples: 100, maxErrorRateIncrease: 0.05, maxMismatchRate: 0.05, rollbackTo: 'shadow',
      latency: { maxIncrease: 0.5, confidence: 0.98, minSamples: 100 },
    });
    assert.deepEqual(config.store.overrides, { rereadMs: 1_000, staleAfterMs: 5_000, startWaitMs: 2_000 });
    const guarded = (guard: unknown) => ({ ...minimal(), groups: { catalog: { ...minimal().groups.catalog, guard } } });
    assert.match(rejection(guarded({ enabled: true, rollbackTo: 'live' })), /^groups\.catalog\.guard\.rollbackTo: /);
    assert.equal(loadConfig('demo/cutover.yaml', {}).groups.every((group) => group.guard.enabled), true, 'on in the demo');
  });

  it('reads the old name mirror: as shadow: for one release, saying the new key, and refuses both at once', () => {
    const old = parseConfig({ ...minimal(), mirror: { maxInFlight: 3 } }, '/', {});
    assert.deepEqual(old.shadow, { maxInFlight: 3, captureBytes: 1024 * 1024 });
    assert.equal(old.deprecations.length, 1);
    assert.match(old.deprecations[0] ?? '', /mirror\.maxInFlight is shadow\.maxInFlight/);
    const current = parseConfig({ ...minimal(), shadow: { maxInFlight: 3 } }, '/', {});
    assert.deepEqual([current.shadow.maxInFlight, current.deprecations], [3, []]);
    assert.deepEqual(parseConfig(minimal(), '/', {}).shadow, { maxInFlight: 64, captureBytes: 1024 * 1024 }, 'the defaults without either');
    assert.match(rejection({ ...minimal(), mirror: { maxInFlight: 3 }, shadow: { maxInFlight: 4 } }), /^mirror: is the old name of shadow:, and both are set/);
  });

  it('takes the admin token from CUTOVER_ADMIN_TOKEN over the file', () => {
    const config = parseConfig({ ...minimal(), admin: { token: 'from-the-file-0123456789' } }, '/', { CUTOVER_ADMIN_TOKEN: 'from-the-environment-0123' });
    assert.equal(config.admin.token, 'from-the-environment-0123');
  });

  it('reads the webhook secret from the environment variable flags.webhookSecretEnv names, and refuses one unset or short', () => {
    const named = (env: NodeJS.ProcessEnv) => parseConfig({ ...minimal(), flags: { ...minimal().flags, webhookSecretEnv: 'OPTIMIZELY_WEBHOOK_SECRET' } }, '/', env);
    assert.equal(named({ OPTIMIZELY_WEBHOOK_SECRET: 'whsec-0123456789abcdef' }).flags.webhookSecret, 'whsec-0123456789abcdef');
    assert.equal(parseConfig(minimal(), '/', { OPTIMIZELY_WEBHOOK_SECRET: 'whsec-0123456789abcdef' }).flags.webhookSecret, undefined, 'only when named');
    assert.throws(() => named({}), ConfigError);
    assert.throws(() => named({}), { message: 'flags.webhookSecretEnv: the environment variable OPTIMIZELY_WEBHOOK_SECRET is not set' });
    assert.throws(() => named({ OPTIMIZELY_WEBHOOK_SECRET: '' }), /OPTIMIZELY_WEBHOOK_SECRET is not set/);
    assert.throws(() => named({ OPTIMIZELY_WEBHOOK_SECRET: 'short' }), /OPTIMIZELY_WEBHOOK_SECRET holds fewer than 16 characters/);
    assert.match(rejection({ ...minimal(), flags: { ...minimal().flags, webhookSecretEnv: 'not a name' } }), /flags\.webhookSecretEnv: the name of an environment variable/);
  });

  const cases: Array<[string, (doc: ReturnType<typeof minimal> & Record<string, unknown>) => unknown, RegExp]> = [
    ['an unknown key', (doc) => ({ ...doc, tarffic: { port: 1 } }), /tarffic/],
    ['an unknown nested key', (doc) => ({ ...doc, legacy: { url: 'http://x', timeout: 5 } }), /legacy.*timeout/],
    ['a wrong type', (doc) => ({ ...doc, traffic: { port: '8080' } }), /traffic\.port: .*number/],
    ['a missing required value', (doc) => ({ ...doc, legacy: undefined }), /legacy: .*(object|required)/],
    ['a port out of range', (doc) => ({ ...doc, admin: { port: 70000 } }), /admin\.port/],
    ['a legacy URL that is not http', (doc) => ({ ...doc, legacy: { url: 'ftp://legacy' } }), /legacy\.url/],
    ['a malformed route', (doc) => ({ ...doc, groups: { catalog: { ...doc.groups.catalog, routes: ['FETCH /products'] } } }), /groups\.catalog\.routes\[0\]: expected "METHOD/],
    ['a route owned twice', (doc) => ({ ...doc, groups: { ...doc.groups, orders: { flag: 'f', function: 'orders', routes: ['GET /products'] } } }), /groups\.orders\.routes\[0\]: "GET \/products" is already a route of group catalog/],
    ['no groups', (doc) => ({ ...doc, groups: {} }), /groups: at least one group/],
    ['a short admin token', (doc) => ({ ...doc, admin: { token: 'short' } }), /admin\.token: .*16 characters/],
    ['an unknown trailing-slash mode', (doc) => ({ ...doc, routing: { trailingSlash: 'sometimes' } }), /routing\.trailingSlash/],
    ['an unknown log level', (doc) => ({ ...doc, log: { level: 'loud' } }), /log\.level/],
    ['a heap growth that is not a whole percent', (doc) => ({ ...doc, memory: { heapGrowthPercent: 2.5 } }), /memory\.heapGrowthPercent: a whole number of percent/],
    ['a negative heap growth', (doc) => ({ ...doc, memory: { heapGrowthPercent: -1 } }), /memory\.heapGrowthPercent/],
  ];
  for (const [name, mutate, expected] of cases) {
    it(`rejects ${name} with one line that names the key`, () => {
      assert.match(rejection(mutate(minimal())), expected);
    });
  }

  describe('from a file', () => {
    let dir: string;
    before(() => { dir = mkdtempSync(path.join(tmpdir(), 'cutover-config-')); });
    after(() => rmSync(dir, { recursive: true, force: true }));

    it('names the file when it cannot be read or parsed', () => {
      assert.throws(() => loadConfig(path.join(dir, 'absent.yaml')), (error: Error) => error instanceof ConfigError && /absent\.yaml: cannot read the configuration \(ENOENT\)/.test(error.message));
      const broken = path.join(dir, 'broken.yaml');
      writeFileSync(broken, 'groups: [unclosed');
      assert.throws(() => loadConfig(broken), (error: Error) => error instanceof ConfigError && /broken\.yaml: not valid YAML or JSON: .* at line 1, column 18$/.test(error.message));
    });

    it('loads the example production configuration, its secrets from the environment', () => {
      const env = { CUTOVER_ADMIN_TOKEN: 'a-token-of-sixteen-or-more', CUTOVER_STORE_URL: 'postgres://cutover:secret@db.internal:5432/cutover', CUTOVER_OPTIMIZELY_WEBHOOK_SECRET: 'a-webhook-secret-of-sixteen-or-more' };
      const config = loadConfig('deploy/cutover.production.yaml', env);
      assert.equal(config.admin.token, env.CUTOVER_ADMIN_TOKEN);
      assert.equal(config.flags.webhookSecret, env.CUTOVER_OPTIMIZELY_WEBHOOK_SECRET);
      assert.deepEqual(config.store.location, { kind: 'server', url: env.CUTOVER_STORE_URL });
      assert.equal(config.flags.source.kind, 'polling');
      assert.equal(config.traffic.trustForwarded, true);
      assert.deepEqual(config.groups.map((group) => group.name), ['catalog', 'orders']);
      assert.doesNotMatch(readFileSync('deploy/cutover.production.yaml', 'utf8'), /^\s*(token|url):\s*postgres|^\s*token:/m, 'no secret in the file');
    });

    it('loads the demo configuration', () => {
      const config = loadConfig('demo/cutover.yaml', {});
      assert.equal(config.groups.length > 0, true);
      assert.equal(config.lambda.endpoint?.href, 'http://127.0.0.1:4002/');
    });
  });
});

describe('cutover start', () => {
  let dir: string;
  before(() => { dir = mkdtempSync(path.join(tmpdir(), 'cutover-cli-')); });
  after(() => rmSync(dir, { recursive: true, force: true }));

  function start(config: unknown): { status: number | null; stderr: string } {
    const file = path.join(dir, `config-${Math.random().toString(36).slice(2)}.json`);
    writeFileSync(file, JSON.stringify(config));
    const result = spawnSync(process.execPath, ['--import', 'tsx', 'proxy/cli.ts', 'start', '--config', file], { encoding: 'utf8', timeout: 20_000 });
    return { status: result.status, stderr: result.stderr.split('\n').filter((line) => line.startsWith('cutover:')).join('\n') };
  }

  it('exits 2 with one line for a bad configuration', () => {
    const result = start({ ...minimal(), traffic: { port: 'eighty' } });
    assert.equal(result.status, 2);
    assert.match(result.stderr, /^cutover: .*config-.*\.json: traffic\.port: .*expected number.*$/);
  });

  it('exits 2 with one line for an unreadable datafile', () => {
    const result = start({ ...minimal(), traffic: { host: '127.0.0.1', port: 0 }, admin: { port: 0 }, flags: { datafile: path.join(dir, 'missing.json') } });
    assert.equal(result.status, 2);
    assert.match(result.stderr, /^cutover: .*missing\.json: cannot read the Optimizely datafile \(ENOENT\)$/);
  });

  it('exits 2 with one line for a datafile that is not JSON', () => {
    const datafile = path.join(dir, 'garbage.json');
    writeFileSync(datafile, '{"version": "4", ');
    const result = start({ ...minimal(), traffic: { host: '127.0.0.1', port: 0 }, admin: { port: 0 }, flags: { datafile } });
    assert.equal(result.status, 2);
    assert.match(result.stderr, /^cutover: .*garbage\.json: the Optimizely datafile is not JSON: .*$/);
  });

  it('exits 2 with one line for JSON that Optimizely rejects', () => {
    const datafile = path.join(dir, 'not-a-datafile.json');
    writeFileSync(datafile, '{"hello": "world"}');
    const result = start({ ...minimal(), traffic: { host: '127.0.0.1', port: 0 }, admin: { port: 0 }, flags: { datafile } });
    assert.equal(result.status, 2);
    assert.match(result.stderr, /^cutover: .*not-a-datafile\.json: Optimizely rejected the datafile: .*$/);
  });
});
