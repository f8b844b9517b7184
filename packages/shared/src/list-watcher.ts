// List, then watch from the list's resourceVersion, forever. What a bare Watch does not do:
// resume after a clean close from the last resourceVersion, re-list on 410 Gone (sending a
// SYNCED marker so objects deleted during the gap are noticed), bookmarks, a stall timeout,
// reconnect with backoff and jitter, and no exception ever escaping a callback.
import { Watch, type KubeConfig } from '@kubernetes/client-node';
import { Backoff, sleep } from './backoff.ts';
import { apiMessage, httpStatus, type RawPage } from './kube.ts';
import type { Logger } from './logger.ts';
import { stripObject } from './strip.ts';
import { objectKey, type Kind, type QueueJob, type WatchEventType } from './types.ts';

/** One page of a list, as the API server returns it. */
export type ListPage = RawPage;

export interface WatchTarget {
  kind: Kind;
  /** A namespace, or '' for all namespaces / a cluster-scoped resource. */
  scope: string;
  /** e.g. /api/v1/namespaces/ns/pods */
  path: string;
  list: (opts: { limit: number; continue?: string }) => Promise<ListPage>;
}

export interface ListWatcherOptions {
  kc: KubeConfig;
  target: WatchTarget;
  push: (job: QueueJob) => void;
  log: Logger;
  timeoutSeconds: number;
  stallSeconds: number;
  onEvent?: (type: string) => void;
  now?: () => number;
  /** Resume from this resourceVersion instead of listing first (as after a reconnect). */
  resumeFrom?: string;
}

type WatchEnd = { reason: 'closed' | 'gone' | 'stopped' | 'relist' } | { reason: 'error'; err: unknown };

const LIST_PAGE = 500;
const WATCH_TYPES = new Set(['ADDED', 'MODIFIED', 'DELETED']);

export class ListWatcher {
  private readonly opts: ListWatcherOptions;
  private readonly backoff = new Backoff(250, 30_000);
  private readonly stopCtl = new AbortController();
  private current: AbortController | undefined;
  private relistRequested = false;
  private resourceVersion: string | undefined;
  private running: Promise<void> | undefined;
  /** Set once the first list was handed to the outbox. */
  synced = false;
  lists = 0;
  watches = 0;

  constructor(opts: ListWatcherOptions) {
    this.opts = opts;
    this.resourceVersion = opts.resumeFrom;
  }

  start(): void {
    this.running ??= this.loop();
  }

  /** Drop the watch and list again (e.g. after the outbox overflowed). */
  requestRelist(): void {
    this.relistRequested = true;
    this.current?.abort();
  }

  async stop(): Promise<void> {
    this.stopCtl.abort();
    this.current?.abort();
    await this.running;
  }

  private get log(): Logger {
    return this.opts.log;
  }

  private async loop(): Promise<void> {
    const { kind, scope } = this.opts.target;
    while (!this.stopCtl.signal.aborted) {
      try {
        if (this.resourceVersion === undefined || this.relistRequested) {
          this.relistRequested = false;
          this.resourceVersion = await this.listAll();
        }
        const end = await this.watchOnce(this.resourceVersion);
        if (end.reason === 'gone') {
          this.log.info({ kind, scope, resourceVersion: this.resourceVersion }, 'watch expired (410 Gone); re-listing');
          this.resourceVersion = undefined;
        } else if (end.reason === 'error') {
          throw end.err;
        } else if (end.reason === 'closed') {
          this.backoff.reset();
        }
      } catch (err) {
        if (this.stopCtl.signal.aborted) break;
        if (httpStatus(err) === 410) {
          this.resourceVersion = undefined;
          continue;
        }
        const delay = this.backoff.next();
        this.log.warn({ kind, scope, err: apiMessage(err), retryInMs: delay }, 'list/watch failed; retrying');
        await sleep(delay, this.stopCtl.signal);
      }
    }
  }

  /** Pages through the list, pushes every object, then a SYNCED marker with every key. */
  private async listAll(): Promise<string> {
    const { target, push, log } = this.opts;
    const keys: string[] = [];
    let cont: string | undefined;
    let rv: string;
    const jobs: QueueJob[] = [];
    do {
      const page = await target.list({ limit: LIST_PAGE, ...(cont ? { continue: cont } : {}) });
      for (const item of page.items) {
        const object = stripObject(target.kind, item);
        keys.push(objectKey(object.metadata));
        jobs.push({ kind: target.kind, type: 'ADDED', object, seenAt: this.now() });
      }
      rv = page.resourceVersion;
      cont = page.continue || undefined;
    } while (cont);
    // Pushed only once the list is whole: a list that failed half-way sends nothing.
    for (const job of jobs) push(job);
    push({ kind: target.kind, type: 'SYNCED', scope: target.scope, resourceVersion: rv, keys, seenAt: this.now() });
    this.lists++;
    this.synced = true;
    this.backoff.reset();
    log.info({ kind: target.kind, scope: target.scope, objects: keys.length, resourceVersion: rv }, 'listed');
    return rv;
  }

  private now(): number {
    return (this.opts.now ?? Date.now)();
  }

  private watchOnce(rv: string): Promise<WatchEnd> {
    const { kc, target, timeoutSeconds, stallSeconds } = this.opts;
    const watch = new Watch(kc);
    // The client aborts a watch that delivers nothing for this long: our stall detector.
    Object.assign(watch, { requestTimeoutMs: stallSeconds * 1000 });
    this.watches++;
    return new Promise<WatchEnd>((resolve) => {
      let gone = false;
      const onEvent = (type: string, obj: unknown): void => {
        try {
          gone ||= this.handleEvent(type, obj);
          if (gone) this.current?.abort();
        } catch (err) {
          this.log.error({ kind: target.kind, err }, 'error while handling a watch event; skipped');
        }
      };
      const done = (err: unknown): void => {
        if (this.stopCtl.signal.aborted) return resolve({ reason: 'stopped' });
        if (gone) return resolve({ reason: 'gone' });
        if (this.relistRequested) return resolve({ reason: 'relist' });
        if (err === null || err === undefined) return resolve({ reason: 'closed' });
        if (httpStatus(err) === 410) return resolve({ reason: 'gone' });
        const name = err instanceof Error || err instanceof DOMException ? err.name : '';
        if (name === 'TimeoutError') {
          this.log.warn({ kind: target.kind, scope: target.scope, stallSeconds }, 'watch stalled (nothing received, not even a bookmark); reconnecting');
          return resolve({ reason: 'closed' });
        }
        if (name === 'AbortError') return resolve({ reason: 'closed' });
        resolve({ reason: 'error', err });
      };
      // Spread the server-side timeouts so that all watchers do not reconnect at once.
      const timeout = Math.round(timeoutSeconds * (1 + Math.random() * 0.2));
      watch.watch(target.path, { allowWatchBookmarks: true, resourceVersion: rv, timeoutSeconds: timeout }, onEvent, done)
        .then((c) => {
          this.current = c;
          if (this.stopCtl.signal.aborted || this.relistRequested) c.abort();
        })
        .catch((err: unknown) => resolve({ reason: 'error', err }));
    });
  }

  /** @returns true when the watch reported 410 Gone and must be replaced by a list. */
  private handleEvent(type: string, obj: unknown): boolean {
    const { target, onEvent } = this.opts;
    onEvent?.(type);
    const rv = resourceVersionOf(obj);
    if (type === 'ERROR') return this.handleError(obj);
    if (type === 'BOOKMARK') {
      if (rv) this.resourceVersion = rv;
      return false;
    }
    if (WATCH_TYPES.has(type)) this.pushObject(type as WatchEventType, obj, rv);
    else this.log.warn({ kind: target.kind, type }, 'unknown watch event type; skipped');
    return false;
  }

  /** @returns true for 410 Gone. */
  private handleError(obj: unknown): boolean {
    const code = typeof obj === 'object' && obj !== null && 'code' in obj ? obj.code : undefined;
    if (code === 410) return true;
    this.log.warn({ kind: this.opts.target.kind, status: obj }, 'watch reported an error');
    return false;
  }

  private pushObject(type: WatchEventType, obj: unknown, rv: string | undefined): void {
    const { target, push } = this.opts;
    const object = stripObject(target.kind, obj);
    if (!object.metadata?.name) {
      this.log.warn({ kind: target.kind, type }, 'watch event without metadata.name; skipped');
      return;
    }
    push({ kind: target.kind, type, object, seenAt: this.now() });
    if (rv) this.resourceVersion = rv;
  }
}

function resourceVersionOf(obj: unknown): string | undefined {
  if (typeof obj !== 'object' || obj === null || !('metadata' in obj)) return undefined;
  const m = obj.metadata;
  if (typeof m !== 'object' || m === null || !('resourceVersion' in m)) return undefined;
  return typeof m.resourceVersion === 'string' ? m.resourceVersion : undefined;
}
