import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { DEFAULT_RULES, HEADER_NAME, layerRules, type LatencyTolerance, type NoiseThresholds, parseRuleKeys, parseRules, type PointerPattern, pointerPattern, type Rules, RulesError } from '../../compare/index.js';
import { parseRoute, type Route, type RoutingConfig, RouteSyntaxError } from './route.js';
import { LOG_LEVELS, type LogLevel } from '../telemetry/log.js';
import { CREDENTIAL_HEADERS, foldName, isSecretName } from '../telemetry/secret-names.js';

/** A group of endpoints (a bounded context) that moves between the two sides as one. */
export interface Group {
  readonly name: string;
  /** The Optimizely flag whose variation is the group's stage. */
  readonly flag: string;
  /** The Lambda function that serves the group on the new side. */
  readonly function: string;
  readonly routes: readonly Route[];
  readonly timeoutMs: number;
  /** Whether a failed idempotent request on the new side is answered by legacy instead. */
  readonly fallback: boolean;
  readonly circuit: CircuitConfig;
  readonly shadow: ShadowConfig;
  readonly rules: Rules;
  /** The rules of the routes that have their own, layered over the group's. */
  readonly routeRules: ReadonlyMap<string, Rules>;
  readonly readiness: ReadinessThresholds;
  readonly guard: GuardConfig;
}

/** When the guard rolls a group back on its own (docs/operations.md, "The guard"). */
export interface GuardConfig {
  readonly enabled: boolean;
  /** The sliding window the rates are taken over. */
  readonly windowMs: number;
  /** Fewer new-side answers (or comparisons, for the mismatch rate) in the window never trip. */
  readonly minSamples: number;
  /** The new side's error rate (5xx, failures, fallbacks) above legacy's that trips, a share. */
  readonly maxErrorRateIncrease: number;
  /** The share of the reverse shadow's comparisons (`live`: legacy as the shadow) that are mismatches, noise excluded, that trips. */
  readonly maxMismatchRate: number;
  /** The latency judge's: how much slower the new side may be before it trips, at what confidence; `minSamples` answers a side. */
  readonly latency: LatencyTolerance;
  /** The stage it forces: never one that serves the new side. */
  readonly rollbackTo: 'legacy' | 'shadow';
}

/** The rules a route's comparisons use: its own over the group's, or the group's. */
export function rulesOfRoute(group: Group, routeKey: string): Rules {
  return group.routeRules.get(routeKey) ?? group.rules;
}

/** When a group's evidence says it may move to its next stage (docs/operations.md, "Readiness"). */
export interface ReadinessThresholds {
  /** The evidence window: comparisons older than this are not counted. */
  readonly windowHours: number;
  /** Fewer comparisons in the window is `insufficient_data`. */
  readonly minComparisons: number;
  /** Share of comparisons that are mismatches or errors, at most. */
  readonly maxMismatchRate: number;
  /** How much higher the new side's error rate may be than legacy's, as a share (0.001 = 0.1 points). */
  readonly maxErrorRateIncrease: number;
  /** The latency judge's: how much slower the new side may be, its confidence, and the answers a side needs (compare/latency.ts). */
  readonly latency: LatencyTolerance;
  /** Fewer comparisons on a route with traffic in the window is `insufficient_data`: by default the group's minimum, at most 100. */
  readonly minRouteComparisons: number;
  /** Share of a route's comparisons whose evidence was lost (dropped by the store, shadows skipped for capacity or circuit, timed out), at most. */
  readonly maxLostShare: number;
  /** Routes not judged, each with the reason a reviewer reads beside the verdict. */
  readonly exempt: ReadonlyMap<string, string>;
}

/** Where comparisons are kept as evidence, and what of them (docs/operations.md, "The diff store"). */
export interface StoreConfig {
  readonly location:
    | { readonly kind: 'server'; readonly url: string }
    /** PGlite in a child process of the proxy's, so its memory is not the proxy's; in memory without a data folder. */
    | { readonly kind: 'embedded'; readonly dataDir: string | undefined; readonly port: number }
    | { readonly kind: 'off' };
  /** Percent of matches and of noise kept, so that a reviewer sees what a match looked like; every mismatch and error is kept. */
  readonly sample: { readonly match: number; readonly noise: number };
  /** Each side's body is kept up to this many bytes. */
  readonly bodyBytes: number;
  /** Records wait in a queue bounded by count and by bytes, and are written in batches; a full queue drops them (counted). */
  readonly queue: { readonly max: number; readonly maxBytes: number; readonly batch: number; readonly flushMs: number };
  readonly retention: { readonly maxAgeHours: number; readonly maxRows: number; readonly everyMs: number };
  /**
   * Never stored: these request and response headers, query parameters and form fields (names
   * folded by foldName), and body members, besides what the defaults redact (secret-names.ts)
   * except the names in `keep` (folded too).
   */
  readonly redact: {
    readonly headers: readonly string[];
    readonly query: ReadonlySet<string>;
    readonly pointers: readonly PointerPattern[];
    readonly keep: ReadonlySet<string>;
  };
  /** The caller key is stored as a keyed hash unless this is false. */
  readonly hashCallers: boolean;
  /** How often the shared overrides are read again, and how long without a read makes them stale. */
  readonly overrides: { readonly rereadMs: number; readonly staleAfterMs: number; readonly startWaitMs: number };
}

/** How a group mirrors in `shadow` and `live`. */
export interface ShadowConfig {
  /** Share of eligible requests mirrored when the flag has no `shadowPercent` variable. */
  readonly percent: number;
  /** `dry-run`: writes are mirrored too, marked so that the other side persists nothing. */
  readonly writes: 'off' | 'dry-run';
  readonly timeoutMs: number;
  /** A larger request body is not mirrored (counted as body_too_large). */
  readonly maxBodyBytes: number;
  /** Share of idempotent requests also sent twice to the primary's side, to learn noise (A/A). */
  readonly calibrationPercent: number;
  readonly noise: NoiseThresholds;
}

/** The breaker around a group's new side: open after `failures` in a row, probe after `openMs`. */
export interface CircuitConfig { readonly failures: number; readonly openMs: number }

export interface FlagsConfig {
  readonly source:
    | { readonly kind: 'file'; readonly path: string; readonly watchIntervalMs: number }
    | { readonly kind: 'polling'; readonly sdkKey: string; readonly urlTemplate?: string; readonly intervalMs: number };
  /** A/B events; absent means none are sent. */
  readonly events: { readonly batchSize: number; readonly flushIntervalMs: number } | undefined;
  /** The secret Optimizely signs its webhooks with, read from the environment variable `webhookSecretEnv` names; without it webhooks are refused. */
  readonly webhookSecret: string | undefined;
}

export interface Listen { readonly host: string; readonly port: number }

export interface LegacyConfig {
  readonly url: URL;
  /** From sending the request to the response's headers. */
  readonly timeoutMs: number;
  /** The longest pause allowed inside a response body once its headers came. */
  readonly idleTimeoutMs: number;
  /** PEM certificates to trust for an https legacy URL, besides the system's. */
  readonly ca: string | undefined;
  /** How long an idle connection to legacy is kept for reuse: below legacy's own keep-alive timeout. */
  readonly keepAliveMs: number;
  /** Pooled connections to legacy, at most. */
  readonly connections: number;
  /**
   * How much of a request body is read before a pooled connection is taken for it: a body this
   * size or smaller goes whole, and a larger one only once this much has come, so that a client
   * that pauses its upload holds no connection to legacy until it has sent that much.
   */
  readonly bufferBodyBytes: number;
  /**
   * The share of `connections` that bodies streaming past `bufferBodyBytes` may hold at once: their
   * pace is the client's, so the rest of the pool is kept for everything else.
   */
  readonly streamedShare: number;
}

export interface Config {
  /**
   * `drainMs`: at shutdown, how long connections idle at that moment stay open for a request
   * already on its way. `trustForwarded`: a load balancer in front sets X-Forwarded-*, so they
   * are kept (and For is appended to); otherwise a client's own are replaced. `bodyIdleMs`: the
   * longest pause in a request body; past it the request is answered 408 and any exchange it
   * began with a side is given up.
   */
  readonly traffic: Listen & { readonly drainMs: number; readonly trustForwarded: boolean; readonly bodyIdleMs: number };
  /** Shadow requests in flight at most, over all groups (beyond it they are dropped), and the most of an answer kept to compare. */
  readonly shadow: { readonly maxInFlight: number; readonly captureBytes: number };
  /** `allowedHosts`: the names the admin port answers for besides loopback names and addresses (a DNS rebinding guard). */
  readonly admin: Listen & { readonly token: string | undefined; readonly allowedHosts: readonly string[] };
  readonly legacy: LegacyConfig;
  readonly routing: RoutingConfig;
  readonly log: { readonly level: LogLevel };
  readonly lambda: { readonly region: string; readonly endpoint: URL | undefined };
  readonly flags: FlagsConfig;
  readonly caller: { readonly header: string | undefined; readonly cookie: string };
  readonly groups: readonly Group[];
  readonly store: StoreConfig;
  /**
   * How far V8 lets the old generation grow past what the last full collection kept, in percent;
   * 0 leaves it to V8, which at saturation lets the heap reach several times the live objects.
   */
  readonly memory: { readonly heapGrowthPercent: number };
  /** Keys still read under an old name, each a line saying the new one: logged at start. */
  readonly deprecations: readonly string[];
}

export class ConfigError extends Error {}


const ADMIN_TOKEN_MIN = 16;
/** As for the admin token: a secret shorter than this is a mistake, whatever made it. */
const WEBHOOK_SECRET_MIN = 16;

const port = z.number().int().min(0).max(65535);
const timeoutMs = z.number().int().positive();
const percent = z.number().min(0).max(100);
const share = z.number().min(0).max(1);
const groupName = z.string().regex(/^[a-z][a-z0-9_-]*$/, 'a group name is lower-case letters, digits, "-" and "_"');

const shadowPoolSchema = z.strictObject({ maxInFlight: z.number().int().min(1).default(64), captureBytes: z.number().int().min(1024).default(1024 * 1024) });

const schema = z.strictObject({
  traffic: z.strictObject({ host: z.string().default('0.0.0.0'), port: port.default(8080), drainMs: z.number().int().min(0).default(1_000), trustForwarded: z.boolean().default(false),
    bodyIdleMs: timeoutMs.default(15_000),
  }).prefault({}),
  shadow: shadowPoolSchema.optional(),
  // The old name of `shadow`, read for one more release.
  mirror: shadowPoolSchema.optional(),
  admin: z.strictObject({
    host: z.string().default('127.0.0.1'),
    port: port.default(9901),
    token: z.string().min(ADMIN_TOKEN_MIN, `the admin token needs at least ${ADMIN_TOKEN_MIN} characters`).optional(),
    allowedHosts: z.array(z.string().regex(/^[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*\.?$/, 'a host name, without port (addresses and loopback names are always answered)')).default([]),
  }).prefault({}),
  legacy: z.strictObject({
    url: z.url({ protocol: /^https?$/ }),
    timeoutMs: timeoutMs.default(10_000),
    idleTimeoutMs: timeoutMs.default(30_000),
    ca: z.string().min(1).optional(),
    keepAliveMs: timeoutMs.default(4_000),
    connections: z.number().int().min(1).default(512),
    bufferBodyBytes: z.number().int().min(0).default(64 * 1024),
    streamedShare: z.number().gt(0).max(1).default(0.5),
  }),
  routing: z.strictObject({
    caseSensitive: z.boolean().default(true),
    trailingSlash: z.enum(['strict', 'optional']).default('strict'),
  }).prefault({}),
  log: z.strictObject({ level: z.enum(LOG_LEVELS).default('info') }).prefault({}),
  lambda: z.strictObject({
    region: z.string().default('us-east-1'),
    endpoint: z.url({ protocol: /^https?$/ }).optional(),
  }).prefault({}),
  flags: z.strictObject({
    datafile: z.string().min(1).optional(),
    watchIntervalMs: timeoutMs.default(1_000),
    sdkKey: z.string().min(1).optional(),
    urlTemplate: z.url({ protocol: /^https?$/ }).optional(),
    pollIntervalMs: timeoutMs.default(60_000),
    events: z.strictObject({ batchSize: z.number().int().min(1).default(10), flushIntervalMs: timeoutMs.default(1_000) }).optional(),
    webhookSecretEnv: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'the name of an environment variable').optional(),
  }).refine((flags) => (flags.datafile === undefined) !== (flags.sdkKey === undefined), 'set exactly one of flags.datafile (local file) and flags.sdkKey (polling)'),
  caller: z.strictObject({
    header: z.string().regex(/^[A-Za-z0-9-]+$/, 'a header name').optional(),
    cookie: z.string().regex(/^[A-Za-z0-9_-]+$/, 'a cookie name').default('cutover_caller'),
  }).prefault({}),
  groups: z.record(groupName, z.strictObject({
    flag: z.string().min(1),
    function: z.string().min(1),
    routes: z.array(z.union([z.string(), z.strictObject({
      route: z.string(),
      conversion: z.string().min(1).optional(),
      rules: z.union([z.string().min(1), z.record(z.string(), z.unknown())]).optional(),
      rulesMode: z.enum(['replace', 'add']).default('replace'),
    })])).min(1),
    timeoutMs: timeoutMs.default(10_000),
    fallback: z.boolean().default(true),
    circuit: z.strictObject({ failures: z.number().int().min(1).default(5), openMs: timeoutMs.default(30_000) }).prefault({}),
    shadow: z.strictObject({
      percent: percent.default(100),
      writes: z.enum(['off', 'dry-run']).default('off'),
      timeoutMs: timeoutMs.default(5_000),
      maxBodyBytes: z.number().int().min(0).default(1024 * 1024),
      calibrationPercent: percent.default(0),
      noise: z.strictObject({
        relative: z.number().min(0).default(0.2),
        absolute: z.number().min(0).default(0.0003),
        minSamplesAA: z.number().int().min(1).default(20),
        decayEvery: z.number().int().min(2).default(10_000),
      }).prefault({}),
    }).prefault({}),
    rules: z.union([z.string().min(1), z.record(z.string(), z.unknown())]).optional(),
    readiness: z.strictObject({
      windowHours: z.number().positive().default(24),
      minComparisons: z.number().int().min(1).default(1_000),
      maxMismatchRate: share.default(0.01),
      maxErrorRateIncrease: share.default(0.001),
      // The p99 ratio of two noisy p99s gave way to the latency judge: a configuration that still sets it is told the new keys.
      maxP99Ratio: z.never({ error: 'replaced by the latency judge: set maxLatencyIncrease (a share: 0.2 is 20 % slower; default 0.2), latencyConfidence and minLatencySamples instead' }).optional(),
      maxLatencyIncrease: z.number().positive().default(0.2),
      latencyConfidence: z.number().min(0.5).max(0.9999).default(0.98),
      minLatencySamples: z.number().int().min(2).default(100),
      minRouteComparisons: z.number().int().min(1).optional(),
      maxLostShare: share.default(0.05),
      exempt: z.array(z.strictObject({ route: z.string().min(1), reason: z.string().trim().min(1) })).default([]),
    }).prefault({}),
    guard: z.strictObject({
      enabled: z.boolean().default(false),
      windowMs: timeoutMs.default(60_000),
      minSamples: z.number().int().min(1).default(100),
      maxErrorRateIncrease: share.default(0.05),
      maxMismatchRate: share.default(0.05),
      maxLatencyIncrease: z.number().positive().default(0.5),
      latencyConfidence: z.number().min(0.5).max(0.9999).default(0.98),
      rollbackTo: z.enum(['legacy', 'shadow']).default('shadow'),
    }).prefault({}),
  })).refine((groups) => Object.keys(groups).length > 0, 'at least one group is needed'),
  store: z.strictObject({
    enabled: z.boolean().default(true),
    url: z.string().regex(/^postgres(ql)?:\/\//, 'a postgres:// connection URL').optional(),
    embedded: z.strictObject({ dataDir: z.string().min(1).optional(), port: port.default(0) }).prefault({}),
    sample: z.strictObject({ match: percent.default(1), noise: percent.default(10) }).prefault({}),
    bodyBytes: z.number().int().min(0).default(64 * 1024),
    queue: z.strictObject({
      max: z.number().int().min(1).default(10_000),
      // A 1 GB task runs the proxy at about 500 MB: the queue may take a tenth of it while the store is slow.
      maxBytes: z.number().int().min(1).default(64 * 1024 * 1024),
      batch: z.number().int().min(1).default(200),
      flushMs: timeoutMs.default(500),
    }).prefault({}),
    retention: z.strictObject({ maxAgeHours: z.number().positive().default(168), maxRows: z.number().int().min(1).default(100_000), everyMs: timeoutMs.default(60_000) }).prefault({}),
    redact: z.strictObject({
      headers: z.array(z.string().regex(HEADER_NAME, 'a header name')).default([]),
      query: z.array(z.string().min(1)).default([]),
      pointers: z.array(pointerPattern).default([]),
      // A name the defaults would not redact, kept, is a typo that would otherwise pass unseen.
      keep: z.array(z.string().min(1)
        .refine((name) => !CREDENTIAL_HEADERS.has(name.toLowerCase()), 'a credential header, never stored')
        .refine((name) => isSecretName(foldName(name)), 'not a name the defaults redact (see docs/operations.md, "Redaction")')).default([]),
    }).prefault({}),
    hashCallers: z.boolean().default(true),
    overrides: z.strictObject({
      // Beyond 2 s the promise rests on the notification alone (a PostgreSQL server): said at start.
      rereadMs: timeoutMs.max(600_000).default(1_000),
      staleAfterMs: timeoutMs.default(5_000),
      // A client held longer than a few seconds has given up; past this a matched request gets a 503 to retry.
      startWaitMs: timeoutMs.max(10_000).default(2_000),
    }).prefault({}),
  }).prefault({}),
  memory: z.strictObject({ heapGrowthPercent: z.number().int('a whole number of percent').min(0).max(1_000).default(0) }).prefault({}),
});

function where(issuePath: readonly PropertyKey[]): string {
  return issuePath.reduce<string>((text, key) => (typeof key === 'number' ? `${text}[${key}]` : text ? `${text}.${String(key)}` : String(key)), '') || '(top level)';
}

function readCa(file: string | undefined, baseDir: string): string | undefined {
  if (file === undefined) return undefined;
  const resolved = path.resolve(baseDir, file);
  try {
    return readFileSync(resolved, 'utf8');
  } catch (error) {
    throw new ConfigError(`legacy.ca: cannot read ${resolved}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
}

/** The environment's token passes the same check as the file's, so a weak one cannot slip in that way. */
function adminToken(fromFile: string | undefined, env: NodeJS.ProcessEnv): string | undefined {
  const fromEnv = env.CUTOVER_ADMIN_TOKEN;
  if (fromEnv === undefined || fromEnv === '') return fromFile;
  if (fromEnv.length < ADMIN_TOKEN_MIN) throw new ConfigError(`CUTOVER_ADMIN_TOKEN: the admin token needs at least ${ADMIN_TOKEN_MIN} characters`);
  return fromEnv;
}

/**
 * The webhook secret is named, not written: the file says which environment variable holds it,
 * so that it lives where the deployment keeps secrets. A named variable that is unset is a
 * mistake to say at start, not a webhook that fails later.
 */
function webhookSecret(name: string | undefined, env: NodeJS.ProcessEnv): string | undefined {
  if (name === undefined) return undefined;
  const secret = env[name];
  if (secret === undefined || secret === '') throw new ConfigError(`flags.webhookSecretEnv: the environment variable ${name} is not set`);
  if (secret.length < WEBHOOK_SECRET_MIN) throw new ConfigError(`flags.webhookSecretEnv: ${name} holds fewer than ${WEBHOOK_SECRET_MIN} characters, too few for a webhook secret`);
  return secret;
}

/** A rules document: inline, or a JSON file named relative to the configuration; `key` names it in messages. */
function rulesDocument(key: string, rules: string | Record<string, unknown>, baseDir: string): unknown {
  if (typeof rules !== 'string') return rules;
  const file = path.resolve(baseDir, rules);
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new ConfigError(`${key}: cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
}

function parsedRules<T>(key: string, parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    if (error instanceof RulesError) throw new ConfigError(`${key}: ${error.message}`);
    throw error;
  }
}

/** A group's guard, its latency keys as the judge takes them: the guard's minimum of samples is a side's. */
function guardOf({ maxLatencyIncrease, latencyConfidence, ...guard }: z.output<typeof schema>['groups'][string]['guard']): GuardConfig {
  return { ...guard, latency: { maxIncrease: maxLatencyIncrease, confidence: latencyConfidence, minSamples: guard.minSamples } };
}

/** A group's readiness thresholds, its exemptions checked against its routes: an exemption of no route would hide nothing, silently. */
function readinessOf(name: string, readiness: z.output<typeof schema>['groups'][string]['readiness'], routes: readonly Route[]): ReadinessThresholds {
  const exempt = new Map<string, string>();
  for (const [index, { route, reason }] of readiness.exempt.entries()) {
    const key = route.trim().split(/\s+/).join(' ');
    if (!routes.some((owned) => owned.key === key)) throw new ConfigError(`groups.${name}.readiness.exempt[${index}].route: ${route} is not a route of group ${name}`);
    exempt.set(key, reason);
  }
  const { minRouteComparisons, maxLatencyIncrease, latencyConfidence, minLatencySamples, ...thresholds } = readiness;
  return {
    ...thresholds,
    minRouteComparisons: minRouteComparisons ?? Math.min(readiness.minComparisons, 100),
    latency: { maxIncrease: maxLatencyIncrease, confidence: latencyConfidence, minSamples: minLatencySamples },
    exempt,
  };
}

function parseGroups(groups: z.output<typeof schema>['groups'], baseDir: string): Group[] {
  const owners = new Map<string, string>();
  return Object.entries(groups).map(([name, group]) => {
    const key = `groups.${name}.rules`;
    const rules = group.rules === undefined ? DEFAULT_RULES : parsedRules(key, () => parseRules(rulesDocument(key, group.rules as string | Record<string, unknown>, baseDir)));
    const routeRules = new Map<string, Rules>();
    const routes = group.routes.map((entry, index) => {
      const spec = typeof entry === 'string' ? { route: entry, conversion: undefined, rules: undefined, rulesMode: 'replace' as const } : entry;
      let route: Route;
      try {
        route = parseRoute(spec.route, name, spec.conversion);
      } catch (error) {
        if (error instanceof RouteSyntaxError) throw new ConfigError(`groups.${name}.routes[${index}]: ${error.message}`);
        throw error;
      }
      const owner = owners.get(route.key);
      if (owner) throw new ConfigError(`groups.${name}.routes[${index}]: "${route.key}" is already a route of group ${owner}`);
      owners.set(route.key, name);
      if (spec.rules !== undefined) {
        const routeKey = `groups.${name}.routes[${index}].rules`;
        const own = parsedRules(routeKey, () => parseRuleKeys(rulesDocument(routeKey, spec.rules as string | Record<string, unknown>, baseDir)));
        routeRules.set(route.key, layerRules(rules, own, spec.rulesMode));
      }
      return route;
    });
    return {
      name,
      flag: group.flag,
      function: group.function,
      timeoutMs: group.timeoutMs,
      fallback: group.fallback,
      circuit: group.circuit,
      shadow: group.shadow,
      rules,
      routeRules,
      readiness: readinessOf(name, group.readiness, routes),
      guard: guardOf(group.guard),
      routes,
    };
  });
}

/** Validates a parsed configuration document; relative file names resolve against `baseDir`. */
export function parseConfig(document: unknown, baseDir: string, env: NodeJS.ProcessEnv = process.env): Config {
  const result = schema.safeParse(document);
  if (!result.success) {
    const issue = result.error.issues[0];
    throw new ConfigError(issue ? `${where(issue.path)}: ${issue.message}` : 'invalid configuration');
  }
  const raw = result.data;
  if (raw.mirror && raw.shadow) throw new ConfigError('mirror: is the old name of shadow:, and both are set; keep shadow: alone');
  return {
    traffic: raw.traffic,
    shadow: raw.shadow ?? raw.mirror ?? shadowPoolSchema.parse({}),
    // The name it is bound to is one of its own (an address is answered anyway).
    admin: { host: raw.admin.host, port: raw.admin.port, token: adminToken(raw.admin.token, env), allowedHosts: [...raw.admin.allowedHosts, raw.admin.host] },
    legacy: { url: new URL(raw.legacy.url), timeoutMs: raw.legacy.timeoutMs, idleTimeoutMs: raw.legacy.idleTimeoutMs, ca: readCa(raw.legacy.ca, baseDir),
      keepAliveMs: raw.legacy.keepAliveMs, connections: raw.legacy.connections, bufferBodyBytes: raw.legacy.bufferBodyBytes, streamedShare: raw.legacy.streamedShare },
    routing: raw.routing,
    log: raw.log,
    lambda: { region: raw.lambda.region, endpoint: raw.lambda.endpoint ? new URL(raw.lambda.endpoint) : undefined },
    flags: {
      source: raw.flags.sdkKey !== undefined
        ? { kind: 'polling', sdkKey: raw.flags.sdkKey, intervalMs: raw.flags.pollIntervalMs, ...(raw.flags.urlTemplate ? { urlTemplate: raw.flags.urlTemplate } : {}) }
        : { kind: 'file', path: path.resolve(baseDir, raw.flags.datafile ?? ''), watchIntervalMs: raw.flags.watchIntervalMs },
      events: raw.flags.events,
      webhookSecret: webhookSecret(raw.flags.webhookSecretEnv, env),
    },
    caller: { header: raw.caller.header?.toLowerCase(), cookie: raw.caller.cookie },
    groups: parseGroups(raw.groups, baseDir),
    store: parseStore(raw.store, baseDir, env),
    memory: raw.memory,
    deprecations: raw.mirror ? ['mirror.* is now shadow.* (mirror.maxInFlight is shadow.maxInFlight, mirror.captureBytes is shadow.captureBytes); mirror.* is read for this release only'] : [],
  };
}

/** `CUTOVER_STORE_URL` beats the file, so that the database's password need not be written in it. */
function parseStore(store: z.output<typeof schema>['store'], baseDir: string, env: NodeJS.ProcessEnv): StoreConfig {
  const url = env.CUTOVER_STORE_URL || store.url;
  const location: StoreConfig['location'] = !store.enabled ? { kind: 'off' }
    : url ? { kind: 'server', url }
      : { kind: 'embedded', dataDir: store.embedded.dataDir === undefined ? undefined : path.resolve(baseDir, store.embedded.dataDir), port: store.embedded.port };
  return {
    location,
    sample: store.sample,
    bodyBytes: store.bodyBytes,
    queue: store.queue,
    retention: store.retention,
    redact: {
      headers: store.redact.headers.map((name) => name.toLowerCase()),
      query: new Set(store.redact.query.map(foldName)),
      pointers: store.redact.pointers,
      keep: new Set(store.redact.keep.map(foldName)),
    },
    hashCallers: store.hashCallers,
    overrides: store.overrides,
  };
}

/** Reads a YAML or JSON configuration file; every problem is a ConfigError naming the file and the key. */
export function loadConfig(file: string, env: NodeJS.ProcessEnv = process.env): Config {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new ConfigError(`${file}: cannot read the configuration (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
  let document: unknown;
  try {
    document = parseYaml(text);
  } catch (error) {
    // yaml's pretty message ends its first line with "at line L, column C:" and then quotes the line.
    throw new ConfigError(`${file}: not valid YAML or JSON: ${(error as Error).message.split('\n')[0]?.replace(/:$/, '')}`);
  }
  try {
    return parseConfig(document, path.dirname(path.resolve(file)), env);
  } catch (error) {
    if (error instanceof ConfigError) throw new ConfigError(`${file}: ${error.message}`);
    throw error;
  }
}
