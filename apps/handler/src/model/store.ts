// The handler's state: every watched Service, pod and CriticalService, kept current from
// events and snapshots, with stale events (older resourceVersion) ignored.
import { objectKey, type Kind, type KubeObject, type QueueJob, type SyncJob } from '@critsvc/shared/model';
import { parseCriticalService, parsePod, parseService, type Parsed } from './parse.ts';
import { ListMarks } from './list-marks.ts';
import { isComparable, isOlderOrSame } from './resource-version.ts';
import { PodIndex } from './pod-index.ts';
import type { PodLookup } from './pod-lookup.ts';
import { critCovers, selectorMatches } from './rules.ts';
import type { CritInfo, PodInfo, ServiceInfo } from './types.ts';

export type Info = ServiceInfo | PodInfo | CritInfo;

/** Something the queue told at a resourceVersion the API server had not shown yet: an object's version or deletion (key), or a list's end (key: its scope). */
export interface Ahead {
  /** gone: a watcher's list did not return this object; the API server is asked whether it exists. */
  what: 'object' | 'list' | 'gone';
  kind: Kind;
  key: string;
  rv: string;
}

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

const TOMBSTONE_TTL_MS = 10 * 60_000;
const TOMBSTONE_MAX = 100_000;

function parse(kind: Kind, obj: KubeObject): Parsed<Info> {
  if (kind === 'Service') return parseService(obj);
  if (kind === 'Pod') return parsePod(obj);
  return parseCriticalService(obj);
}

function infoKey(kind: Kind, info: Info): string {
  return kind === 'CriticalService' ? info.name : (info as ServiceInfo | PodInfo).key;
}

export class Store {
  readonly services = new Map<string, ServiceInfo>();
  readonly crits = new Map<string, CritInfo>();
  private readonly pods = new PodIndex();
  /** The Services of each namespace: a pod event looks at its namespace's Services only. */
  private readonly servicesByNs = new Map<string, Map<string, ServiceInfo>>();
  /** kind/key → resourceVersion of its deletion, so a late ADDED cannot resurrect it. */
  private readonly tombstones = new Map<string, { rv: string; at: number }>();
  /** kind/scope → resourceVersion of the last complete list of that scope. */
  private readonly listedAt = new Map<string, string>();
  /** namespace ('' = every namespace) → the newest pod resourceVersion the state took there (event, list or live read). */
  private readonly podVersions = new Map<string, string>();
  /** Which list last named each object, and the lists whose SYNCED is awaited. */
  private readonly lists = new ListMarks();
  /** The newest resourceVersion the API server itself showed the handler (its own lists and reads). */
  private revision: bigint | undefined;
  /**
   * What the queue put in the state at a version beyond `revision`: objects, deletions and list
   * marks, by kind/key. Until the API server shows a revision that far, each is unconfirmed (see
   * takeAhead): a forged future version must not make the true events that follow look stale.
   */
  private ahead = new Map<string, Ahead>();
  private readonly now: () => number;

  constructor(now: () => number = Date.now) {
    this.now = now;
  }

  /**
   * The newest pod resourceVersion the state reflects for a namespace: a live read "not older than"
   * it sees at least what the state saw (undefined: nothing taken yet).
   */
  podsAsOf(namespace: string): string | undefined {
    return this.podVersions.get(namespace) ?? this.podVersions.get('');
  }

  /**
   * A live list of the namespace's pods answered at this resourceVersion: it replaces what the
   * queue said, so that a version from the future in a forged job holds back one live read, not all.
   */
  podsListedLive(namespace: string, rv: string): void {
    if (rv) this.podVersions.set(namespace, rv);
    this.noteRevision(rv);
  }

  private notePodVersion(scope: string, rv: string): void {
    this.podVersions.set(scope, newest(this.podVersions.get(scope), rv) ?? rv);
  }

  /** A namespace's pods by lookup: for decisions. */
  podLookup(namespace: string): PodLookup {
    return this.pods.lookup(namespace);
  }

  podsIn(namespace: string): Iterable<PodInfo> {
    return this.pods.in(namespace);
  }

  allPods(): Iterable<PodInfo> {
    return this.pods.all();
  }

  podCount(): number {
    return this.pods.count;
  }

  get(kind: Kind, key: string): Info | undefined {
    if (kind === 'Service') return this.services.get(key);
    if (kind === 'CriticalService') return this.crits.get(key);
    const [ns = '', name = ''] = key.split('/');
    return this.pods.get(ns, name);
  }

  private put(kind: Kind, info: Info): void {
    // That a list named this key holds whatever version replaces the one it named (a live read
    // replacing a forged version with an older true one, too): the mark stays with the key.
    info.listedIn ??= this.get(kind, infoKey(kind, info))?.listedIn;
    if (kind === 'Service') {
      const svc = info as ServiceInfo;
      this.services.set(svc.key, svc);
      let m = this.servicesByNs.get(svc.namespace);
      if (!m) this.servicesByNs.set(svc.namespace, (m = new Map()));
      m.set(svc.key, svc);
    } else if (kind === 'CriticalService') this.crits.set(info.name, info as CritInfo);
    else this.pods.set(info as PodInfo);
  }

  private remove(kind: Kind, key: string): void {
    if (kind === 'CriticalService') {
      this.crits.delete(key);
      return;
    }
    const [ns = '', name = ''] = key.split('/');
    if (kind === 'Pod') {
      this.pods.delete(ns, name);
      return;
    }
    this.services.delete(key);
    const m = this.servicesByNs.get(ns);
    m?.delete(key);
    if (m?.size === 0) this.servicesByNs.delete(ns);
  }

  private isStale(kind: Kind, key: string, namespace: string, rv: string): boolean {
    const current = this.get(kind, key);
    if (current) return isOlderOrSame(rv, current.resourceVersion);
    const tomb = this.tombstones.get(`${kind}/${key}`);
    if (tomb && isOlderOrSame(rv, tomb.rv)) return true;
    // Absent although a list taken at or after this version: it was deleted since.
    const listed = this.listedAt.get(`${kind}/${namespace}`) ?? this.listedAt.get(`${kind}/`);
    return listed !== undefined && isOlderOrSame(rv, listed);
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
    if (job.kind === 'Pod') this.notePodVersion(ns, info.resourceVersion);
    if (job.type === 'DELETED') {
      if (before && this.outlivesDeletion(before, info)) return { outcome: 'stale' }; // a deletion of an older incarnation
      this.tombstone(job.kind, key, info.resourceVersion);
      this.noteAhead({ what: 'object', kind: job.kind, key, rv: info.resourceVersion });
      if (!before) return { outcome: 'unchanged' };
      this.remove(job.kind, key);
      return { outcome: 'changed', changes: [{ kind: job.kind, before } as Change] };
    }
    if (this.isStale(job.kind, key, ns, info.resourceVersion)) return { outcome: 'stale' };
    this.put(job.kind, info);
    this.tombstones.delete(`${job.kind}/${key}`);
    this.noteAhead({ what: 'object', kind: job.kind, key, rv: info.resourceVersion });
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
    if (kind === 'Pod') this.notePodVersion((parsed.value as PodInfo).namespace, parsed.value.resourceVersion);
    if (before && before.uid === parsed.value.uid && before.resourceVersion === parsed.value.resourceVersion)
      return { outcome: 'unchanged' };
    this.put(kind, parsed.value);
    this.tombstones.delete(`${kind}/${key}`);
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
    this.remove(kind, key);
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
    for (const info of [...this.inScope(job.kind, job.scope)]) {
      const key = infoKey(job.kind, info);
      const named = listed ? listed.has(key) : info.listedIn === job.list;
      if (named || !isOlderOrSame(info.resourceVersion, job.resourceVersion)) continue;
      if (!listed) {
        // A watcher's marker, from the queue: that the object is gone is a claim the API server
        // confirms first (a forged marker naming a list of none would otherwise empty the scope).
        this.ahead.set(`gone/${job.kind}/${key}`, { what: 'gone', kind: job.kind, key, rv: job.resourceVersion });
        continue;
      }
      this.remove(job.kind, key);
      this.tombstone(job.kind, key, job.resourceVersion);
      changes.push({ kind: job.kind, before: info } as Change);
    }
    this.markListed(job.kind, job.scope, job.resourceVersion);
    if (!job.keys) this.noteAhead({ what: 'list', kind: job.kind, key: job.scope, rv: job.resourceVersion });
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
    for (const info of [...this.inScope(kind, scope)]) this.remove(kind, infoKey(kind, info));
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
    this.markListed(kind, scope, resourceVersion);
    this.noteRevision(resourceVersion);
  }

  /** The API server showed this resourceVersion (a list, a read, a probe of its newest revision). */
  noteRevision(rv: string): void {
    if (!isComparable(rv)) return;
    const v = BigInt(rv);
    if (this.revision === undefined || v > this.revision) this.revision = v;
  }

  private noteAhead(a: Ahead): void {
    if (!isComparable(a.rv) || (this.revision !== undefined && BigInt(a.rv) <= this.revision)) return;
    this.ahead.set(`${a.what}/${a.kind}/${a.key}`, a);
  }

  /** How many things the queue told at a version the API server has not shown yet. */
  get aheadCount(): number {
    return this.ahead.size;
  }

  /** The unconfirmed entries so far, handed over (and forgotten here) to be checked against a revision read after this call. */
  takeAhead(): Ahead[] {
    const out = [...this.ahead.values()];
    this.ahead = new Map();
    return out;
  }

  /**
   * The API server's newest revision is `rv`, read after `entries` were taken: each entry beyond it
   * was a lie. Its deletion and list marks go (they would make true events look stale); the objects
   * it concerns are returned, to be read again. Pod versions the state claims beyond it go too.
   */
  refute(entries: Ahead[], rv: string): Ahead[] {
    this.noteRevision(rv);
    if (!isComparable(rv)) return [];
    const now = BigInt(rv);
    const lies = entries.filter((a) => a.what !== 'gone' && isComparable(a.rv) && BigInt(a.rv) > now);
    const beyond = (v: string | undefined): boolean => v !== undefined && isComparable(v) && BigInt(v) > now;
    for (const a of lies) {
      const id = `${a.kind}/${a.key}`;
      if (a.what === 'list' && beyond(this.listedAt.get(id))) this.listedAt.delete(id);
      if (a.what === 'object' && beyond(this.tombstones.get(id)?.rv)) this.tombstones.delete(id);
    }
    for (const [ns, v] of this.podVersions) if (beyond(v)) this.podVersions.set(ns, rv);
    return lies.filter((a) => a.what === 'object');
  }

  /** What the queue said is gone, among these entries: to be read live before the state lets it go. */
  static claimedGone(entries: Ahead[]): Ahead[] {
    return entries.filter((a) => a.what === 'gone');
  }

  /** Every object the state holds of a kind in a scope ('' = all). */
  heldIn(kind: Kind, scope: string): Info[] {
    return [...this.inScope(kind, scope)];
  }

  private markListed(kind: Kind, scope: string, rv: string): void {
    if (kind === 'Pod') this.notePodVersion(scope, rv);
    const prev = this.listedAt.get(`${kind}/${scope}`);
    if (prev === undefined || isOlderOrSame(prev, rv)) this.listedAt.set(`${kind}/${scope}`, rv);
  }

  private *inScope(kind: Kind, scope: string): Iterable<Info> {
    if (kind === 'CriticalService') yield* this.crits.values();
    else if (kind === 'Service') yield* scope === '' ? this.services.values() : this.servicesIn(scope);
    else if (scope === '') yield* this.allPods();
    else yield* this.podsIn(scope);
  }

  private tombstone(kind: Kind, key: string, rv: string): void {
    const now = this.now();
    this.tombstones.delete(`${kind}/${key}`);
    this.tombstones.set(`${kind}/${key}`, { rv, at: now });
    for (const [k, t] of this.tombstones) {
      if (this.tombstones.size <= TOMBSTONE_MAX && now - t.at < TOMBSTONE_TTL_MS) break;
      this.tombstones.delete(k);
    }
  }

  /** Services whose decision may differ after this change. */
  affectedServices(change: Change): Set<string> {
    const keys = this.affectedBy(change);
    keys.delete('');
    return keys;
  }

  private affectedBy(change: Change): Set<string> {
    if (change.kind === 'Service') return new Set([(change.after ?? change.before)?.key ?? '']);
    if (change.kind === 'Pod') return this.affectedByPods([change.before, change.after]);
    return this.affectedByCrits([change.before, change.after]);
  }

  /** The Service a default pod is for, and every Service selecting the pod, before and after. */
  private affectedByPods(pods: (PodInfo | undefined)[]): Set<string> {
    const keys = new Set<string>();
    for (const pod of pods) {
      if (!pod) continue;
      if (pod.forService !== undefined) keys.add(`${pod.namespace}/${pod.forService}`);
      for (const svc of this.servicesIn(pod.namespace))
        if (selectorMatches(svc.selector, pod.labels)) keys.add(svc.key);
    }
    return keys;
  }

  private affectedByCrits(crits: (CritInfo | undefined)[]): Set<string> {
    const keys = new Set<string>();
    for (const crit of crits) {
      if (!crit) continue;
      for (const svc of this.services.values()) if (critCovers(crit, svc)) keys.add(svc.key);
    }
    return keys;
  }

  servicesIn(namespace: string): Iterable<ServiceInfo> {
    return this.servicesByNs.get(namespace)?.values() ?? [];
  }
}

/** Everything about a pod that decisions, expectations and status read, compared (not its resourceVersion). */
export function samePodForDecisions(a: PodInfo, b: PodInfo): boolean {
  return (
    a.uid === b.uid &&
    a.owned === b.owned &&
    a.standby === b.standby &&
    a.legacy === b.legacy &&
    a.forService === b.forService &&
    a.terminating === b.terminating &&
    a.phase === b.phase &&
    a.ready === b.ready &&
    a.hasIP === b.hasIP &&
    sameLabels(a.labels, b.labels) &&
    sameOwners(a.owners, b.owners)
  );
}

function sameLabels(a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>): boolean {
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  return ka.every((k) => a[k] === b[k]);
}

function sameOwners(a: PodInfo['owners'], b: PodInfo['owners']): boolean {
  if (a === undefined || b === undefined) return a === b;
  return (
    a.length === b.length &&
    a.every((o, i) => o.uid === b[i]?.uid && o.name === b[i]?.name && o.controller === b[i]?.controller)
  );
}

/**
 * The newer of two resourceVersions; when they cannot be compared (not etcd revisions), the one
 * taken last (b): whichever it is, a live read at it sees what the state saw of its stream.
 */
function newest(a: string | undefined, b: string | undefined): string | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return isComparable(a) && isComparable(b) && isOlderOrSame(b, a) ? a : b;
}
