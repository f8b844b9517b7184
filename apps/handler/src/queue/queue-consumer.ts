// The handler's end of the event queue: the BullMQ Worker that takes the jobs, and the Queue
// (the inspector) that counts what waits. After a Sentinel failover ioredis can leave any of
// their connections ended for good (status 'end': its Sentinel connector ends a client whose
// reconnect is cut short while it resolves the primary), and BullMQ reports nothing for a closed
// connection. Seen in sentinel.test: 67 jobs waited 20 s and the worker was never replaced, as
// the inspector's counts failed too. So both are watched and replaced: the inspector when its
// counts keep failing, the worker when jobs wait with a slot free and none is taken
// (WorkerWatchdog), and both at once when a failover is noticed. With FAST_PATH it also follows
// the watchers' fast-path channel, and hands a message over only while the worker is caught up.
import { fastPathChannel, type Logger } from '@critsvc/shared';
import { MetricsTime, Queue, Worker, type RedisOptions } from 'bullmq';
import { Redis } from 'ioredis';
import type { Counter } from 'prom-client';
import { STALLED_AFTER_MS, WorkerWatchdog } from './worker-watchdog.ts';

/** Counts failed (or unanswered within COUNT_TIMEOUT_MS) in a row after which the inspector is replaced. */
export const INSPECTOR_REPLACE_AFTER = 3;
const COUNT_TIMEOUT_MS = 1_000;

export interface QueueConsumerOptions {
  name: string;
  redis: RedisOptions;
  concurrency: number;
  /** Applies one job (synchronous and quick: see Controller.handleJob). */
  process: (data: unknown) => unknown;
  /** An error of the worker's connections (BullMQ reports those it does not retry by itself). */
  onError: (err: Error) => void;
  onFailed: (jobId: string | undefined, err: Error) => void;
  log: Logger;
  workerRestarts: Counter;
  /**
   * Applies a watcher's fast-path message (see fastPathChannel), taken only while the worker has
   * no job left to take; without it the channel is not followed.
   */
  fastPath?: (data: unknown) => FastPathResult;
  /** Fast-path messages by result: FastPathResult, or skipped (the worker had jobs to take). */
  fastPathMessages?: Counter<'result'>;
  checkMs: number;
  stalledAfterMs?: number;
}

/** What a fast-path message did: changed the state, told nothing new (already applied), or was refused. */
export type FastPathResult = 'applied' | 'known' | 'invalid';

export class QueueConsumer {
  private readonly o: QueueConsumerOptions;
  private readonly watchdog: WorkerWatchdog;
  private current: Queue;
  private worker: Worker | undefined;
  /**
   * The worker found the queue empty and has taken no job since: a fast-path message is then the
   * newest event, its job still to come. While jobs wait, a message would overtake them; it is
   * skipped, and its job brings it in order.
   */
  private caughtUp = false;
  private subscriber: Redis | undefined;
  private subscribeRefused = false;
  private countFailures = 0;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(o: QueueConsumerOptions) {
    this.o = o;
    this.watchdog = new WorkerWatchdog(o.concurrency, Date.now(), o.stalledAfterMs ?? STALLED_AFTER_MS);
    this.current = this.newInspector();
  }

  /** For reading the queue's depth and key names; the worker has its own connections. */
  get inspector(): Queue {
    return this.current;
  }

  get isRunning(): boolean | undefined {
    return this.worker?.isRunning();
  }

  private newInspector(): Queue {
    // Fails fast while Redis is away: a count then fails, rather than waits.
    const q = new Queue(this.o.name, { connection: { ...this.o.redis, enableOfflineQueue: false } });
    q.on('error', () => undefined);
    return q;
  }

  private newWorker(): Worker {
    // metrics: BullMQ's completed/failed counts per minute (a week: ~10k small numbers in Redis), the dashboard's throughput chart.
    const worker = new Worker(
      this.o.name,
      async (job) => {
        this.watchdog.taken(Date.now());
        try {
          return await this.o.process(job.data);
        } finally {
          this.watchdog.done();
        }
      },
      {
        connection: { ...this.o.redis, maxRetriesPerRequest: null },
        concurrency: this.o.concurrency,
        metrics: { maxDataPoints: MetricsTime.ONE_WEEK },
      },
    );
    worker.on('error', (err) => this.o.onError(err));
    worker.on('failed', (job, err) => this.o.onFailed(job?.id, err));
    this.caughtUp = false;
    worker.on('drained', () => {
      if (this.worker === worker) this.caughtUp = true;
    });
    worker.on('active', () => {
      if (this.worker === worker) this.caughtUp = false;
    });
    return worker;
  }

  /** Follows the fast-path channel on a connection of its own (a subscribed one can do nothing else). */
  private newSubscriber(fastPath: (data: unknown) => FastPathResult): Redis {
    const channel = fastPathChannel(this.o.name);
    const sub = new Redis({ ...this.o.redis, maxRetriesPerRequest: null });
    // Reconnects (and subscribes again) by itself; meanwhile every event still comes as a job.
    sub.on('error', () => undefined);
    sub.on('message', (_channel: string, message: string) => {
      if (!this.caughtUp) {
        this.o.fastPathMessages?.inc({ result: 'skipped' });
        return;
      }
      let data: unknown;
      try {
        data = JSON.parse(message);
      } catch {
        this.o.fastPathMessages?.inc({ result: 'invalid' });
        return;
      }
      this.o.fastPathMessages?.inc({ result: fastPath(data) });
    });
    sub.subscribe(channel).then(
      () => {
        this.subscribeRefused = false;
      },
      (err: unknown) => {
        if (this.subscribeRefused || this.subscriber !== sub) return;
        this.subscribeRefused = true;
        this.o.log.warn(
          { err, channel },
          "cannot follow the fast-path channel (grant it in Redis's ACL, or set FAST_PATH=false); events still come through the queue, a few milliseconds later",
        );
      },
    );
    return sub;
  }

  private replaceSubscriber(): void {
    const old = this.subscriber;
    this.subscriber = this.o.fastPath ? this.newSubscriber(this.o.fastPath) : undefined;
    old?.disconnect();
  }

  /** Starts taking jobs, and checks every checkMs that the worker and the inspector still work. */
  start(): void {
    if (this.o.fastPath) this.subscriber ??= this.newSubscriber(this.o.fastPath);
    this.worker ??= this.newWorker();
    this.timer ??= setInterval(() => void this.check(), this.o.checkMs);
    this.timer.unref();
  }

  /** Jobs waiting, or undefined when the inspector could not tell (after a few such, it is replaced). */
  async waiting(): Promise<number | undefined> {
    const q = this.current;
    try {
      const n = await Promise.race([
        q.getWaitingCount(),
        new Promise<never>((_, reject) => setTimeout(() => reject(new Error('no answer')), COUNT_TIMEOUT_MS).unref()),
      ]);
      this.countFailures = 0;
      return n;
    } catch {
      if (++this.countFailures >= INSPECTOR_REPLACE_AFTER && q === this.current && !this.closed) {
        this.o.log.warn(
          { failures: this.countFailures },
          "cannot count the queue's waiting jobs; replacing that connection",
        );
        this.replaceInspector();
      }
      return undefined;
    }
  }

  private replaceInspector(): void {
    const old = this.current;
    this.countFailures = 0;
    this.current = this.newInspector();
    void old.close().catch(() => undefined);
  }

  /** A worker that leaves jobs waiting with a slot free is replaced by a new one. */
  private async check(): Promise<void> {
    const waiting = await this.waiting();
    if (waiting === undefined || this.closed || !this.watchdog.stalled(waiting, Date.now())) return;
    this.o.log.warn(
      { waiting },
      `queue worker took no waiting job for ${(this.o.stalledAfterMs ?? STALLED_AFTER_MS) / 1000} s; replacing it (stuck, as after a Redis failover)`,
    );
    this.replaceWorker();
  }

  private replaceWorker(): void {
    const stuck = this.worker;
    if (!stuck || this.closed) return;
    this.o.workerRestarts.inc();
    this.watchdog.replaced(Date.now());
    this.worker = this.newWorker();
    // Not awaited: closing a worker whose connections ended may never finish.
    void stuck.close(true).catch(() => undefined);
  }

  /** Redis failed over: new connections for all (worker, inspector, fast path), rather than wait to find out which ones ended. */
  renew(): void {
    if (this.closed) return;
    this.o.log.info('Redis failed over; the queue worker and inspector connect afresh');
    this.replaceInspector();
    this.replaceWorker();
    if (this.subscriber) this.replaceSubscriber();
  }

  /** Stops taking jobs (the one in hand finishes). */
  async closeWorker(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    this.caughtUp = false;
    this.subscriber?.disconnect();
    this.subscriber = undefined;
    await this.worker?.close();
  }

  async close(): Promise<void> {
    await this.closeWorker();
    await this.current.close().catch(() => undefined);
  }
}
