// Warnings are rate-limited per reason across all objects, like client-go's recorder limits them
// per object (token bucket: a burst, then one per interval): during a template outage 500 lame
// Services must not produce 500 identical Warnings. The condition in CriticalService status
// carries the whole picture; what is held back is counted.

export class EventLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  private readonly burst: number;
  private readonly refillMs: number;
  private readonly now: () => number;

  constructor(burst = 25, refillMs = 60_000, now: () => number = Date.now) {
    this.burst = burst;
    this.refillMs = refillMs;
    this.now = now;
  }

  /** Takes a token for this key if one is left. */
  allow(key: string): boolean {
    const now = this.now();
    const b = this.buckets.get(key) ?? { tokens: this.burst, at: now };
    const refilled = Math.floor((now - b.at) / this.refillMs);
    if (refilled > 0) {
      b.tokens = Math.min(this.burst, b.tokens + refilled);
      b.at = b.tokens === this.burst ? now : b.at + refilled * this.refillMs;
    }
    this.buckets.set(key, b);
    if (b.tokens === 0) return false;
    b.tokens--;
    return true;
  }
}
