// How the handler's state is filled from the API server, the truth: the start-up list, the lists
// refused for good (a forbidden namespace, the CRD missing; retried in the background and
// reported), and the relists that repair what the event queue lost.
import {
  apiMessage,
  CRD_GROUP,
  CRD_PLURAL,
  CRD_VERSION,
  httpStatus,
  logError,
  objectKey,
  type Kind,
  type KubeObject,
  type Logger,
  type QueueJob,
} from '@critsvc/shared';
import type { KubeActions } from './kube-actions.ts';
import type { HandlerMetrics } from '../metrics/metrics.ts';
import { isComparable, isOlderOrSame } from '../model/resource-version.ts';
import type { Change, Store } from '../model/store.ts';

/** How often lists the API server refused are tried again (CriticalService status says 30 s too). */
export const UNLISTED_RETRY_MS = 30_000;
/** Objects a relist reads again one by one because the state holds them and the list did not return them, at most. */
const UNLISTED_READS = 200;

export interface ListTarget {
  kind: Kind;
  scope: string;
  path: string;
}

export interface StateLoaderOptions {
  namespaces: readonly string[];
  kube: KubeActions;
  store: Store;
  log: Logger;
  metrics: HandlerMetrics;
  /** A change the loader made to the state: the Services it affects are decided again. */
  onChange: (change: Change, seenAt: number) => void;
  /** Which namespaces are unprotected changed: CriticalService status must say so. */
  statusChanged: () => void;
  /** A scope refused until now was listed: decide everything again. */
  scopeListed: () => void;
  /** An object as a list or a read gave it (key as the state has it; undefined: gone). */
  listed?: (kind: Kind, key: string, live: KubeObject | undefined) => void;
}

/** An object's key in the state: namespace/name, a CriticalService (cluster-scoped) by its name. */
function stateKey(kind: Kind, object: KubeObject): string {
  return kind === 'CriticalService' ? (object.metadata?.name ?? '') : objectKey(object.metadata);
}

/** The API server will keep saying no (forbidden, not found): retrying at once will not help. */
function isRefusal(err: unknown): boolean {
  const code = httpStatus(err);
  return code === 401 || code === 403 || code === 404;
}

/** `a` is a later resourceVersion than `b` (both comparable). */
function isNewer(a: string, b: string): boolean {
  return isComparable(a) && isComparable(b) && !isOlderOrSame(a, b);
}

export class StateLoader {
  /** Lists the API server refused (kind/scope), retried in the background. */
  private readonly unlistedLists = new Map<string, { target: ListTarget; message: string }>();
  /** Namespaces ('' = all) those refusals leave unprotected → the API server's message. */
  readonly unlisted = new Map<string, string>();
  private relisting = false;
  private readonly o: StateLoaderOptions;

  constructor(o: StateLoaderOptions) {
    this.o = o;
  }

  private scopes(): string[] {
    return this.o.namespaces.length ? [...this.o.namespaces] : [''];
  }

  /** What the handler lists: CriticalServices, then Services and pods of each watched scope. */
  private lists(): ListTarget[] {
    return [
      { kind: 'CriticalService', scope: '', path: `/apis/${CRD_GROUP}/${CRD_VERSION}/${CRD_PLURAL}` },
      ...this.scopes().flatMap((ns) => [
        { kind: 'Service' as const, scope: ns, path: ns ? `/api/v1/namespaces/${ns}/services` : '/api/v1/services' },
        { kind: 'Pod' as const, scope: ns, path: ns ? `/api/v1/namespaces/${ns}/pods` : '/api/v1/pods' },
      ]),
    ];
  }

  /**
   * The start-up list: every kind and scope, page by page. A list the API server refuses for good
   * (a namespace the handler may not read, the CRD not installed) does not hold the others back:
   * it is reported and retried in the background (retryUnlisted). Transient failures are retried here.
   * One list after the other, one page at a time, on purpose: measured at 20,000 pods on the local
   * cluster (2 shared cores), the three lists at once with the next page asked for ahead was slower
   * (state complete median 5.5 s against 4.1 s, 7 runs each), the next page ahead alone too (4.9 s
   * against 4.4 s, 4 runs): the handler and the API server compete for the same cores. Pods come
   * in protobuf and POD_LIST_PAGE to a page: at 150,000 pods that took the state from 40.5 s to
   * 17-23 s here (the API server's cost per page grows with the pods it holds).
   */
  async loadAll(signal: AbortSignal): Promise<void> {
    let pending = this.lists();
    for (let attempt = 1; pending.length > 0 && !signal.aborted; attempt++) {
      const failed: ListTarget[] = [];
      for (const l of pending) if (!(await this.loadAtStart(l, attempt))) failed.push(l);
      pending = failed;
      if (pending.length) await new Promise((r) => setTimeout(r, Math.min(30_000, 500 * 2 ** Math.min(attempt, 6))));
    }
  }

  /** @returns false when the list must be tried again now (a transient failure). */
  private async loadAtStart(l: ListTarget, attempt: number): Promise<boolean> {
    try {
      await this.load(l.kind, l.scope, l.path);
      return true;
    } catch (err) {
      this.o.metrics.apiErrors.inc({ op: 'list' });
      if (isRefusal(err)) {
        this.markUnlisted(l, err);
        return true;
      }
      this.o.log.warn(
        { kind: l.kind, scope: l.scope || '*', err: logError(err), attempt },
        'start-up list failed; retrying',
      );
      return false;
    }
  }

  /** The API server refused this list: its scope is unprotected until a retry succeeds. */
  private markUnlisted(l: ListTarget, err: unknown): void {
    const message = apiMessage(err);
    const key = `${l.kind}/${l.scope}`;
    if (this.unlistedLists.get(key)?.message !== message) {
      this.o.log.error(
        { kind: l.kind, scope: l.scope || '*', err: logError(err), retryInMs: UNLISTED_RETRY_MS },
        'cannot list; this scope is not protected until it can; the others are',
      );
    }
    this.unlistedLists.set(key, { target: l, message });
    if (l.kind !== 'CriticalService') this.unlisted.set(l.scope, message);
    this.o.statusChanged();
  }

  /** Lists refused at start-up, tried again: a scope that can be listed now joins the state. */
  async retryUnlisted(): Promise<void> {
    for (const [key, { target }] of [...this.unlistedLists]) {
      try {
        await this.relistOne(target.kind, target.scope, target.path);
      } catch (err) {
        if (isRefusal(err)) this.markUnlisted(target, err);
        continue;
      }
      this.unlistedLists.delete(key);
      if (
        ![...this.unlistedLists.values()].some(
          (u) => u.target.scope === target.scope && u.target.kind !== 'CriticalService',
        )
      )
        this.unlisted.delete(target.scope);
      this.o.log.info({ kind: target.kind, scope: target.scope || '*' }, 'listed at last; this scope is protected now');
      this.o.scopeListed();
    }
  }

  /**
   * Lists everything again and diffs it into the state, as queue events would have: repairs what
   * the queue lost (Redis restarted empty, a job that failed for good). Objects newer in
   * the state than the list are read again one by one: an event that came during the list, or
   * a lie from the queue. Counts what it had to repair.
   */
  async relist(reason: string): Promise<void> {
    if (this.relisting) return;
    this.relisting = true;
    const started = Date.now();
    const drift: Record<string, number> = {};
    try {
      for (const l of this.lists())
        drift[l.kind] = (drift[l.kind] ?? 0) + (await this.relistOne(l.kind, l.scope, l.path));
      const total = Object.values(drift).reduce((a, b) => a + b, 0);
      for (const [kind, n] of Object.entries(drift)) if (n) this.o.metrics.relistDrift.inc({ kind }, n);
      this.o.metrics.relists.inc({ reason });
      const fields = { reason, drift, ms: Date.now() - started };
      if (total) this.o.log.warn(fields, 'relisted: the state had drifted from the API server; repaired');
      else this.o.log.info(fields, 'relisted: the state matched the API server');
    } catch (err) {
      this.o.metrics.apiErrors.inc({ op: 'list' });
      this.o.log.warn({ reason, err: logError(err) }, 'relist failed; the next one retries');
    } finally {
      this.relisting = false;
    }
  }

  private async relistOne(kind: Kind, scope: string, path: string): Promise<number> {
    const keys: string[] = [];
    const doubtful: KubeObject[] = [];
    let rv = '';
    let drift = 0;
    const seenAt = Date.now();
    for await (const page of this.o.kube.listPages(kind, path)) {
      this.o.store.noteRevision(page.resourceVersion);
      for (const object of page.items as KubeObject[]) {
        keys.push(objectKey(object.metadata));
        const key = stateKey(kind, object);
        this.o.listed?.(kind, key, object);
        const held = this.o.store.get(kind, key);
        if (held && isNewer(held.resourceVersion, page.resourceVersion)) doubtful.push(object);
        drift += this.applyRepair({ kind, type: 'ADDED', object, seenAt });
      }
      rv = page.resourceVersion;
    }
    drift += this.applyRepair({ kind, type: 'SYNCED', scope, resourceVersion: rv, keys, seenAt });
    for (const object of doubtful) drift += await this.readAgain(kind, object);
    drift += await this.dropUnlisted(kind, scope, new Set(keys));
    return drift;
  }

  /**
   * What the state still holds of that scope although the list did not return it: only a version
   * newer than the list kept it past SYNCED, and only the queue said so. The API server decides,
   * one read each (a ghost with a forged version goes; an object created during the list stays);
   * beyond UNLISTED_READS such objects are dropped unread (their next event brings them back).
   */
  private async dropUnlisted(kind: Kind, scope: string, listed: ReadonlySet<string>): Promise<number> {
    const held = this.o.store
      .heldIn(kind, scope)
      .filter((info) => !listed.has(kind === 'CriticalService' ? info.name : (info as { key: string }).key));
    let drift = 0;
    for (const [i, info] of held.entries()) {
      const key = kind === 'CriticalService' ? info.name : (info as { key: string }).key;
      const [namespace = '', name = ''] = kind === 'CriticalService' ? ['', key] : key.split('/');
      const live = i < UNLISTED_READS ? await this.readLive(kind, namespace, name) : undefined;
      this.o.listed?.(kind, key, live);
      const r = this.o.store.takeLive(kind, key, live);
      if (r.outcome !== 'changed') continue;
      for (const change of r.changes) this.o.onChange(change, Date.now());
      drift += 1;
    }
    return drift;
  }

  /** Applies what a list said; 1 when the state had to change. */
  private applyRepair(job: QueueJob): number {
    const result = this.o.store.apply(job);
    if (result.outcome !== 'changed') return 0;
    for (const change of result.changes) this.o.onChange(change, job.seenAt);
    return result.changes.length;
  }

  private readLive(kind: Kind, namespace: string, name: string): Promise<KubeObject | undefined> {
    if (kind === 'Pod') return this.o.kube.readPod(namespace, name);
    if (kind === 'Service') return this.o.kube.readService(namespace, name);
    return this.o.kube.readCriticalService(name);
  }

  /** The state holds a version newer than the list: ask the API server for this one object. */
  private async readAgain(kind: Kind, listed: KubeObject): Promise<number> {
    const { namespace = '', name = '' } = listed.metadata ?? {};
    const live = await this.readLive(kind, namespace, name);
    const key = kind === 'CriticalService' ? name : `${namespace}/${name}`;
    this.o.listed?.(kind, key, live);
    const held = this.o.store.get(kind, key);
    if (live && held && live.metadata?.resourceVersion === held.resourceVersion) return 0;
    const r = this.o.store.takeLive(kind, key, live);
    if (r.outcome !== 'changed') return 0;
    for (const change of r.changes) this.o.onChange(change, Date.now());
    return 1;
  }

  /** Page by page: only one page of raw objects is held at a time, however big the cluster. */
  private async load(kind: Kind, scope: string, path: string): Promise<void> {
    this.o.store.beginList(kind, scope);
    let rv = '';
    for await (const page of this.o.kube.listPages(kind, path)) {
      if (kind !== 'Pod' && this.o.listed) {
        for (const object of page.items as KubeObject[]) this.o.listed(kind, stateKey(kind, object), object);
      }
      for (const bad of this.o.store.addListed(kind, page.items))
        this.o.log.warn({ kind, key: bad.key, error: bad.error }, 'malformed object skipped');
      rv = page.resourceVersion;
    }
    this.o.store.endList(kind, scope, rv);
  }
}
