// What the Store knows of resourceVersions: deletions (tombstones), complete lists, the newest pod
// version per namespace, and the API server's own revision with what the queue told beyond it.
import type { Kind } from '@critsvc/shared/model';
import { isComparable, isOlderOrSame } from './resource-version.ts';

/** Something the queue told at a resourceVersion the API server had not shown yet: an object's version or deletion (key), or a list's end (key: its scope). */
export interface Ahead {
  /** gone: a watcher's list did not return this object; the API server is asked whether it exists. */
  what: 'object' | 'list' | 'gone';
  kind: Kind;
  key: string;
  rv: string;
}

const TOMBSTONE_TTL_MS = 10 * 60_000;
const TOMBSTONE_MAX = 100_000;

export class StoreVersions {
  /** kind/key → resourceVersion of its deletion, so a late ADDED cannot resurrect it. */
  private readonly tombstones = new Map<string, { rv: string; at: number }>();
  /** kind/scope → resourceVersion of the last complete list of that scope. */
  private readonly listedAt = new Map<string, string>();
  /** namespace ('' = every namespace) → the newest pod resourceVersion the state took there (event, list or live read). */
  private readonly podVersions = new Map<string, string>();
  /** The newest resourceVersion the API server itself showed the handler (its own lists and reads). */
  private revision: bigint | undefined;
  /**
   * What the queue put in the state at a version beyond `revision`: objects, deletions and list
   * marks, by kind/key. Until the API server shows a revision that far, each is unconfirmed (see
   * takeAhead): a forged future version must not make the true events that follow look stale.
   */
  private ahead = new Map<string, Ahead>();
  private readonly now: () => number;

  constructor(now: () => number) {
    this.now = now;
  }

  /** See Store.podsAsOf. */
  podsAsOf(namespace: string): string | undefined {
    return this.podVersions.get(namespace) ?? this.podVersions.get('');
  }

  /** See Store.podsListedLive. */
  podsListedLive(namespace: string, rv: string): void {
    if (rv) this.podVersions.set(namespace, rv);
    this.noteRevision(rv);
  }

  notePodVersion(scope: string, rv: string): void {
    this.podVersions.set(scope, newest(this.podVersions.get(scope), rv) ?? rv);
  }

  /** An object the state does not hold, at this version: deleted since (a tombstone or a list at or after it says so). */
  deletedSince(kind: Kind, key: string, namespace: string, rv: string): boolean {
    const tomb = this.tombstones.get(`${kind}/${key}`);
    if (tomb && isOlderOrSame(rv, tomb.rv)) return true;
    // Absent although a list taken at or after this version: it was deleted since.
    const listed = this.listedAt.get(`${kind}/${namespace}`) ?? this.listedAt.get(`${kind}/`);
    return listed !== undefined && isOlderOrSame(rv, listed);
  }

  /** The object is back (or read live): its tombstone goes. */
  untombstone(kind: Kind, key: string): void {
    this.tombstones.delete(`${kind}/${key}`);
  }

  tombstone(kind: Kind, key: string, rv: string): void {
    const now = this.now();
    this.tombstones.delete(`${kind}/${key}`);
    this.tombstones.set(`${kind}/${key}`, { rv, at: now });
    for (const [k, t] of this.tombstones) {
      if (this.tombstones.size <= TOMBSTONE_MAX && now - t.at < TOMBSTONE_TTL_MS) break;
      this.tombstones.delete(k);
    }
  }

  markListed(kind: Kind, scope: string, rv: string): void {
    if (kind === 'Pod') this.notePodVersion(scope, rv);
    const prev = this.listedAt.get(`${kind}/${scope}`);
    if (prev === undefined || isOlderOrSame(prev, rv)) this.listedAt.set(`${kind}/${scope}`, rv);
  }

  /** See Store.noteRevision. */
  noteRevision(rv: string): void {
    if (!isComparable(rv)) return;
    const v = BigInt(rv);
    if (this.revision === undefined || v > this.revision) this.revision = v;
  }

  noteAhead(a: Ahead): void {
    if (!isComparable(a.rv) || (this.revision !== undefined && BigInt(a.rv) <= this.revision)) return;
    this.ahead.set(`${a.what}/${a.kind}/${a.key}`, a);
  }

  /** A watcher's list did not name this object: unconfirmed until the API server is asked. */
  claimGone(kind: Kind, key: string, rv: string): void {
    this.ahead.set(`gone/${kind}/${key}`, { what: 'gone', kind, key, rv });
  }

  get aheadCount(): number {
    return this.ahead.size;
  }

  /** See Store.takeAhead. */
  takeAhead(): Ahead[] {
    const out = [...this.ahead.values()];
    this.ahead = new Map();
    return out;
  }

  /** See Store.refute. */
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
