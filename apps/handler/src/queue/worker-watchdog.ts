// A queue worker that has a free slot and jobs waiting, yet takes none, is stuck: its blocking
// connection never came back (BullMQ's worker can be left so after a Sentinel failover; it then
// still says it runs and reports no error, taskforcesh/bullmq#3088, #4378, #4585). The handler
// replaces such a worker, rather than leave critical Services unserved until someone restarts it.

/** Jobs waiting this long while the worker, with a slot free, took none: the worker is stuck. */
export const STALLED_AFTER_MS = 5_000;

export class WorkerWatchdog {
  private readonly concurrency: number;
  private readonly stalledAfterMs: number;
  private inFlight = 0;
  private lastTaken: number;
  private waitingSince: number | undefined;

  constructor(concurrency: number, now: number, stalledAfterMs = STALLED_AFTER_MS) {
    this.concurrency = concurrency;
    this.stalledAfterMs = stalledAfterMs;
    this.lastTaken = now;
  }

  /** The worker took a job (it runs until `done`). */
  taken(now: number): void {
    this.inFlight++;
    this.lastTaken = now;
  }

  done(): void {
    this.inFlight = Math.max(0, this.inFlight - 1);
  }

  /** A new worker replaces the stuck one: it starts with none of the old one's jobs. */
  replaced(now: number): void {
    this.inFlight = 0;
    this.lastTaken = now;
    this.waitingSince = undefined;
  }

  /**
   * @param waiting jobs in the queue's wait list now
   * @returns true when the worker is stuck: jobs have waited `stalledAfterMs` with a slot free and none taken
   */
  stalled(waiting: number, now: number): boolean {
    if (waiting === 0 || this.inFlight >= this.concurrency) {
      this.waitingSince = undefined;
      return false;
    }
    this.waitingSince ??= now;
    return now - Math.max(this.waitingSince, this.lastTaken) >= this.stalledAfterMs;
  }
}
