import { pino, type DestinationStream, type Logger } from 'pino';
import type { LogLevel } from './config.js';

export type { Logger };

/** Secrets that may ride on a request or response: never written to a log. */
const REDACTED = ['authorization', 'cookie', '"set-cookie"', '"proxy-authorization"', '"x-api-key"'];

/**
 * The proxy's structured log: one JSON object a line, the request id bound on every line written
 * for a request (see `forRequest`). A destination other than stdout serves tests and the demo.
 */
export function createLogger(level: LogLevel, destination?: DestinationStream): Logger {
  const options = {
    level,
    base: { service: 'cutover' },
    redact: { paths: REDACTED.flatMap((name) => [`headers.${name}`, `*.headers.${name}`]), censor: '[redacted]' },
  };
  return destination ? pino(options, destination) : pino(options);
}

/** What the request path logs through. */
export type RequestLog = Pick<Logger, 'debug' | 'info' | 'warn' | 'error'>;

type Level = keyof RequestLog;

/**
 * The log of one request: every line it writes names the request. The child logger is made on
 * the first line written, since most requests write none at the usual levels, and making one
 * costs more than the rest of the request's logging (its bindings go through the redaction).
 */
export function forRequest(log: Logger, requestId: string): RequestLog {
  let child: Logger | undefined;
  const at = (level: Level) => ((...args: unknown[]) => {
    if (!log.isLevelEnabled(level)) return;
    child ??= log.child({ requestId });
    (child[level] as (...line: unknown[]) => void)(...args);
  }) as Logger[Level];
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}
