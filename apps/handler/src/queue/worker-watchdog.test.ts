import { describe, expect, it } from 'vitest';
import { STALLED_AFTER_MS, WorkerWatchdog } from './worker-watchdog.ts';

describe('the queue worker watchdog', () => {
  it('stuck only when jobs wait 5 s with a slot free and none is taken', () => {
    const w = new WorkerWatchdog(2, 0);
    expect(w.stalled(0, 60_000)).toBe(false); // idle for long, nothing waiting: fine
    expect(w.stalled(3, 60_000)).toBe(false); // jobs just seen waiting
    expect(w.stalled(3, 60_000 + STALLED_AFTER_MS - 1)).toBe(false);
    expect(w.stalled(3, 60_000 + STALLED_AFTER_MS)).toBe(true);
  });

  it('a job taken meanwhile, or the queue emptied, starts the wait again', () => {
    const w = new WorkerWatchdog(1, 0);
    w.stalled(5, 10_000);
    w.taken(12_000);
    w.done();
    expect(w.stalled(5, 10_000 + STALLED_AFTER_MS)).toBe(false);
    expect(w.stalled(5, 12_000 + STALLED_AFTER_MS)).toBe(true);
    expect(w.stalled(0, 20_000)).toBe(false);
    expect(w.stalled(5, 20_000 + STALLED_AFTER_MS - 1)).toBe(false);
  });

  it('every slot busy (slow API calls): not stuck, however long jobs wait', () => {
    const w = new WorkerWatchdog(2, 0);
    w.taken(0);
    w.taken(0);
    expect(w.stalled(100, 0)).toBe(false);
    expect(w.stalled(100, 10 * STALLED_AFTER_MS)).toBe(false);
    w.done(); // a slot frees: the worker should take the next job now
    expect(w.stalled(100, 10 * STALLED_AFTER_MS)).toBe(false);
    expect(w.stalled(100, 11 * STALLED_AFTER_MS)).toBe(true);
  });

  it('a replacement starts with none of the old jobs and a fresh wait', () => {
    const w = new WorkerWatchdog(1, 0);
    w.taken(0); // this job never ends on the stuck worker
    w.replaced(50_000);
    expect(w.stalled(4, 50_000)).toBe(false);
    expect(w.stalled(4, 50_000 + STALLED_AFTER_MS)).toBe(true);
    w.done(); // the old worker's job ending late does not count below zero
    w.taken(60_000);
    expect(w.stalled(4, 60_000 + STALLED_AFTER_MS)).toBe(false);
  });
});
