import { pino, type DestinationStream, type Logger } from 'pino';
import { CREDENTIAL_HEADERS } from './secret-names.js';

export type { Logger };

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Credentials that may ride on a request or response, never written to a log: pino's paths quote a name with a dash. */
const REDACTED = [...CREDENTIAL_HEADERS].map((name) => (name.includes('-') ? `"${name}"` : name));

/**
 * Lines wait in memory until this many bytes are there, then leave in one write. pino's default,
 * a synchronous write(2) for every line, cost about a third of a `legacy` request at the default
 * level, where each request writes its access line (issue 26). Each asynchronous write is handed
 * to a libuv thread and back, which costs about 40 µs of CPU whatever its size (4 to 16 KB,
 * measured alone) and more on a busy machine: 12 KB batches (about 45 access lines) make a third
 * of the writes that 4 KB batches made (A/B, 7 passes: `legacy` 329 against 393 µs a request on a
 * loaded machine; docs/performance.md). 64 KB batches were no better (A/B, 5 passes: 190 against
 * 173 µs, lower in 1 of 5). sonic-boom's largest write is 16 KB.
 */
const BUFFERED_BYTES = 12_288;
/** Lines of a quiet proxy wait at most this long. */
const FLUSH_EVERY_MS = 1_000;

/**
 * Lines waiting for standard output, in an array until a batch is there, then handed to pino's
 * asynchronous destination as one string. Not sonic-boom's own batching (`minLength`): it grows
 * its batch by string concatenation and measures the whole batch (`Buffer.byteLength`) on every
 * line, which copies the batch each time (about 6.6 µs a line against 2.4 for this, measured
 * alone writing to a pipe; issue 26).
 */
class Batched implements DestinationStream {
  private lines: string[] = [];
  /** Characters waiting: the bytes of an ASCII line, fewer than its bytes for any other. */
  private waiting = 0;

  constructor(private readonly out: ReturnType<typeof pino.destination>) {
    setInterval(() => this.flush(), FLUSH_EVERY_MS).unref();
    // pino ends its destination when the event loop empties and writes what it holds synchronously
    // at exit; what waits here goes to it first, before pino's own listeners run.
    process.prependListener('beforeExit', () => this.flush());
    process.prependListener('exit', () => {
      // Nothing waits, or the destination was ended when the event loop emptied (pino's doing,
      // after the flush above; its type does not say `destroyed`).
      if (this.lines.length === 0 || (out as { destroyed?: boolean }).destroyed === true) return;
      this.flush();
      out.flushSync();
    });
  }

  write(line: string): void {
    this.lines.push(line);
    this.waiting += line.length;
    if (this.waiting >= BUFFERED_BYTES) this.flush();
  }

  private flush(): void {
    if (this.lines.length === 0) return;
    const batch = this.lines.join('');
    this.lines = [];
    this.waiting = 0;
    this.out.write(batch);
  }
}

let stdout: Batched | undefined;

/**
 * Standard output, batched, through pino's asynchronous destination; one for the process, however
 * many loggers write to it. What waits is written synchronously when the process exits (also after
 * an uncaught exception, and after `cutover start`'s SIGTERM or SIGINT drain, which ends in
 * process.exit). A process killed outright (SIGKILL, out of memory) loses what was not written
 * yet: the lines of the last second at most, under 12 KB when standard output keeps up (docs/reference.md, "Logs").
 */
function bufferedStdout(): DestinationStream {
  stdout ??= new Batched(pino.destination({ dest: 1, sync: false, minLength: 0 }));
  return stdout;
}

/** What every line says of its writer. */
const BASE = { service: 'cutover' };

/** Where each logger createLogger made writes: the access lines go there directly (see `accessJson`). */
const destinations = new WeakMap<Logger, DestinationStream>();

/**
 * The proxy's structured log: one JSON object a line, the request id bound on every line written
 * for a request (see `forRequest`). A destination other than stdout serves tests and the demo.
 */
export function createLogger(level: LogLevel, destination: DestinationStream = bufferedStdout()): Logger {
  const logger = pino({
    level,
    base: BASE,
    redact: { paths: REDACTED.flatMap((name) => [`headers.${name}`, `*.headers.${name}`]), censor: '[redacted]' },
  }, destination);
  destinations.set(logger, destination);
  return logger;
}

/** The access line of a request: counts and names, never a header or a body. */
export interface AccessLine {
  /** First, as on every line of the request. */
  readonly requestId: string;
  readonly group: string;
  readonly route: string;
  readonly stage: string;
  readonly servedBy: string;
  /** The status sent, or `aborted` when the client left before any. */
  readonly status: number | string;
  readonly complete: boolean;
  readonly primaryMs: number | undefined;
  /** When legacy answered a request the new side failed; a field left undefined is not written. */
  readonly failedOverMs: number | undefined;
  readonly totalMs: number;
}

/** What the request path logs through. */
export type RequestLog = Pick<Logger, 'debug' | 'info' | 'warn' | 'error' | 'isLevelEnabled'> & {
  readonly requestId: string;
  /** Writes the request's access line at `info`, when the level has it. */
  access(line: AccessLine): void;
};

/**
 * A logger's child without the redaction, for a line written on every compared request (a
 * comparison's line) whose fields are names and numbers, never a header or a body: pino's
 * redaction (its wildcard paths clone and walk every object logged) cost about 13 µs a line, a
 * tenth of a `legacy` request. One per logger, made on first use.
 */
const unredacted = new WeakMap<Logger, Logger>();

export function unredactedOf(log: Logger): Logger {
  let child = unredacted.get(log);
  if (!child) {
    child = log.child({}, { redact: [] });
    unredacted.set(log, child);
  }
  return child;
}

const ACCESS_PREFIX = `{"level":${pino.levels.values.info},"time":`;
const ACCESS_BASE = `,${JSON.stringify(BASE).slice(1, -1)},"requestId":`;

/**
 * A JSON string: quoted as it is when nothing in it needs an escape, as names and request ids
 * never do. JSON.stringify is a call into the runtime, about 1,000 instructions even for a short name.
 */
function quoted(text: string): string {
  for (let i = 0; i < text.length; i += 1) {
    const code = text.charCodeAt(i);
    if (code < 0x20 || code === 0x22 || code === 0x5c || (code >= 0xd800 && code <= 0xdfff)) return JSON.stringify(text);
  }
  return `"${text}"`;
}

/**
 * The access line as pino writes an `info` line (level, time, the base, the fields in order, a
 * field left undefined not written, msg), built as one string. pino's generic serialisation walks
 * the object key by key: about 22,000 instructions a line under callgrind, 8 % of a `legacy`
 * request's main thread, against about 9,000 for this, a third of them the three numbers' digits
 * (issue 26; test/access-line.test.ts holds the two to the same line).
 */
function accessJson(line: AccessLine): string {
  const status = typeof line.status === 'number' ? line.status : quoted(line.status);
  const timings = `${line.primaryMs === undefined ? '' : `,"primaryMs":${line.primaryMs}`}${line.failedOverMs === undefined ? '' : `,"failedOverMs":${line.failedOverMs}`},"totalMs":${line.totalMs}`;
  return `${ACCESS_PREFIX}${Date.now()}${ACCESS_BASE}${quoted(line.requestId)},"group":${quoted(line.group)},"route":${quoted(line.route)}`
    + `,"stage":${quoted(line.stage)},"servedBy":${quoted(line.servedBy)},"status":${status},"complete":${line.complete}${timings},"msg":"request"}\n`;
}

type Level = Exclude<keyof RequestLog, 'isLevelEnabled' | 'access' | 'requestId'>;

/**
 * The log of one request: every line it writes names the request. The child logger is made on
 * the first line written, since most requests write none at the usual levels, and making one
 * costs more than the rest of the request's logging (its bindings go through the redaction).
 * One object per request, its methods on the prototype: the request path makes one per request.
 */
class LazyRequestLog implements RequestLog {
  private child: Logger | undefined;

  constructor(private readonly log: Logger, private readonly destination: DestinationStream, readonly requestId: string) {}

  isLevelEnabled(level: string): boolean {
    return this.log.isLevelEnabled(level);
  }

  debug(...args: unknown[]): void {
    this.write('debug', args);
  }

  info(...args: unknown[]): void {
    this.write('info', args);
  }

  warn(...args: unknown[]): void {
    this.write('warn', args);
  }

  error(...args: unknown[]): void {
    this.write('error', args);
  }

  access(line: AccessLine): void {
    if (this.log.isLevelEnabled('info')) this.destination.write(accessJson(line));
  }

  private write(level: Level, args: unknown[]): void {
    if (!this.log.isLevelEnabled(level)) return;
    this.child ??= this.log.child({ requestId: this.requestId });
    (this.child[level] as (...line: unknown[]) => void)(...args);
  }
}

/** The log of one request, on a logger createLogger made. */
export function forRequest(log: Logger, requestId: string): RequestLog {
  const destination = destinations.get(log);
  if (!destination) throw new TypeError('forRequest takes a logger made by createLogger, not a child of one');
  return new LazyRequestLog(log, destination, requestId);
}
