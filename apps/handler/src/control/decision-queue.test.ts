import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DecisionQueue } from './decision-queue.ts';

/** Runs the queue with `workers` loops, recording which keys were worked on, in order. */
function record(
  q: DecisionQueue,
  workers: number,
  work: (key: string) => Promise<void> = async () => undefined,
): { seen: string[]; done: Promise<void> } {
  const seen: string[] = [];
  const done = q.run(workers, async (key) => {
    seen.push(key);
    await work(key);
  });
  return { seen, done };
}

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('DecisionQueue', () => {
  beforeEach(() => vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] }));
  afterEach(() => vi.useRealTimers());

  it('a key added twice before it is taken is worked on once', async () => {
    const q = new DecisionQueue();
    q.add('a');
    q.add('a');
    q.add('b');
    const { seen, done } = record(q, 2);
    await tick();
    q.shutDown();
    await done;
    expect(seen).toEqual(['a', 'b']);
  });

  it('a key is never worked on by two workers at once; added while in work, it comes back once after', async () => {
    const q = new DecisionQueue();
    let running = 0;
    let most = 0;
    let release: () => void = () => undefined;
    const { seen, done } = record(q, 4, async () => {
      most = Math.max(most, ++running);
      await new Promise<void>((r) => (release = r));
      running--;
    });
    q.add('a');
    await tick();
    q.add('a');
    q.add('a');
    await tick();
    expect(seen).toEqual(['a']);
    release();
    await tick();
    await tick();
    expect(seen).toEqual(['a', 'a']);
    release();
    await tick();
    q.shutDown();
    await done;
    expect(most).toBe(1);
  });

  it('addAfter keeps the earlier of two times', async () => {
    const q = new DecisionQueue();
    const { seen, done } = record(q, 1);
    q.addAfter('a', 5_000);
    q.addAfter('a', 1_000);
    q.addAfter('a', 3_000);
    await vi.advanceTimersByTimeAsync(999);
    expect(seen).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(seen).toEqual(['a']);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(seen).toEqual(['a']);
    q.shutDown();
    await done;
  });

  const backoff: { what: string; cap?: number; failures: number; most: number; least: number }[] = [
    { what: 'first failure', failures: 1, least: 50, most: 100 },
    { what: 'grows per failure', failures: 5, least: 800, most: 1_600 },
    { what: 'stops at the queue maximum', failures: 20, least: 15_000, most: 30_000 },
    {
      what: 'a cap below the maximum is honoured (TEMPLATE_RETRY_SECONDS)',
      cap: 2_000,
      failures: 20,
      least: 2_000,
      most: 2_000,
    },
  ];
  it.each(backoff)('addRateLimited: $what', ({ cap, failures, least, most }) => {
    const q = new DecisionQueue(100, 30_000);
    let ms = 0;
    for (let i = 0; i < failures; i++) ms = q.addRateLimited('a', cap);
    expect(ms).toBeGreaterThanOrEqual(least);
    expect(ms).toBeLessThanOrEqual(most);
    q.shutDown();
  });

  it('forget() starts the backoff again', () => {
    const q = new DecisionQueue(100, 30_000);
    for (let i = 0; i < 10; i++) q.addRateLimited('a');
    q.forget('a');
    expect(q.addRateLimited('a')).toBeLessThanOrEqual(100);
    q.shutDown();
  });

  it('shutDown() ends idle workers and drops timers', async () => {
    const q = new DecisionQueue();
    const { seen, done } = record(q, 3);
    q.addAfter('a', 1_000);
    q.shutDown();
    await done;
    await vi.advanceTimersByTimeAsync(2_000);
    q.add('b');
    expect(seen).toEqual([]);
  });
});
