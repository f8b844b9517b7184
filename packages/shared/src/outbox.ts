// Events waiting to reach Redis, one per object (the newest event of an object supersedes the
// older one in its place: the handler is level-based; a list's SYNCED marker alone moves to the
// back, behind every object of its list), sent oldest first in batches.
// While sends succeed nothing is dropped: a list larger than the bound just drains. While they
// fail (Redis unreachable, or the queue's backlog at QUEUE_BACKLOG_MAX) the events wait here and
// are retried forever with backoff; if they outgrow the bound, they are dropped but the newest
// (its delivery is what tells that sends work again), later events replace it (they are older
// than the re-list to come), and once a send succeeds the owner re-lists, once, which re-sends
// every object: nothing that matters is lost, and no re-list happens while sends still fail (it
// would only overflow again).
import { getHeapStatistics } from 'node:v8';
import { Backoff, sleep } from './backoff.ts';
import type { Logger } from './logger.ts';
import { objectKey, type QueueJob } from './types.ts';

export interface OutboxOptions {
  send: (jobs: QueueJob[]) => Promise<void>;
  log: Logger;
  /** Most objects held while Redis is unreachable (see outboxBound). */
  maxObjects: number;
  /** Called once a send succeeds after events were dropped: the owner must re-list. */
  relist: () => void;
  batchSize?: number;
  /** Most events pending before a list waits between pages (see room()). */
  listRoom?: number;
  backoff?: Backoff;
}

// What one object costs the outbox while Redis is unreachable, as a list leaves it (stripped
// pod, queue job, Map entry): 935-948 bytes measured with `node --expose-gc
// scripts/outbox-size.ts` (Node 24, 20k and 100k Deployment pods, 2026-12-05; 991-1,004 while the
// SYNCED marker carried every key); rounded up.
const BYTES_PER_OBJECT = 1024;
// The rest of a watcher's heap: 40 MiB measured after its modules load (client-node, BullMQ,
// prom-client), plus a raw list page of 500 pods, a send batch and room for the GC.
const HEAP_RESERVE = 64 * 2 ** 20;
const MIN_OBJECTS = 1_000;
/**
 * Events pending before a list waits for sends between its pages: ten batches, enough to keep
 * Redis busy. Without it a list of 150,000 pods ran ahead of the sends to half the bound (32k
 * objects under deploy/'s limit) and the watcher's heap, then its RSS, grew with it.
 */
const LIST_ROOM = 5_000;

/**
 * The outbox bound: OUTBOX_MAX_OBJECTS, or with 0 what the V8 heap limit holds. A configured
 * bound the heap cannot hold is kept (the operator may know better) but warned about.
 */
export function outboxBound(
  configured: number,
  heapLimit = getHeapStatistics().heap_size_limit,
): { maxObjects: number; derived: number; warning?: string } {
  const derived = Math.max(MIN_OBJECTS, Math.floor((heapLimit - HEAP_RESERVE) / BYTES_PER_OBJECT));
  if (configured === 0) return { maxObjects: derived, derived };
  if (configured <= derived) return { maxObjects: configured, derived };
  const mib = Math.round(heapLimit / 2 ** 20);
  return {
    maxObjects: configured,
    derived,
    warning:
      `OUTBOX_MAX_OBJECTS=${configured} does not fit the ${mib} MiB heap limit (about ${BYTES_PER_OBJECT} bytes per object): at most ${derived} do; ` +
      'during a long Redis outage the watcher may run out of memory. Unset it (0 derives it from the heap) or raise --max-old-space-size in NODE_OPTIONS',
  };
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
  /** Events dropped past the bound since start. */
  dropped = 0;
  failing = false;
  /** Events were dropped; a re-list is due once a send succeeds again. */
  private overflowed = false;

  constructor(opts: OutboxOptions) {
    this.opts = opts;
    this.backoff = opts.backoff ?? new Backoff(200, 5_000);
  }

  get size(): number {
    return this.pending.size;
  }

  push(job: QueueJob): void {
    const key = keyOf(job);
    if (this.overflowed) {
      // The re-list to come carries this object too; keep only the newest event, as the probe.
      this.dropped += this.pending.size;
      this.pending.clear();
    } else if (job.type === 'SYNCED') {
      if (this.pending.delete(key)) this.coalesced++;
    } else {
      const older = this.pending.get(key)?.job;
      if (older) {
        // The newer event keeps the older one's place and, if that was a list's ADDED, its list:
        // the handler counts a list's jobs before its SYNCED, and would otherwise take the
        // object for gone there.
        this.coalesced++;
        if (older.type !== 'SYNCED' && older.list !== undefined && job.list === undefined)
          job = { ...job, list: older.list };
      }
    }
    this.pending.set(key, { job, seq: ++this.seq });
    if (this.failing) this.checkBound();
    this.wake?.();
  }

  /** While sends fail, past the bound: drop all but the newest event. */
  private checkBound(): void {
    if (this.pending.size <= this.opts.maxObjects) return;
    let newest: [string, { job: QueueJob; seq: number }] | undefined;
    for (const entry of this.pending) if (!newest || entry[1].seq > newest[1].seq) newest = entry;
    this.overflows++;
    this.dropped += this.pending.size - 1;
    this.opts.log.error(
      { pending: this.pending.size, max: this.opts.maxObjects },
      'outbox full while sends to the queue fail; dropping it and re-listing once a send succeeds',
    );
    this.pending.clear();
    if (newest) this.pending.set(newest[0], newest[1]);
    this.overflowed = true;
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
    const batch = this.oldest(this.opts.batchSize ?? 500);
    try {
      await this.opts.send(batch.map(([, v]) => v.job));
      for (const [key, v] of batch) {
        if (this.pending.get(key)?.seq === v.seq) this.pending.delete(key);
      }
      this.sent += batch.length;
      if (this.failing)
        this.opts.log.info(
          { pending: this.pending.size, relist: this.overflowed },
          'queue reachable again; delivering buffered events',
        );
      this.failing = false;
      this.backoff.reset();
      if (this.overflowed) {
        this.overflowed = false;
        this.opts.relist();
      }
    } catch (err) {
      const delay = this.backoff.next();
      if (!this.failing || this.backoff.failures % 10 === 0) {
        const full = err instanceof Error && err.name === 'QueueBacklogFull';
        this.opts.log.warn(
          { err, pending: this.pending.size, retryInMs: delay },
          full
            ? 'queue backlog full (handler down or behind); keeping events, one per object, and retrying'
            : 'cannot reach the queue; keeping events and retrying',
        );
      }
      this.failing = true;
      this.checkBound();
      await sleep(delay, this.stop.signal);
    }
  }

  /**
   * The oldest pending events, read off the map's iterator: copying every pending entry for each
   * batch would cost O(pending) per send, quadratic while a list of 150,000 objects drains.
   */
  private oldest(n: number): [string, { job: QueueJob; seq: number }][] {
    const batch: [string, { job: QueueJob; seq: number }][] = [];
    for (const entry of this.pending) {
      batch.push(entry);
      if (batch.length >= n) break;
    }
    return batch;
  }

  /**
   * Resolves once at most LIST_ROOM events (or half the bound, if less) are pending: a list waits
   * here between pages (back-pressure) instead of running ahead of the sends, and instead of
   * filling the outbox past what the heap holds while the queue's backlog is full (the handler
   * away or still listing) or Redis is unreachable.
   */
  async room(): Promise<void> {
    const most = Math.min(this.opts.maxObjects / 2, this.opts.listRoom ?? LIST_ROOM);
    while (this.pending.size > most && !this.stop.signal.aborted) await sleep(10, this.stop.signal);
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
