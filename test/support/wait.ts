/** Polls until `check` returns a value other than undefined/false, or fails with what it last saw. */
export async function eventually<T>(
  what: string,
  check: () => Promise<T | undefined | false>,
  timeoutMs = 30_000,
  everyMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined && v !== false) return v;
      last = v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last: ${String(last)}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Asserts that `check` stays true for the whole period. */
export async function stays(
  what: string,
  check: () => Promise<boolean>,
  periodMs: number,
  everyMs = 200,
): Promise<void> {
  const end = Date.now() + periodMs;
  while (Date.now() < end) {
    if (!(await check())) throw new Error(`${what} did not hold`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
