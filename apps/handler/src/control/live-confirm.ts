// The live check before (or just after) a create: the API server must agree that the Service is
// lame and critical, since queue payloads are hints. When it does not, the state is repaired from
// what it said, and a pod created meanwhile is deleted again at once.
import { logError } from '@critsvc/shared';
import { awaited, logFor, type ActionParts } from './act-support.ts';
import { StateDisagrees } from './action-errors.ts';
import { EXPECTATION_TTL_MS } from './expectations.ts';
import type { CreateResult, PodRef } from '../kube/kube-actions.ts';
import { confirmCreate, selectorString } from '../model/live-check.ts';
import type { CritInfo, ServiceInfo } from '../model/types.ts';

/**
 * How long after a failover's create its live check waits: until the scheduler, the kubelet and
 * the EndpointSlice controller have done their part (its reads would slow theirs), long before a
 * real kubelet would start a pod created on a lie.
 */
export const CHECK_AFTER_MS = 100;

/**
 * What a live check judges against. decidedAt: the version of the pods the decision saw; creating:
 * the default pod already created (the check follows the create), for which only pods as of
 * decidedAt count (a pod changed since is the world moving on: its events take over).
 */
export interface CheckAt {
  decidedAt?: string;
  creating?: string;
}

/** A failover's create whose live check is due (kept in the Service's record). */
export interface DueCheck {
  svc: ServiceInfo;
  covering: CritInfo[];
  result: CreateResult;
  due: number;
  at: CheckAt & { creating: string };
}

/** What the check after a create found: the API server agreed, disagreed (the pod went again), or could not be asked. */
export type CheckVerdict = 'agreed' | 'disagreed' | 'unchecked';

export class LiveConfirm {
  private readonly o: ActionParts;

  constructor(o: ActionParts) {
    this.o = o;
  }

  /**
   * The live check of an unchecked create, once CHECK_AFTER_MS passed (the decision worker calls
   * this first). When it disagreed, the pod was deleted again and the state repaired (the Service
   * is decided again on it). When the check cannot be made (the API server unreachable), the pod
   * stays: a missing default pod is the outage critsvc exists to prevent. Owners the API server
   * has otherwise are repaired in the state, then on the pod (the owners action).
   */
  async checkCreated(key: string, due: DueCheck): Promise<CheckVerdict> {
    // The queue keeps one timer per Service: the check's replaced the create's TTL requeue.
    if (this.o.expectations.inFlight(key).creating)
      this.o.queue.addAfter(key, EXPECTATION_TTL_MS + 1_000 - CHECK_AFTER_MS);
    const { svc, covering, result, at } = due;
    try {
      await this.confirmLame(key, svc, covering, at);
      return 'agreed';
    } catch (err) {
      if (!(err instanceof StateDisagrees)) {
        logFor(this.o.log, key).warn(
          { err: logError(err), pod: at.creating },
          'the live check after the create failed; the default pod stays',
        );
        return 'unchecked';
      }
      if (result.result !== 'created') return 'disagreed';
      try {
        await this.undoCreate(key, svc, at.creating, result.uid);
      } catch (undoErr) {
        // The delete failed (the pod changed meanwhile, the API server): the repaired state
        // decides it again, and the pod goes as any default pod no longer wanted.
        logFor(this.o.log, key).warn(
          { err: logError(undoErr), pod: at.creating },
          'could not delete the default pod created while the live check ran; the Service is decided again',
        );
        this.o.queue.addRateLimited(key);
      }
      return 'disagreed';
    }
  }

  /** The live check disagreed after the create: the pod just made goes, at once (our own, checked live as every delete). */
  private async undoCreate(key: string, svc: ServiceInfo, podName: string, uid: string): Promise<void> {
    this.o.expectations.clearCreate(key);
    const ref: PodRef = { namespace: svc.namespace, name: podName, uid, service: svc.name };
    const result = await awaited(this.o, key, { kind: 'delete', uid }, () => this.o.kube.deletePod(ref, true));
    this.o.metrics.actions.inc({ action: 'undo', result });
    if (result !== 'deleted') this.o.expectations.clearDelete(uid);
    logFor(this.o.log, key).warn(
      { pod: podName, ns: svc.namespace, uid, result },
      'default pod created while the live check ran deleted again: the API server disagreed with the state',
    );
  }

  /**
   * The state says the Service is lame and critical; the API server must agree (queue payloads
   * are hints). When it does not, the state is repaired from what it said and the Service decided
   * again (StateDisagrees; `suspect`: its next creates wait for the check). Gives the covering
   * CriticalServices as read now; when some the state has are gone (only those that cover it
   * count), the state takes them too, and the owners action follows. creating: the pod created
   * meanwhile, for the log.
   */
  async confirmLame(key: string, svc: ServiceInfo, covering: CritInfo[], at: CheckAt): Promise<CritInfo[]> {
    // Each read at least as new as the state (from the API server's watch cache; see freshRead).
    const [service, listed, crits] = await Promise.all([
      this.o.kube.readService(svc.namespace, svc.name, svc.resourceVersion),
      this.o.kube.listPods(svc.namespace, selectorString(svc.selector), this.o.store.podsAsOf(svc.namespace)),
      Promise.all(covering.map((c) => this.o.kube.readCriticalService(c.name, c.resourceVersion))),
    ]);
    this.o.store.podsListedLive(svc.namespace, listed.resourceVersion);
    this.o.confirmed.note('Service', svc.key, service);
    covering.forEach((c, i) => this.o.confirmed.note('CriticalService', c.name, crits[i]));
    const pods = listed.items;
    const view = { service, pods, crits };
    const asDecided = at.decidedAt === undefined ? view : { ...view, decidedAt: at.decidedAt };
    const { NAMESPACES: watched, READY_PODS_ONLY: readyOnly } = this.o.cfg;
    const verdict = confirmCreate(svc, at.creating ? asDecided : view, watched, readyOnly);
    if (verdict.ok) {
      const live = new Set(verdict.owners.map((o) => o.uid));
      if (covering.some((c) => !live.has(c.uid)))
        this.o.applyLive(covering.map((c, i) => this.o.store.takeLive('CriticalService', c.name, crits[i])));
      return verdict.owners;
    }
    this.o.metrics.liveDisagreements.inc();
    // Only pods changed since the decision disagree: the state was behind (the watchers race at a
    // Service's birth), not wrong; no reason to doubt the next failover.
    const behind = !at.creating && confirmCreate(svc, asDecided, watched, readyOnly).ok;
    logFor(this.o.log, key).warn(
      { why: verdict.why, ...(at.creating ? { pod: at.creating } : {}), ...(behind ? { behind } : {}) },
      at.creating
        ? 'the API server disagrees with the state; the default pod created meanwhile is deleted, state repaired'
        : 'the API server disagrees with the state; default pod not created, state repaired',
    );
    this.o.applyLive([
      this.o.store.takeLive('Service', svc.key, service),
      ...pods.map((p) => this.o.store.repair('Pod', p)),
      ...covering.map((c, i) => this.o.store.takeLive('CriticalService', c.name, crits[i])),
    ]);
    throw new StateDisagrees(verdict.why, { suspect: !behind });
  }
}
