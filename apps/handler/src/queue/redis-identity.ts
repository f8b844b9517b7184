// Notices when Redis lost the queue's data: restarted (its run_id changes, whatever it reloaded)
// or emptied under us (a marker key the handler set is gone: FLUSHALL, a lost AOF). Either way
// the jobs the watchers had pushed may be gone, and the handler must list again. A Sentinel
// failover changes the run_id too (another node answers): told apart by the promoted node's
// master_replid2, which is the old primary's replication id; the data is there, but jobs the old
// primary had not yet replicated are not (replication is asynchronous), so it is a relist too.
import { once } from 'node:events';
import { Redis, type RedisOptions } from 'ioredis';

export type RedisChange = 'redis-restarted' | 'redis-data-lost' | 'redis-failover';

/** Checks failed in a row (one every 2 s) after which the connection is replaced by a new one. */
export const REPLACE_AFTER_FAILURES = 3;

export class RedisIdentity {
  private runId: string | undefined;
  private replId: string | undefined;
  private client: Redis;
  private failures = 0;
  private readonly options: RedisOptions;
  private readonly marker: string;

  constructor(options: RedisOptions, queueName: string) {
    this.options = options;
    this.client = this.connect();
    this.marker = `critsvc:${queueName}:handler-marker`;
  }

  /** A plain connection of the handler's own (fails fast while Redis is away). */
  get redis(): Redis {
    return this.client;
  }

  private connect(): Redis {
    // Fails fast while Redis is away: a check then simply reports nothing.
    const redis = new Redis({ ...this.options, enableOfflineQueue: false, maxRetriesPerRequest: 1 });
    redis.on('error', () => undefined);
    return redis;
  }

  /**
   * @returns what changed since the last check (undefined: nothing)
   * @throws when Redis is unreachable; after REPLACE_AFTER_FAILURES such checks in a row the
   * connection is replaced: ioredis can leave one that never comes back after a Sentinel failover
   */
  async check(): Promise<RedisChange | undefined> {
    try {
      const change = await this.read();
      this.failures = 0;
      return change;
    } catch (err) {
      if (++this.failures >= REPLACE_AFTER_FAILURES) {
        this.failures = 0;
        this.client.disconnect();
        this.client = this.connect();
      }
      throw err;
    }
  }

  private async read(): Promise<RedisChange | undefined> {
    const redis = this.client;
    // Just (re)connecting: give it a moment rather than fail this check.
    if (redis.status !== 'ready')
      await once(redis, 'ready', { signal: AbortSignal.timeout(1_000) }).catch(() => undefined);
    const info = await redis.info('server');
    const runId = /run_id:(\w+)/.exec(info)?.[1];
    const repl = await redis.info('replication');
    const fresh = (await redis.set(this.marker, runId ?? '?', 'NX')) === 'OK';
    const before = { runId: this.runId, replId: this.replId };
    this.runId = runId;
    this.replId = /master_replid:(\w+)/.exec(repl)?.[1];
    if (before.runId === undefined) return undefined;
    if (runId !== before.runId)
      return /master_replid2:(\w+)/.exec(repl)?.[1] === before.replId && !fresh ? 'redis-failover' : 'redis-restarted';
    return fresh ? 'redis-data-lost' : undefined;
  }

  /** How full Redis is: used_memory over maxmemory (0 when it has no limit). */
  async fullness(): Promise<number> {
    const info = await this.client.info('memory');
    const used = Number(/used_memory:(\d+)/.exec(info)?.[1] ?? 0);
    const max = Number(/maxmemory:(\d+)/.exec(info)?.[1] ?? 0);
    return max > 0 ? used / max : 0;
  }

  close(): void {
    this.client.disconnect();
  }
}
