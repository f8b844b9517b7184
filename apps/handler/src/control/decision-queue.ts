// The decision queue: Service keys waiting to be decided, in the manner of client-go's work queue
// (a key waits at most once, is never worked on by two workers at once, failures come back after a
// per-key exponential delay). Not to be confused with the event queue (BullMQ, in Redis) that
// brings the watchers' events to the handler.
import { Backoff } from '@critsvc/shared';

export class DecisionQueue {
  private readonly queue: string[] = [];
  private readonly dirty = new Set<string>();
  private readonly processing = new Set<string>();
  private readonly failures = new Map<string, Backoff>();
  private readonly timers = new Map<string, { timer: NodeJS.Timeout; at: number }>();
  private readonly waiters: (() => void)[] = [];
  private shuttingDown = false;
  private readonly baseMs: number;
  private readonly maxMs: number;

  constructor(baseMs = 100, maxMs = 30_000) {
    this.baseMs = baseMs;
    this.maxMs = maxMs;
  }

  /** When a key was last done, or work last arrived at an idle queue: how /healthz tells wedged from idle. */
  lastProgressAt = Date.now();

  get length(): number {
    return this.queue.length;
  }

  /** Keys being worked on now. */
  get busy(): number {
    return this.processing.size;
  }

  add(key: string): void {
    if (this.shuttingDown || this.dirty.has(key)) return;
    if (this.queue.length === 0 && this.processing.size === 0) this.lastProgressAt = Date.now();
    this.dirty.add(key);
    if (!this.processing.has(key)) {
      this.queue.push(key);
      this.waiters.shift()?.();
    }
  }

  /** Adds the key after `ms`; a key already waiting keeps the earlier of the two times. */
  addAfter(key: string, ms: number): void {
    if (this.shuttingDown) return;
    const at = Date.now() + ms;
    const waiting = this.timers.get(key);
    if (waiting && waiting.at <= at) return;
    if (waiting) clearTimeout(waiting.timer);
    const timer = setTimeout(() => {
      this.timers.delete(key);
      this.add(key);
    }, ms);
    this.timers.set(key, { timer, at });
  }

  /** Adds the key after its next per-key backoff delay, at most `capMs` (the queue's maximum by default). */
  addRateLimited(key: string, capMs = this.maxMs): number {
    let b = this.failures.get(key);
    if (!b) this.failures.set(key, (b = new Backoff(this.baseMs, this.maxMs)));
    const ms = Math.min(b.next(), capMs);
    this.addAfter(key, ms);
    return ms;
  }

  forget(key: string): void {
    this.failures.delete(key);
  }

  private async get(): Promise<string | undefined> {
    while (this.queue.length === 0) {
      if (this.shuttingDown) return undefined;
      await new Promise<void>((r) => this.waiters.push(r));
    }
    const key = this.queue.shift() as string;
    this.dirty.delete(key);
    this.processing.add(key);
    return key;
  }

  private done(key: string): void {
    this.lastProgressAt = Date.now();
    this.processing.delete(key);
    if (this.dirty.has(key)) {
      this.queue.push(key);
      this.waiters.shift()?.();
    }
  }

  /** Runs `workers` loops until shutDown(); `work` must not throw (it re-queues itself). */
  async run(workers: number, work: (key: string) => Promise<void>): Promise<void> {
    const loop = async (): Promise<void> => {
      for (let key = await this.get(); key !== undefined; key = await this.get()) {
        try {
          await work(key);
        } finally {
          this.done(key);
        }
      }
    };
    await Promise.all(Array.from({ length: workers }, loop));
  }

  shutDown(): void {
    this.shuttingDown = true;
    for (const t of this.timers.values()) clearTimeout(t.timer);
    this.timers.clear();
    for (const w of this.waiters.splice(0)) w();
  }
}
