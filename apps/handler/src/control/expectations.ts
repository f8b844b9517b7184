// Our own creates and deletes not yet seen back on the watch, so that a decision taken in the
// meantime does not repeat them. They expire: a lost watch event must not block a Service
// (the controller decides the Service again when they do).
import type { InFlight, PodInfo } from '../model/types.ts';

export const EXPECTATION_TTL_MS = 30_000;
const TTL_MS = EXPECTATION_TTL_MS;

/** One of our writes awaited: a create or warm pod for a Service (its key), a delete or promotion of a pod (its uid). */
export type Expected =
  | { kind: 'create'; key: string; podName: string }
  | { kind: 'standby'; key: string }
  | { kind: 'promote'; uid: string }
  | { kind: 'delete'; uid: string };

export class Expectations {
  private readonly creating = new Map<string, { podName: string; until: number }>();
  private readonly deleting = new Map<string, number>();
  /** Services whose warm pod (hot standby) was asked for and not yet seen: its name is the API server's. */
  private readonly standbyCreating = new Map<string, number>();
  /** Warm pods relabelled into their Service, not yet seen so: they are its default pod already. */
  private readonly promoting = new Map<string, number>();
  private readonly now: () => number;

  constructor(now: () => number = Date.now) {
    this.now = now;
  }

  expectCreate(serviceKey: string, podName: string): void {
    this.creating.set(serviceKey, { podName, until: this.now() + TTL_MS });
  }

  expectDelete(uid: string): void {
    this.deleting.set(uid, this.now() + TTL_MS);
  }

  expectStandby(serviceKey: string): void {
    this.standbyCreating.set(serviceKey, this.now() + TTL_MS);
  }

  clearStandby(serviceKey: string): void {
    this.standbyCreating.delete(serviceKey);
  }

  expectPromote(uid: string): void {
    this.promoting.set(uid, this.now() + TTL_MS);
  }

  clearPromote(uid: string): void {
    this.promoting.delete(uid);
  }

  clearCreate(serviceKey: string): void {
    this.creating.delete(serviceKey);
  }

  clearDelete(uid: string): void {
    this.deleting.delete(uid);
  }

  /** A write about to be sent: what to expect back on the watch. */
  expect(e: Expected): void {
    if (e.kind === 'create') this.expectCreate(e.key, e.podName);
    else if (e.kind === 'standby') this.expectStandby(e.key);
    else if (e.kind === 'promote') this.expectPromote(e.uid);
    else this.expectDelete(e.uid);
  }

  /** The write failed (or was refused): nothing to expect. */
  clear(e: Expected): void {
    if (e.kind === 'create') this.clearCreate(e.key);
    else if (e.kind === 'standby') this.clearStandby(e.key);
    else if (e.kind === 'promote') this.clearPromote(e.uid);
    else this.clearDelete(e.uid);
  }

  /** A pod seen on the watch settles what we expected of it. */
  observe(before: PodInfo | undefined, after: PodInfo | undefined): void {
    if (after?.owned && after.forService !== undefined) {
      const key = `${after.namespace}/${after.forService}`;
      if (this.creating.get(key)?.podName === after.name) this.creating.delete(key);
      if (after.standby) this.standbyCreating.delete(key);
      else this.promoting.delete(after.uid);
    }
    if (before && !after) {
      this.deleting.delete(before.uid);
      this.promoting.delete(before.uid);
    }
  }

  /**
   * The watch said this pod is gone. Its ADDED may never have come (the watchers coalesce an
   * ADDED and a DELETED of one pod into the DELETED): a create we waited for is settled by it.
   * @returns the Services whose awaited pod this was; they must be decided again.
   */
  gone(namespace: string, name: string, uid: string): string[] {
    this.deleting.delete(uid);
    this.promoting.delete(uid);
    const settled: string[] = [];
    for (const [key, c] of this.creating) {
      if (c.podName === name && key.startsWith(`${namespace}/`)) settled.push(key);
    }
    for (const key of settled) this.creating.delete(key);
    return settled;
  }

  /** The Services whose create was sent and not yet seen back (expired ones dropped). */
  creatingKeys(): string[] {
    const now = this.now();
    for (const [key, c] of this.creating) if (c.until < now) this.creating.delete(key);
    return [...this.creating.keys()];
  }

  inFlight(serviceKey: string): InFlight {
    const now = this.now();
    const c = this.creating.get(serviceKey);
    if (c && c.until < now) this.creating.delete(serviceKey);
    const s = this.standbyCreating.get(serviceKey);
    if (s !== undefined && s < now) this.standbyCreating.delete(serviceKey);
    for (const map of [this.deleting, this.promoting]) for (const [uid, until] of map) if (until < now) map.delete(uid);
    return {
      creating: this.creating.has(serviceKey),
      deleting: new Set(this.deleting.keys()),
      creatingStandby: this.standbyCreating.has(serviceKey),
      promoting: new Set(this.promoting.keys()),
    };
  }
}
