import { createLogger, type Logger } from '../../proxy/telemetry/log.js';

/** A logger at debug level whose JSON lines are kept for the test to read. */
export function capturedLogger(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  return { logger: createLogger('debug', { write: (line: string) => { lines.push(line); } }), lines };
}
