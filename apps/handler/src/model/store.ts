// The handler's state: every watched Service, pod and CriticalService, kept current from
// events and snapshots, with stale events (older resourceVersion) ignored.
import { objectKey, type Kind, type KubeObject, type QueueJob, type SyncJob } from '@critsvc/shared/model';
import { ListMarks } from './list-marks.ts';
import { isComparable, isOlderOrSame } from './resource-version.ts';
import type { PodLookup } from './pod-lookup.ts';
import { samePodForDecisions } from './same-pod.ts';
import { infoKey, parse, StoreObjects, type Info } from './store-objects.ts';
import { StoreVersions, type Ahead } from './store-versions.ts';
import type { CritInfo, PodInfo, ServiceInfo } from './types.ts';

export type Change =
  | { kind: 'Service'; before?: ServiceInfo; after?: ServiceInfo }
  | { kind: 'Pod'; before?: PodInfo; after?: PodInfo }
  | { kind: 'CriticalService'; before?: CritInfo; after?: CritInfo };

export type ApplyResult =
  | { outcome: 'changed'; changes: Change[] }
  | { outcome: 'stale' | 'unchanged' }
  | { outcome: 'invalid'; error: string }
  /** A list's SYNCED whose ADDED jobs did not all reach this state, in order: nothing removed; relist. */
  | { outcome: 'incomplete'; error: string };

export class Store {
  /** Services (also by namespace), pods and CriticalServices. */
  private readonly objects = new StoreObjects();
  readonly services: Map<string, ServiceInfo> = this.objects.services;
  readonly crits: Map<string, CritInfo> = this.objects.crits;
  /** Which list last named each object, and the lists whose SYNCED is awaited. */
  private readonly lists = new ListMarks();
  /** Tombstones, list versions, pod versions, the API server's revision and what the queue told beyond it. */
  private readonly versions: StoreVersions;

  constructor(now: () => number = Date.now) {
    this.versions = new StoreVersions(now);
  }

  /**
   * The newest pod resourceVersion the state reflects for a namespace: a live read "not older than"
   * it sees at least what the state saw (undefined: nothing taken yet).
   */
  podsAsOf(namespace: string): string | undefined {
    return this.versions.podsAsOf(namespace);
  }

  /**
   * A live list of the namespace's pods answered at this resourceVersion: it replaces what the
   * queue said, so that a version from the future in a forged job holds back one live read, not all.
   */
  podsListedLive(namespace: string, rv: string): void {
    this.versions.podsListedLive(namespace, rv);
  }

  /** A namespace's pods by lookup: for decisions. */
  podLookup(namespace: string): PodLookup {
    return this.objects.pods.lookup(namespace);
  }

  podsIn(namespace: string): Iterable<PodInfo> {
    return this.objects.pods.in(namespace);
  }

  allPods(): Iterable<PodInfo> {
    return this.objects.pods.all();
  }

  podCount(): number {
    return this.objects.pods.count;
  }

  get(kind: Kind, key: string): Info | undefined {
    return this.objects.get(kind, key);
  }

  private put(kind: Kind, info: Info): void {
    // That a list named this key holds whatever version replaces the one it named (a live read
    // replacing a forged version with an older true one, too): the mark stays with the key.
    info.listedIn ??= this.get(kind, infoKey(kind, info))?.listedIn;
    this.objects.put(kind, info);
  }

  private isStale(kind: Kind, key: string, namespace: string, rv: string): boolean {
    const current = this.get(kind, key);
    if (current) return isOlderOrSame(rv, current.resourceVersion);
    return this.versions.deletedSince(kind, key, namespace, rv);
  }

  apply(job: QueueJob): ApplyResult {
    return job.type === 'SYNCED' ? this.applySync(job) : this.applyListed(job);
  }

  /**
   * An event; one from a list (or one that superseded a list's ADDED in the watcher's outbox) also
   * marks the object it leaves in the state as named by that list, and is counted for its SYNCED.
   */
  private applyListed(job: Exclude<QueueJob, SyncJob>): ApplyResult {
    const result = this.applyEvent(job);
    if (job.list !== undefined)
      this.lists.named(
        job.list,
        result.outcome === 'invalid' ? undefined : this.get(job.kind, objectKey(job.object.metadata)),
      );
    return result;
  }

  private applyEvent(job: Exclude<QueueJob, SyncJob>): ApplyResult {
    const parsed = parse(job.kind, job.object);
    if (!parsed.ok) return { outcome: 'invalid', error: parsed.error };
    const info = parsed.value;
    const key = infoKey(job.kind, info);
    const ns = job.kind === 'CriticalService' ? '' : (info as PodInfo).namespace;
    const before = this.get(job.kind, key);
    if (job.kind === 'Pod') this.versions.notePodVersion(ns, info.resourceVersion);
    if (job.type === 'DELETED') {
      if (before && this.outlivesDeletion(before, info)) return { outcome: 'stale' }; // a deletion of an older incarnation
      this.versions.tombstone(job.kind, key, info.resourceVersion);
      this.versions.noteAhead({ what: 'object', kind: job.kind, key, rv: info.resourceVersion });
      if (!before) return { outcome: 'unchanged' };
      this.objects.remove(job.kind, key);
      return { outcome: 'changed', changes: [{ kind: job.kind, before } as Change] };
    }
    if (this.isStale(job.kind, key, ns, info.resourceVersion)) return { outcome: 'stale' };
    this.put(job.kind, info);
    this.versions.untombstone(job.kind, key);
    this.versions.noteAhead({ what: 'object', kind: job.kind, key, rv: info.resourceVersion });
    // Most pod updates (status details, annotations, other controllers' fields) change nothing
    // a decision reads: the new version is kept, no Service is decided again.
    if (job.kind === 'Pod' && before && samePodForDecisions(before as PodInfo, info as PodInfo))
      return { outcome: 'unchanged' };
    return { outcome: 'changed', changes: [{ kind: job.kind, before, after: info } as Change] };
  }

  /**
   * A DELETED says that at its resourceVersion no object of that name exists: whatever the state
   * holds at or below that version is gone, whatever its uid (coalescing may have hidden the
   * events in between, e.g. DELETED(A) ADDED(B) DELETED(B) arrives as DELETED(B) while A is held).
   * Only an object newer than the deletion survives it. Without comparable versions, the uid decides.
   */
  private outlivesDeletion(held: Info, deleted: Info): boolean {
    if (isComparable(held.resourceVersion) && isComparable(deleted.resourceVersion)) {
      return !isOlderOrSame(held.resourceVersion, deleted.resourceVersion);
    }
    return held.uid !== deleted.uid && deleted.uid !== '';
  }

  /**
   * What the API server just said of one object, whatever the state held (a queue job may have
   * lied, e.g. with a resourceVersion from the future): the API server is the truth.
   */
  repair(kind: Kind, obj: KubeObject): ApplyResult {
    const parsed = parse(kind, obj);
    if (!parsed.ok) return { outcome: 'invalid', error: parsed.error };
    const key = infoKey(kind, parsed.value);
    const before = this.get(kind, key);
    if (kind === 'Pod') this.versions.notePodVersion((parsed.value as PodInfo).namespace, parsed.value.resourceVersion);
    if (before && before.uid === parsed.value.uid && before.resourceVersion === parsed.value.resourceVersion)
      return { outcome: 'unchanged' };
    this.put(kind, parsed.value);
    this.versions.untombstone(kind, key);
    return { outcome: 'changed', changes: [{ kind, before, after: parsed.value } as Change] };
  }

  /** What the API server just said of one object: its live copy, or undefined when it has none (gone). */
  takeLive(kind: Kind, key: string, live: KubeObject | undefined): ApplyResult {
    return live ? this.repair(kind, live) : this.forget(kind, key);
  }

  /** The API server says this object does not exist. */
  forget(kind: Kind, key: string): ApplyResult {
    const before = this.get(kind, key);
    if (!before) return { outcome: 'unchanged' };
    this.objects.remove(kind, key);
    return { outcome: 'changed', changes: [{ kind, before } as Change] };
  }

  /**
   * A complete list: objects of that scope it did not name (and older than it) are gone. It named
   * those its ADDED jobs marked (`list`), which the queue delivered before it; or, from an older
   * watcher or an in-process list, it names every key.
   */
  private applySync(job: SyncJob): ApplyResult {
    const untrusted = job.keys ? undefined : this.lists.close(job.list ?? '', job.count);
    if (untrusted) return { outcome: 'incomplete', error: untrusted };
    const listed = job.keys ? new Set(job.keys) : undefined;
    const changes: Change[] = [];
    for (const info of [...this.objects.inScope(job.kind, job.scope)]) {
      const key = infoKey(job.kind, info);
      const named = listed ? listed.has(key) : info.listedIn === job.list;
      if (named || !isOlderOrSame(info.resourceVersion, job.resourceVersion)) continue;
      if (!listed) {
        // A watcher's marker, from the queue: that the object is gone is a claim the API server
        // confirms first (a forged marker naming a list of none would otherwise empty the scope).
        this.versions.claimGone(job.kind, key, job.resourceVersion);
        continue;
      }
      this.objects.remove(job.kind, key);
      this.versions.tombstone(job.kind, key, job.resourceVersion);
      changes.push({ kind: job.kind, before: info } as Change);
    }
    this.versions.markListed(job.kind, job.scope, job.resourceVersion);
    if (!job.keys) this.versions.noteAhead({ what: 'list', kind: job.kind, key: job.scope, rv: job.resourceVersion });
    return changes.length ? { outcome: 'changed', changes } : { outcome: 'unchanged' };
  }

  /** The handler's own start-up list, in one go: replaces what it knew of that scope. */
  loadList(
    kind: Kind,
    scope: string,
    resourceVersion: string,
    objects: KubeObject[],
  ): { invalid: { key: string; error: string }[] } {
    this.beginList(kind, scope);
    const invalid = this.addListed(kind, objects);
    this.endList(kind, scope, resourceVersion);
    return { invalid };
  }

  /** A paged list starts: forget that scope (nothing is decided before the list ends). */
  beginList(kind: Kind, scope: string): void {
    for (const info of [...this.objects.inScope(kind, scope)]) this.objects.remove(kind, infoKey(kind, info));
  }

  addListed(kind: Kind, objects: unknown[]): { key: string; error: string }[] {
    const invalid: { key: string; error: string }[] = [];
    for (const obj of objects as KubeObject[]) {
      const parsed = parse(kind, obj);
      if (parsed.ok) this.put(kind, parsed.value);
      else invalid.push({ key: objectKey(obj.metadata), error: parsed.error });
    }
    return invalid;
  }

  endList(kind: Kind, scope: string, resourceVersion: string): void {
    this.versions.markListed(kind, scope, resourceVersion);
    this.versions.noteRevision(resourceVersion);
  }

  /** The API server showed this resourceVersion (a list, a read, a probe of its newest revision). */
  noteRevision(rv: string): void {
    this.versions.noteRevision(rv);
  }

  /** How many things the queue told at a version the API server has not shown yet. */
  get aheadCount(): number {
    return this.versions.aheadCount;
  }

  /** The unconfirmed entries so far, handed over (and forgotten here) to be checked against a revision read after this call. */
  takeAhead(): Ahead[] {
    return this.versions.takeAhead();
  }

  /**
   * The API server's newest revision is `rv`, read after `entries` were taken: each entry beyond it
   * was a lie. Its deletion and list marks go (they would make true events look stale); the objects
   * it concerns are returned, to be read again. Pod versions the state claims beyond it go too.
   */
  refute(entries: Ahead[], rv: string): Ahead[] {
    return this.versions.refute(entries, rv);
  }

  /** What the queue said is gone, among these entries: to be read live before the state lets it go. */
  static claimedGone(entries: Ahead[]): Ahead[] {
    return entries.filter((a) => a.what === 'gone');
  }

  /** Every object the state holds of a kind in a scope ('' = all). */
  heldIn(kind: Kind, scope: string): Info[] {
    return [...this.objects.inScope(kind, scope)];
  }

  /** Services whose decision may differ after this change. */
  affectedServices(change: Change): Set<string> {
    const keys = this.affectedBy(change);
    keys.delete('');
    return keys;
  }

  private affectedBy(change: Change): Set<string> {
    if (change.kind === 'Service') return new Set([(change.after ?? change.before)?.key ?? '']);
    if (change.kind === 'Pod') return this.objects.affectedByPods([change.before, change.after]);
    return this.objects.affectedByCrits([change.before, change.after]);
  }

  servicesIn(namespace: string): Iterable<ServiceInfo> {
    return this.objects.servicesIn(namespace);
  }
}
