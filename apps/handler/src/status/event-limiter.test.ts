import { describe, expect, it } from 'vitest';
import { EventLimiter } from './event-limiter.ts';

describe('EventLimiter', () => {
  it('lets a burst through per key, then one per interval', () => {
    const clock = { t: 0 };
    const l = new EventLimiter(3, 1_000, () => clock.t);
    const take = (key: string, n: number): number =>
      Array.from({ length: n }, () => l.allow(key)).filter(Boolean).length;
    expect(take('PodTemplateUnusable', 10)).toBe(3);
    expect(take('DefaultPodRefused', 10)).toBe(3);
    clock.t = 999;
    expect(take('PodTemplateUnusable', 10)).toBe(0);
    clock.t = 1_000;
    expect(take('PodTemplateUnusable', 10)).toBe(1);
    clock.t = 2_500;
    expect(take('PodTemplateUnusable', 10)).toBe(1);
    clock.t = 3_000;
    expect(take('PodTemplateUnusable', 10)).toBe(1);
    clock.t = 60_000;
    expect(take('PodTemplateUnusable', 10)).toBe(3);
  });
});
