// Wall-clock time in milliseconds with sub-millisecond precision: the watchers stamp events with
// it (seenAt) and the handler measures the failover's stages against it. Both ends read the same
// machine clock when they share a node; across nodes the stages include the clocks' skew.
import { performance } from 'node:perf_hooks';

export function preciseNow(): number {
  return performance.timeOrigin + performance.now();
}
