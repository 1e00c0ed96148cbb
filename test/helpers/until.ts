// Waits for a condition that no event announces (a count in /metrics, a file's size, a health
// answer), checking it every few milliseconds until a deadline. Where an event exists, tests
// wait for the event instead.
export async function until(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
