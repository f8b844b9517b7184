// What the controller's decisions do to the cluster: each action's API calls, awaited as
// expectations, with the live checks before a create or a delete, and what is said of each
// (metrics, logs, Events). The Controller decides and keeps the records; this carries out and
// says what came of it (an Outcome), changing nothing of the controller's.
import { awaited, logFor, podRef, repairPod, type ActionParts } from './act-support.ts';
import { StateDisagrees } from './action-errors.ts';
import { Creates, type CreateContext } from './creates.ts';
import { LiveConfirm, type CheckVerdict, type DueCheck } from './live-confirm.ts';
import { RemovalGuard } from '../kube/removal-guard.ts';
import type { Action } from '../model/decide.ts';
import { buildStandbyPod, controllerCrit } from '../model/default-pod.ts';

/** At hand-back, how often the Service's EndpointSlices are read again until the real pod's endpoint is ready there. */
export const HANDBACK_POLL_MS = 200;

/**
 * What an action came to, for the Service's record. pod-given: the Service has a default pod now
 * (created, or a warm pod promoted); `check`: the live check due after an unchecked create;
 * `confirmed`: the live check before the create confirmed an outage.
 */
export type Outcome = { kind: 'done' } | { kind: 'pod-given'; check?: DueCheck; confirmed: boolean };

const DONE: Outcome = { kind: 'done' };

export class Actions {
  private readonly o: ActionParts;
  private readonly removals: RemovalGuard;
  private readonly live: LiveConfirm;
  private readonly creates: Creates;

  constructor(o: ActionParts) {
    this.o = o;
    this.removals = new RemovalGuard({
      cfg: o.cfg,
      kube: o.kube,
      store: o.store,
      log: o.log,
      metrics: o.metrics,
      applyLive: o.applyLive,
    });
    this.live = new LiveConfirm(o);
    this.creates = new Creates(o, this.live);
  }

  /** ctx: what the Service's record says (served before, suspect); see Creates.create. */
  async act(key: string, action: Action, ctx: CreateContext): Promise<Outcome> {
    if (action.type === 'create') return { kind: 'pod-given', ...(await this.creates.create(key, action, ctx)) };
    if (action.type === 'promote') return this.promote(key, action);
    if (action.type === 'owners') await this.setOwners(key, action);
    else if (action.type === 'standby') await this.createStandby(key, action);
    else await this.deleteOurs(key, action);
    return DONE;
  }

  /** The live check after an unchecked create, once due (see LiveConfirm.checkCreated). */
  checkCreated(key: string, due: DueCheck): Promise<CheckVerdict> {
    return this.live.checkCreated(key, due);
  }

  /** The Service left the state: what the removal guard kept for it goes too. */
  forget(key: string): void {
    this.removals.forget(key);
  }

  private async deleteOurs(key: string, action: Extract<Action, { type: 'delete' }>): Promise<void> {
    const { pod, reason } = action;
    if (!(await this.removalConfirmed(key, action))) return;
    const result = await awaited(this.o, key, { kind: 'delete', uid: pod.uid }, () =>
      this.o.kube.deletePod(podRef(key, pod), action.force),
    );
    this.o.metrics.actions.inc({ action: 'delete', result });
    if (result === 'refused' || result === 'replaced') {
      this.o.expectations.clearDelete(pod.uid);
      if (result === 'refused')
        logFor(this.o.log, key).warn(
          { pod: pod.name, ns: pod.namespace, uid: pod.uid },
          "not deleting a pod whose live object lacks critsvc's ownership marks (the queue said otherwise)",
        );
    }
    if (result !== 'deleted') await repairPod(this.o, pod, result);
    if (result === 'refused') return;
    if (result === 'deleted') this.o.clock.deleted(key);
    this.o.timeline.done(key, 'delete');
    logFor(this.o.log, key).info({ pod: pod.name, ns: pod.namespace, reason, result }, 'default pod deleted');
    const svc = this.o.store.services.get(key);
    if (svc && result === 'deleted')
      await this.o.reporter.event(svc, 'Normal', 'DefaultPodDeleted', `deleted default pod ${pod.name} (${reason})`);
  }

  /**
   * A delete that takes the Service's protection away goes only on the API server's word (see
   * RemovalGuard). False: not yet (at hand-back, the real pod's endpoint is not ready yet; the
   * Service is decided again shortly). Throws StateDisagrees when the state was wrong (repaired).
   */
  private async removalConfirmed(key: string, { pod, reason }: Extract<Action, { type: 'delete' }>): Promise<boolean> {
    if (!RemovalGuard.needed(reason, pod)) return true;
    const verdict = await this.removals.check(key, reason, pod);
    if (verdict.ok) return true;
    if (!verdict.wait) throw new StateDisagrees(verdict.why);
    this.o.queue.addAfter(key, HANDBACK_POLL_MS);
    return false;
  }

  /** The GC deletes a pod once every owner is gone: the owners must be the CriticalServices covering it now. */
  private async setOwners(key: string, action: Extract<Action, { type: 'owners' }>): Promise<void> {
    const { pod, owners, stale } = action;
    const result = await this.o.kube.patchPodOwners(podRef(key, pod), owners, stale);
    this.o.metrics.actions.inc({ action: 'owners', result });
    if (result !== 'patched') await repairPod(this.o, pod, result);
    if (result === 'refused') {
      logFor(this.o.log, key).warn(
        { pod: pod.name, ns: pod.namespace, uid: pod.uid },
        "not changing a pod whose live object lacks critsvc's ownership marks (the queue said otherwise)",
      );
      return;
    }
    logFor(this.o.log, key).info(
      {
        pod: pod.name,
        ns: pod.namespace,
        owners: owners.map((o) => o.name),
        controller: owners.find((o) => o.controller)?.name,
        removed: stale.map((o) => o.name),
        result,
      },
      'default pod owners updated',
    );
  }

  /**
   * Hot standby: the warm pod is relabelled into the Service (one PATCH) instead of a pod created
   * and started. The same live check as before a create; the next warm pod is decided once the
   * watch shows this one promoted.
   */
  private async promote(key: string, action: Extract<Action, { type: 'promote' }>): Promise<Outcome> {
    const { pod, service: svc } = action;
    await this.live.confirmLame(key, svc, action.owners, { decidedAt: this.o.store.podsAsOf(svc.namespace) });
    this.o.timeline.sent(key);
    const result = await awaited(this.o, key, { kind: 'promote', uid: pod.uid }, () =>
      this.o.kube.promotePod(podRef(key, pod), svc.selector),
    );
    this.o.metrics.actions.inc({ action: 'promote', result });
    if (result !== 'promoted') {
      this.o.expectations.clearPromote(pod.uid);
      logFor(this.o.log, key).warn(
        { pod: pod.name, ns: pod.namespace, uid: pod.uid, result },
        'warm pod not promoted; the state takes the live pod and the Service is decided again',
      );
      await repairPod(this.o, pod, result === 'gone' ? 'gone' : 'replaced');
      return DONE;
    }
    this.o.timeline.done(key, 'promote');
    this.o.clock.created(key);
    logFor(this.o.log, key).info(
      { pod: pod.name, ns: pod.namespace, ready: pod.ready },
      'warm pod promoted to default pod',
    );
    await this.o.reporter.event(
      svc,
      'Normal',
      'DefaultPodPromoted',
      `Service has no real pod; warm pod ${pod.name} now serves it`,
    );
    return { kind: 'pod-given', confirmed: false };
  }

  /** Hot standby: a warm pod outside the Service's selector, from the template its default pod would use. */
  private async createStandby(key: string, action: Extract<Action, { type: 'standby' }>): Promise<void> {
    const { service: svc, generateName, owners } = action;
    const ref = this.o.templates.refOf(controllerCrit(owners));
    const template = await this.creates.usableTemplate(svc, `${generateName}…`, ref);
    await awaited(this.o, key, { kind: 'standby', key }, () =>
      this.o.kube.createPod(buildStandbyPod(template, svc, generateName, owners)),
    );
    this.o.metrics.actions.inc({ action: 'standby', result: 'created' });
    logFor(this.o.log, key).info(
      { generateName, ns: svc.namespace, owners: owners.map((c) => c.name) },
      'warm pod created',
    );
  }
}
