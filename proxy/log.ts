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

/** The child logger of one request: every line it writes names the request. */
export function forRequest(log: Logger, requestId: string): Logger {
  return log.child({ requestId });
}
