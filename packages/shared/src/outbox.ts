// Events waiting to reach Redis. While Redis is unreachable they wait here, one per object
// (the newest event of an object supersedes older ones: the handler is level-based), and are
// retried forever with backoff. If even that grows past its bound, the watcher re-lists once
// Redis is back, which re-sends every object: nothing that matters is lost.
import { Backoff, sleep } from './backoff.ts';
import type { Logger } from './logger.ts';
import { objectKey, type QueueJob } from './types.ts';

export interface OutboxOptions {
  send: (jobs: QueueJob[]) => Promise<void>;
  log: Logger;
  maxObjects: number;
  /** Called when the bound was hit and pending events were dropped: the owner must re-list. */
  onOverflow: () => void;
  batchSize?: number;
  backoff?: Backoff;
}

function keyOf(job: QueueJob): string {
  return job.type === 'SYNCED' ? `synced:${job.kind}/${job.scope}` : `${job.kind}/${objectKey(job.object.metadata)}`;
}

export class Outbox {
  private readonly pending = new Map<string, { job: QueueJob; seq: number }>();
  private seq = 0;
  private wake: (() => void) | undefined;
  private readonly stop = new AbortController();
  private readonly opts: OutboxOptions;
  private readonly backoff: Backoff;
  private running: Promise<void> | undefined;
  sent = 0;
  coalesced = 0;
  overflows = 0;
  failing = false;

  constructor(opts: OutboxOptions) {
    this.opts = opts;
    this.backoff = opts.backoff ?? new Backoff(200, 5_000);
  }

  get size(): number {
    return this.pending.size;
  }

  push(job: QueueJob): void {
    const key = keyOf(job);
    if (this.pending.delete(key)) this.coalesced++;
    this.pending.set(key, { job, seq: ++this.seq });
    if (this.pending.size > this.opts.maxObjects) {
      this.overflows++;
      this.opts.log.error({ pending: this.pending.size, max: this.opts.maxObjects }, 'outbox full while Redis is unreachable; dropping it and re-listing once Redis is back');
      this.pending.clear();
      this.opts.onOverflow();
    }
    this.wake?.();
  }

  start(): void {
    this.running ??= this.loop();
  }

  private async loop(): Promise<void> {
    while (!this.stop.signal.aborted) {
      if (this.pending.size === 0) {
        await new Promise<void>((r) => {
          this.wake = r;
          this.stop.signal.addEventListener('abort', () => r(), { once: true });
        });
        this.wake = undefined;
        continue;
      }
      await this.sendBatch();
    }
  }

  private async sendBatch(): Promise<void> {
    const batch = [...this.pending.entries()].slice(0, this.opts.batchSize ?? 500);
    try {
      await this.opts.send(batch.map(([, v]) => v.job));
      for (const [key, v] of batch) {
        if (this.pending.get(key)?.seq === v.seq) this.pending.delete(key);
      }
      this.sent += batch.length;
      if (this.failing) this.opts.log.info({ pending: this.pending.size }, 'queue reachable again; delivering buffered events');
      this.failing = false;
      this.backoff.reset();
    } catch (err) {
      const delay = this.backoff.next();
      if (!this.failing || this.backoff.failures % 10 === 0) {
        this.opts.log.warn({ err, pending: this.pending.size, retryInMs: delay }, 'cannot reach the queue; keeping events and retrying');
      }
      this.failing = true;
      await sleep(delay, this.stop.signal);
    }
  }

  /** Waits until everything pending was sent (or the timeout passes); for clean shutdown. */
  async drain(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (this.pending.size > 0 && Date.now() < deadline) await sleep(50);
    return this.pending.size === 0;
  }

  async close(): Promise<void> {
    this.stop.abort();
    await this.running;
  }
}
