// The BullMQ queue between the watchers and the handler, and its Redis connections.
import { isIP } from 'node:net';
import { Queue, type JobsOptions } from 'bullmq';
import type { RedisOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import { parseSentinelUrl } from './config-validators.ts';
import { objectKey, type QueueJob } from './types.ts';

// Reconnect forever, at most every 2 s: Redis coming back must be noticed quickly.
const retryStrategy = (times: number): number => Math.min(100 * times, 2_000);

/**
 * redis+sentinel:// → ioredis asks the Sentinels for the primary's address on every (re)connect,
 * and reconnects when a Sentinel announces a failover (+switch-master) or the node it reached
 * turns out to be a replica (failoverDetector / READONLY), so every client follows a promotion.
 */
function sentinelOptions(url: string): RedisOptions {
  const s = parseSentinelUrl(url);
  return {
    sentinels: s.sentinels,
    name: s.name,
    ...(s.username ? { username: s.username } : {}),
    ...(s.password ? { password: s.password } : {}),
    ...(s.db ? { db: s.db } : {}),
    ...(s.tls ? { tls: {}, enableTLSForSentinelMode: true } : {}),
    failoverDetector: true,
    reconnectOnError: (err: Error) => err.message.startsWith('READONLY'),
    retryStrategy,
    sentinelRetryStrategy: retryStrategy,
  };
}

/** REDIS_URL → ioredis options: redis:// or rediss:// (TLS), user, password and db; or redis+sentinel://. */
export function redisOptions(url: string): RedisOptions {
  if (/^rediss?\+sentinel:/.test(url)) return sentinelOptions(url);
  const u = new URL(url);
  const db = u.pathname.replace(/^\//, '');
  return {
    host: u.hostname || '127.0.0.1',
    port: u.port ? Number(u.port) : 6379,
    ...(u.username ? { username: decodeURIComponent(u.username) } : {}),
    ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
    ...(db ? { db: Number(db) } : {}),
    // SNI takes a host name, never an IP (RFC 6066); trust extra CAs with NODE_EXTRA_CA_CERTS.
    ...(u.protocol === 'rediss:' ? { tls: isIP(u.hostname) ? {} : { servername: u.hostname } } : {}),
    retryStrategy,
  };
}

/** Kept jobs are what the dashboard shows; the cap keeps Redis small. */
export const JOB_OPTIONS: JobsOptions = {
  removeOnComplete: { count: 1_000 },
  removeOnFail: { count: 5_000 },
  attempts: 5,
  backoff: { type: 'exponential', delay: 500 },
};

/**
 * What the dashboard lists a job as: `Pod DELETED default/nginx`, `CriticalService ADDED frontend`,
 * `Pod SYNCED default` (a list's end marker; `all` when every namespace was listed), so the list
 * can be scanned by object.
 */
export function jobName(job: QueueJob): string {
  if (job.type === 'SYNCED') return `${job.kind} SYNCED ${job.scope || 'all'}`;
  return `${job.kind} ${job.type} ${objectKey(job.object.metadata)}`;
}

/**
 * The Redis channel on which a watcher also publishes a watch event that is alone in its send
 * (at idle, a failover's DELETE): the handler, when its worker has no job left to take, applies
 * it at once instead of waiting for the worker to take the job, which takes two more trips
 * through Redis. The job stays the record: applied after its message, it changes nothing.
 */
export function fastPathChannel(queueName: string): string {
  return `critsvc:${queueName}:fast-path`;
}

/** What a send publishes on the fast path: a lone watch event; never a list's job or its marker. */
export function fastPathMessage(jobs: readonly QueueJob[]): string | undefined {
  const job = jobs.length === 1 ? jobs[0] : undefined;
  if (!job || job.type === 'SYNCED' || job.list !== undefined) return undefined;
  return JSON.stringify(job);
}

export interface FastPathOptions {
  /**
   * Redis answered a fast-path message with an error (an ACL without that channel: NOPERM);
   * called once until one is accepted again. Connection errors are the send's own.
   */
  refused: (err: Error) => void;
}

/** How long after a send the waiting jobs are counted again (when the count is over a second old). */
const RECOUNT_DELAY_MS = 100;

// Also bounds a Redis that accepts connections but never becomes ready (e.g. a wrong password).
const SEND_TIMEOUT_MS = 5_000;

/**
 * Adds jobs; fails fast while Redis is unreachable (the caller keeps them and retries) rather
 * than letting ioredis queue commands offline and give up minutes later.
 */
export class QueueProducer {
  private queue: Queue | undefined;
  private readonly name: string;
  private readonly url: string;
  private readonly backlogMax: number;
  /** Jobs waiting in the queue, as last counted. */
  private backlog = { count: 0, at: 0 };
  private counting: Promise<void> | undefined;
  private recountTimer: NodeJS.Timeout | undefined;

  private readonly channel: string;
  private readonly fastPath: FastPathOptions | undefined;
  /** Redis refused the last fast-path message (reported once until one is accepted again). */
  private fastPathRefused = false;

  /**
   * @param backlogMax refuse to add while this many jobs wait (0: no limit).
   * @param fastPath publish lone watch events on the fast-path channel too (see fastPathChannel).
   */
  constructor(name: string, url: string, backlogMax = 0, fastPath?: FastPathOptions) {
    this.name = name;
    this.url = url;
    this.backlogMax = backlogMax;
    this.channel = fastPathChannel(name);
    this.fastPath = fastPath;
  }

  /**
   * Throws QueueBacklogFull while the queue holds backlogMax waiting jobs: the caller keeps the
   * events (coalesced per object) rather than piling up intermediate ones in Redis. Waits for a
   * count only near the limit; far below it the count is refreshed RECOUNT_DELAY_MS after a send,
   * so that a failover's job never waits behind it, nor its pickup by the handler.
   */
  private async checkBacklog(queue: Queue): Promise<void> {
    if (this.backlogMax <= 0) return;
    if (this.backlog.count >= this.backlogMax / 2 && this.stale()) await this.recount(queue);
    if (this.backlog.count >= this.backlogMax) throw new QueueBacklogFull(this.backlog.count, this.backlogMax);
  }

  /** The count is over a second old. */
  private stale(): boolean {
    return Date.now() - this.backlog.at > 1_000;
  }

  /** Counts the waiting jobs, once at a time; a failed count keeps the last one. */
  private recount(queue: Queue): Promise<void> {
    this.counting ??= queue
      .getWaitingCount()
      .then(
        (count) => {
          this.backlog = { count, at: Date.now() };
        },
        () => undefined,
      )
      .finally(() => {
        this.counting = undefined;
      });
    return this.counting;
  }

  private get(): Queue {
    if (this.queue) return this.queue;
    const queue = new Queue(this.name, {
      connection: { ...redisOptions(this.url), enableOfflineQueue: false, maxRetriesPerRequest: 1 },
      defaultJobOptions: JOB_OPTIONS,
    });
    // Errors are reported by send(); without a listener an 'error' event would crash the process.
    queue.on('error', () => undefined);
    this.queue = queue;
    return queue;
  }

  async send(jobs: QueueJob[]): Promise<void> {
    const queue = this.get();
    await this.checkBacklog(queue);
    const message = this.fastPath ? fastPathMessage(jobs) : undefined;
    if (message !== undefined) this.publish(queue, message);
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        // One job (a failover's event, at idle): a plain add, without addBulk's MULTI/EXEC
        // (0.7 against 1.0 ms measured here, on the failover's path).
        jobs.length === 1 && jobs[0]
          ? queue.add(jobName(jobs[0]), jobs[0])
          : queue.addBulk(jobs.map((data) => ({ name: jobName(data), data }))),
        new Promise((_, reject) => {
          timer = setTimeout(
            () => reject(new Error(`queue did not answer within ${SEND_TIMEOUT_MS} ms`)),
            SEND_TIMEOUT_MS,
          );
        }),
      ]);
    } catch (err) {
      // A queue whose first connection failed stays broken: start afresh next time.
      if (this.queue === queue) this.queue = undefined;
      void queue.close().catch(() => undefined);
      throw err;
    } finally {
      clearTimeout(timer);
    }
    // Later, not at once: a count sent right after the add runs while the handler takes the job
    // (the bench's queue stage, watcher event → job taken: 7.0 ms counting before the add, 8.0 ms
    // right after it, 7.2 ms 100 ms after it; one or two runs each, 2026-12-05).
    if (this.backlogMax > 0 && this.stale() && !this.recountTimer) {
      this.recountTimer = setTimeout(() => {
        this.recountTimer = undefined;
        void this.recount(queue);
      }, RECOUNT_DELAY_MS);
      this.recountTimer.unref();
    }
  }

  /**
   * Written to Redis before the add, on the same connection: the handler has the message one
   * trip through Redis after the watcher's event. Never fails the send: the job is the record.
   */
  private publish(queue: Queue, message: string): void {
    // BullMQ's client is its ioredis connection behind a proxy that forwards what BullMQ does not
    // use itself (bullmq's ioredis-client.ts), PUBLISH among them.
    queue
      .getBackend()
      .client.then((redis) => (redis as unknown as Pick<Redis, 'publish'>).publish(this.channel, message))
      .then(
        () => {
          this.fastPathRefused = false;
        },
        (err: unknown) => {
          if (!(err instanceof Error) || err.name !== 'ReplyError' || this.fastPathRefused) return;
          this.fastPathRefused = true;
          this.fastPath?.refused(err);
        },
      );
  }

  async close(): Promise<void> {
    clearTimeout(this.recountTimer);
    const q = this.queue;
    this.queue = undefined;
    await q?.close().catch(() => undefined);
  }
}

/** The handler is down or behind: the queue already holds as many waiting jobs as allowed. */
export class QueueBacklogFull extends Error {
  override name = 'QueueBacklogFull';

  constructor(count: number, max: number) {
    super(
      `${count} jobs wait in the queue (QUEUE_BACKLOG_MAX ${max}): the handler is down or behind; holding new events here, one per object`,
    );
  }
}
