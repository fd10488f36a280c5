import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Polls `probe` until it gives a truthy value, every 10 ms; throws, naming `what`, when it has
 * not by `timeoutMs`. A probe that throws ends the wait with its error. Never gives up quietly.
 */
export async function until(probe: () => unknown, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    if (await probe()) return;
    if (performance.now() >= deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(10);
  }
}
