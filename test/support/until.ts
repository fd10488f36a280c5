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

/** A promise the test settles when it chooses: what a stand-in upstream awaits to hold its answers back. */
export function gate(): { readonly passed: Promise<void>; open(): void } {
  let open: () => void = () => undefined;
  const passed = new Promise<void>((resolve) => { open = resolve; });
  return { passed, open: () => open() };
}
