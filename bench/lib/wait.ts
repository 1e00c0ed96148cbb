// Waiting on a condition with a deadline (the bench measures servers it does not control, so
// every wait is bounded and says what it waited for).
import { setTimeout as sleep } from 'node:timers/promises';

export { sleep };

/** Polls `check` until it returns a value other than undefined; throws after `timeoutMs`. */
export async function waitFor<T>(what: string, timeoutMs: number, check: () => Promise<T | undefined>, everyMs = 100): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (performance.now() > deadline) throw new Error(`${what}: not done within ${timeoutMs / 1000}s`);
    await sleep(everyMs);
  }
}
