// Redis at its maxmemory with `noeviction` refuses every write, BullMQ's own moves included: the
// handler can take no job, the watchers can add none, and nothing would ever free memory. The
// handler frees it itself (with plain DELs: BullMQ's scripts are refused too): first the finished
// jobs kept for the dashboard, then, if Redis is still nearly full, the waiting backlog; then it
// lists everything from the API server (the truth), so what the dropped jobs said is not lost.
// The watchers' outboxes deliver the newest event of each object once Redis takes writes again.
import type { Logger } from '@critsvc/shared';
import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';

/** Still this full after dropping finished jobs: drop the backlog too. */
const STILL_FULL = 0.9;
/** At most one recovery per this long: the errors come in bursts. */
const QUIET_MS = 10_000;

export function isRedisFull(err: unknown): boolean {
  return err instanceof Error && /\bOOM\b/.test(err.message);
}

export interface RedisFullOptions {
  queue: Queue;
  /** The handler's current plain connection (replaced when it stays unusable): BullMQ's own scripts (clean, drain) are refused too when Redis is full, DEL is not. */
  redis: () => Redis;
  log: Logger;
  fullness: () => Promise<number>;
  relist: () => Promise<void>;
}

export class RedisFullRecovery {
  private running: Promise<void> | undefined;
  private lastAt = 0;
  private readonly o: RedisFullOptions;
  recoveries = 0;

  constructor(o: RedisFullOptions) {
    this.o = o;
  }

  /** Called on every error that says Redis is out of memory; acts at most once per QUIET_MS. */
  onFull(err: unknown): void {
    if (this.running || Date.now() - this.lastAt < QUIET_MS) return;
    this.lastAt = Date.now();
    this.running = this.recover(err).finally(() => {
      this.running = undefined;
    });
  }

  private async recover(cause: unknown): Promise<void> {
    const { queue, log } = this.o;
    log.error(
      { err: cause },
      'Redis is full (maxmemory, noeviction): freeing it, finished jobs first, then the backlog if needed; the state is repaired from the API server',
    );
    try {
      const finished =
        (await this.dropJobs(queue.toKey('completed'), 'zset')) + (await this.dropJobs(queue.toKey('failed'), 'zset'));
      await this.o.redis().del(queue.toKey('events'));
      const fullness = await this.o.fullness();
      const dropped = fullness >= STILL_FULL ? await this.dropJobs(queue.toKey('wait'), 'list') : 0;
      this.recoveries++;
      log.warn(
        { finishedDropped: finished, fullnessAfterThat: Math.round(fullness * 100) / 100, backlogDropped: dropped },
        'Redis freed; listing everything again',
      );
      await this.o.relist();
    } catch (err) {
      log.error({ err }, 'could not free Redis; trying again on the next error');
    }
  }

  /** Deletes the jobs a BullMQ set or list holds, and the set or list. */
  private async dropJobs(key: string, type: 'zset' | 'list'): Promise<number> {
    const { queue } = this.o;
    const redis = this.o.redis();
    const ids = type === 'zset' ? await redis.zrange(key, '0', '-1') : await redis.lrange(key, 0, -1);
    for (let i = 0; i < ids.length; i += 500) {
      await redis.del(ids.slice(i, i + 500).flatMap((id) => [queue.toKey(id), `${queue.toKey(id)}:logs`]));
    }
    await redis.del(key);
    return ids.length;
  }
}
