// List, then watch from the list's resourceVersion, forever. What a bare Watch does not do:
// resume after a clean close from the last resourceVersion, re-list on 410 Gone (sending a
// SYNCED marker so objects deleted during the gap are noticed), bookmarks, a stall timeout,
// reconnect with backoff and jitter, and no exception ever escaping a callback.
//
// Quiet is not stalled. What kube-apiserver sends on a watch where nothing changes
// (k8s.io/apiserver v0.36.3, the version the local cluster runs):
// - served from the watch cache: a bookmark roughly every minute and one 2 s before the
//   request's deadline (storage/cacher/cache_watcher.go nextBookmarkTime; cacher.go
//   defaultBookmarkFrequency = time.Minute), and only if allowWatchBookmarks is set;
// - served by etcd (--watch-cache=false, or a resource without a cache): nothing at all, since
//   the etcd watcher asks etcd for progress notifications only for the cacher's own watch
//   (storage/etcd3/watcher.go; ProgressNotify is set in cacher/lister_watcher.go only);
// - either way, at timeoutSeconds the handler returns and the response ends cleanly
//   (endpoints/handlers/watch.go serveWatch: `case <-timeoutCh: return`).
// So the only sure sign of a stall is a watch still open past its own timeout plus a margin.
import type { KubeConfig } from '@kubernetes/client-node';
import { Watch } from '@kubernetes/client-node/dist/watch.js';
import { Backoff, sleep } from './backoff.ts';
import { preciseNow } from './clock.ts';
import { httpStatus, logError } from './kube.ts';
import { listInto, type ListedJob, type WatchTarget } from './list-into.ts';
import type { Logger } from './logger.ts';
import { stripObject } from './strip.ts';
import type { Kind, KubeObject, WatchEventType } from './types.ts';
import { eventEffect, watchEnd, watchTimeouts, type WatchEnd } from './watch-events.ts';

export type { ListedJob, ListPage, WatchTarget } from './list-into.ts';

export interface ListWatcherOptions<K extends string = Kind> {
  kc: KubeConfig;
  target: WatchTarget<K>;
  push: (job: ListedJob<K>) => void;
  /** What is kept of each object: by default the queue's trimming of the kind. */
  strip?: (obj: unknown) => KubeObject;
  log: Logger;
  /** Server-side timeout of one watch request, before the jitter (WATCH_TIMEOUT_SECONDS). */
  timeoutSeconds: number;
  /** A watch still open this long after its server-side timeout is stalled (WATCH_STALL_SECONDS). */
  stallSeconds: number;
  onEvent?: (type: string) => void;
  /**
   * Awaited before each page of a list: resolves once the consumer has room again (back-pressure).
   * A list is pushed page by page, so a watcher holds one page and its outbox, not the whole list.
   */
  room?: () => Promise<void>;
  now?: () => number;
  /** Resume from this resourceVersion instead of listing first (as after a reconnect). */
  resumeFrom?: string;
}

export class ListWatcher<K extends string = Kind> {
  private readonly opts: ListWatcherOptions<K>;
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

  constructor(opts: ListWatcherOptions<K>) {
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
        } else if (end.reason === 'closed' || end.reason === 'stalled') {
          this.backoff.reset();
        }
      } catch (err) {
        if (this.stopCtl.signal.aborted) break;
        if (httpStatus(err) === 410) {
          this.resourceVersion = undefined;
          continue;
        }
        const delay = this.backoff.next();
        this.log.warn({ kind, scope, err: logError(err), retryInMs: delay }, 'list/watch failed; retrying');
        await sleep(delay, this.stopCtl.signal);
      }
    }
  }

  /** Pages through the list, pushes every object, then the list's SYNCED marker. */
  private async listAll(): Promise<string> {
    const { target, push, log } = this.opts;
    const {
      resourceVersion: rv,
      list,
      count,
    } = await listInto({
      target,
      push,
      strip: (o) => this.strip(o),
      now: () => this.now(),
      ...(this.opts.room ? { room: this.opts.room } : {}),
    });
    push({
      kind: target.kind,
      type: 'SYNCED',
      scope: target.scope,
      resourceVersion: rv,
      list,
      count,
      seenAt: this.now(),
    });
    this.lists++;
    this.synced = true;
    this.backoff.reset();
    log.info({ kind: target.kind, scope: target.scope, objects: count, resourceVersion: rv }, 'listed');
    return rv;
  }

  private strip(obj: unknown): KubeObject {
    return this.opts.strip ? this.opts.strip(obj) : stripObject(this.opts.target.kind as Kind, obj);
  }

  private now(): number {
    return (this.opts.now ?? preciseNow)();
  }

  private watchOnce(rv: string): Promise<WatchEnd> {
    const { kc, target, timeoutSeconds, stallSeconds } = this.opts;
    const { serverSeconds, stallMs } = watchTimeouts(timeoutSeconds, stallSeconds);
    const watch = new Watch(kc);
    // client-node's own timer bounds the wait for the response headers (it then restarts on
    // every chunk); ours runs from the request on: the server must have ended the watch by then.
    Object.assign(watch, { requestTimeoutMs: stallMs });
    this.watches++;
    return new Promise<WatchEnd>((resolve) => {
      let gone = false;
      let stalled = false;
      const deadline = setTimeout(() => {
        stalled = true;
        this.current?.abort();
      }, stallMs);
      deadline.unref();
      const onEvent = (type: string, obj: unknown): void => {
        try {
          gone ||= this.handleEvent(type, obj);
          if (gone) this.current?.abort();
        } catch (err) {
          this.log.error({ kind: target.kind, err }, 'error while handling a watch event; skipped');
        }
      };
      const done = (err: unknown): void => {
        clearTimeout(deadline);
        const end = watchEnd(
          { stopped: this.stopCtl.signal.aborted, gone, relist: this.relistRequested, stalled },
          err,
        );
        if (end.reason === 'stalled') {
          this.log.warn(
            { kind: target.kind, scope: target.scope, timeoutSeconds: serverSeconds, stallSeconds },
            'watch stalled (still open past its server-side timeout plus WATCH_STALL_SECONDS); reconnecting',
          );
        }
        resolve(end);
      };
      watch
        .watch(
          target.path,
          { ...target.query, allowWatchBookmarks: true, resourceVersion: rv, timeoutSeconds: serverSeconds },
          onEvent,
          done,
        )
        .then((c) => {
          this.current = c;
          if (this.stopCtl.signal.aborted || this.relistRequested || stalled) c.abort();
        })
        .catch((err: unknown) => done(err));
    });
  }

  /** @returns true when the watch reported 410 Gone and must be replaced by a list. */
  private handleEvent(type: string, obj: unknown): boolean {
    const { target, onEvent } = this.opts;
    onEvent?.(type);
    const e = eventEffect(type, obj);
    switch (e.effect) {
      case 'gone':
        return true;
      case 'error':
        this.log.warn({ kind: target.kind, status: obj }, 'watch reported an error');
        return false;
      case 'bookmark':
        if (e.resourceVersion) this.resourceVersion = e.resourceVersion;
        return false;
      case 'object':
        this.pushObject(e.type, obj, e.resourceVersion);
        return false;
      default:
        this.log.warn({ kind: target.kind, type }, 'unknown watch event type; skipped');
        return false;
    }
  }

  private pushObject(type: WatchEventType, obj: unknown, rv: string | undefined): void {
    const { target, push } = this.opts;
    const object = this.strip(obj);
    if (!object.metadata?.name) {
      this.log.warn({ kind: target.kind, type }, 'watch event without metadata.name; skipped');
      return;
    }
    push({ kind: target.kind, type, object, seenAt: this.now() });
    if (rv) this.resourceVersion = rv;
  }
}
