// Notices when Redis lost the queue's data: restarted (its run_id changes, whatever it reloaded)
// or emptied under us (a marker key the handler set is gone: FLUSHALL, a lost AOF). Either way
// the jobs the watchers had pushed may be gone, and the handler must list again. A Sentinel
// failover changes the run_id too (another node answers): told apart by the promoted node's
// master_replid2, which is the old primary's replication id; the data is there, but jobs the old
// primary had not yet replicated are not (replication is asynchronous), so it is a relist too.
import { once } from 'node:events';
import { Redis, type RedisOptions } from 'ioredis';

export type RedisChange = 'redis-restarted' | 'redis-data-lost' | 'redis-failover';

export class RedisIdentity {
  private runId: string | undefined;
  private replId: string | undefined;
  /** A plain connection of the handler's own (fails fast while Redis is away). */
  readonly redis: Redis;
  private readonly marker: string;

  constructor(options: RedisOptions, queueName: string) {
    // Fails fast while Redis is away: a check then simply reports nothing.
    this.redis = new Redis({ ...options, enableOfflineQueue: false, maxRetriesPerRequest: 1 });
    this.redis.on('error', () => undefined);
    this.marker = `critsvc:${queueName}:handler-marker`;
  }

  /** @returns what changed since the last check (undefined: nothing, or Redis unreachable). */
  async check(): Promise<RedisChange | undefined> {
    // Just (re)connecting: give it a moment rather than fail this check.
    if (this.redis.status !== 'ready') await once(this.redis, 'ready', { signal: AbortSignal.timeout(1_000) }).catch(() => undefined);
    const info = await this.redis.info('server');
    const runId = /run_id:(\w+)/.exec(info)?.[1];
    const repl = await this.redis.info('replication');
    const fresh = (await this.redis.set(this.marker, runId ?? '?', 'NX')) === 'OK';
    const before = { runId: this.runId, replId: this.replId };
    this.runId = runId;
    this.replId = /master_replid:(\w+)/.exec(repl)?.[1];
    if (before.runId === undefined) return undefined;
    if (runId !== before.runId) return /master_replid2:(\w+)/.exec(repl)?.[1] === before.replId && !fresh ? 'redis-failover' : 'redis-restarted';
    return fresh ? 'redis-data-lost' : undefined;
  }

  /** How full Redis is: used_memory over maxmemory (0 when it has no limit). */
  async fullness(): Promise<number> {
    const info = await this.redis.info('memory');
    const used = Number(/used_memory:(\d+)/.exec(info)?.[1] ?? 0);
    const max = Number(/maxmemory:(\d+)/.exec(info)?.[1] ?? 0);
    return max > 0 ? used / max : 0;
  }

  close(): void {
    this.redis.disconnect();
  }
}
