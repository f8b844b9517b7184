import { describe, expect, it } from 'vitest';
import { livenessProblem, WEDGED_AFTER_MS, type LivenessInput } from './liveness.ts';

const base: LivenessInput = { workerRunning: true, waiting: 0, busy: 0, lastProgressAt: 0, now: 10 * WEDGED_AFTER_MS };

describe('handler liveness', () => {
  it.each<[string, Partial<LivenessInput>, RegExp | undefined]>([
    ['idle for long: alive', {}, undefined],
    ['still listing at start-up (no worker yet): alive', { workerRunning: undefined }, undefined],
    ['worker stopped: not alive', { workerRunning: false }, /queue worker has stopped/],
    [
      'Services waiting, a decision finished recently: alive',
      { waiting: 50, lastProgressAt: 10 * WEDGED_AFTER_MS - 1_000 },
      undefined,
    ],
    [
      'Services waiting, nothing finished for too long: not alive',
      { waiting: 3, busy: 4, lastProgressAt: 8 * WEDGED_AFTER_MS },
      /no decision finished for 240 s while 3 Service\(s\) wait and 4 are in work/,
    ],
    [
      'a decision in work for too long: not alive',
      { busy: 1, lastProgressAt: 8 * WEDGED_AFTER_MS },
      /no decision finished/,
    ],
  ])('%s', (_what, o, expected) => {
    const why = livenessProblem({ ...base, ...o });
    if (expected) expect(why).toMatch(expected);
    else expect(why).toBeUndefined();
  });
});
