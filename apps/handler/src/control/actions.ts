// What the controller's decisions do to the cluster: each action's API calls, awaited as
// expectations, with the live checks before a create, and what is said of each (metrics, logs,
// Events). The Controller decides; this carries out.
import { apiMessage, httpStatus, isTransient, logError, type HandlerConfig, type Logger } from '@critsvc/shared';
import { CreateRefused, StateDisagrees, TemplateUnusable } from './action-errors.ts';
import type { DecisionQueue } from './decision-queue.ts';
import { EXPECTATION_TTL_MS, type Expectations } from './expectations.ts';
import type { CreateResult, KubeActions, PodRef } from '../kube/kube-actions.ts';
import type { HandlerMetrics } from '../metrics/metrics.ts';
import type { Action } from '../model/decide.ts';
import {
  buildDefaultPod,
  buildStandbyPod,
  controllerCrit,
  credentialsRefusal,
  type UsableTemplate,
} from '../model/default-pod.ts';
import { confirmCreate, selectorString } from '../model/live-check.ts';
import type { Confirmed } from '../kube/confirmed.ts';
import { RemovalGuard } from '../kube/removal-guard.ts';
import type { Blocked } from '../model/reasons.ts';
import type { ApplyResult, Store } from '../model/store.ts';
import type { CritInfo, PodInfo, ServiceInfo, TemplateRef } from '../model/types.ts';
import type { OutageClock } from '../metrics/outage-clock.ts';
import type { Reporter } from '../status/reporter.ts';
import type { StatusWriter } from '../status/status-writer.ts';
import type { Templates } from '../kube/template-watch.ts';
import type { Timeline } from '../metrics/timeline.ts';

export interface ActionParts {
  cfg: Pick<HandlerConfig, 'NAMESPACES' | 'READY_PODS_ONLY'>;
  kube: KubeActions;
  log: Logger;
  metrics: HandlerMetrics;
  store: Store;
  queue: DecisionQueue;
  expectations: Expectations;
  templates: Templates;
  reporter: Reporter;
  status: Pick<StatusWriter, 'markAll'>;
  timeline: Timeline;
  clock: OutageClock;
  /** Lame Service → why it has no default pod (the controller's, shown in status). */
  blocked: Map<string, Blocked>;
  /** The state took what the API server said: the Services it concerns are decided again. */
  applyLive: (results: ApplyResult[]) => void;
  /** Versions of Services and CriticalServices the API server gave: the live reads add theirs. */
  confirmed: Confirmed;
}

/** After the live check disagreed for a Service, how long its creates wait for the check. */
export const CHECK_FIRST_MS = 10 * 60_000;
/**
 * How long after a failover's create its live check waits: until the scheduler, the kubelet and
 * the EndpointSlice controller have done their part (its reads would slow theirs), long before a
 * real kubelet would start a pod created on a lie.
 */
export const CHECK_AFTER_MS = 100;
/** At hand-back, how often the Service's EndpointSlices are read again until the real pod's endpoint is ready there. */
export const HANDBACK_POLL_MS = 200;

interface Created {
  result: CreateResult;
  owners: CritInfo[];
  template: TemplateRef;
}

/**
 * What a live check judges against. decidedAt: the version of the pods the decision saw; creating:
 * the default pod already created (the check follows the create), for which only pods as of
 * decidedAt count (a pod changed since is the world moving on: its events take over).
 */
interface CheckAt {
  decidedAt?: string;
  creating?: string;
}

/** A failover's create whose live check is due. */
interface DueCheck {
  svc: ServiceInfo;
  covering: CritInfo[];
  result: CreateResult;
  due: number;
  at: CheckAt & { creating: string };
}

export class Actions {
  private readonly o: ActionParts;
  /** Service → until when its creates wait for the live check (it disagreed lately). */
  private readonly suspects = new Map<string, number>();
  /** Service → the failover's create whose live check is due (see checkCreated). */
  private readonly toCheck = new Map<string, DueCheck>();

  private readonly removals: RemovalGuard;

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
  }

  /**
   * A write awaited as an expectation: the decisions taken meanwhile see it coming, the Service is
   * decided again after the expectation's TTL in case the watch never shows the result, and a call
   * that fails clears it.
   */
  private async awaited<T>(
    key: string,
    expectation: { set: () => void; clear: () => void },
    call: () => Promise<T>,
  ): Promise<T> {
    expectation.set();
    this.o.queue.addAfter(key, EXPECTATION_TTL_MS + 1_000);
    try {
      return await call();
    } catch (err) {
      expectation.clear();
      throw err;
    }
  }

  /** served: a decision found the Service served by a real pod before (see create). */
  async act(key: string, action: Action, served = false): Promise<void> {
    if (action.type === 'create') return this.create(key, action.service, action.podName, action, served);
    if (action.type === 'owners') return this.setOwners(key, action);
    if (action.type === 'promote') return this.promote(key, action);
    if (action.type === 'standby') return this.createStandby(key, action);
    return this.deleteOurs(key, action);
  }

  private async deleteOurs(key: string, action: Extract<Action, { type: 'delete' }>): Promise<void> {
    const { pod, reason } = action;
    if (!(await this.removalConfirmed(key, action))) return;
    const expectation = {
      set: () => this.o.expectations.expectDelete(pod.uid),
      clear: () => this.o.expectations.clearDelete(pod.uid),
    };
    const result = await this.awaited(key, expectation, () => this.o.kube.deletePod(podRef(key, pod), action.force));
    this.o.metrics.actions.inc({ action: 'delete', result });
    if (result === 'refused' || result === 'replaced') {
      this.o.expectations.clearDelete(pod.uid);
      if (result === 'refused')
        logFor(this.o.log, key).warn(
          { pod: pod.name, ns: pod.namespace, uid: pod.uid },
          "not deleting a pod whose live object lacks critsvc's ownership marks (the queue said otherwise)",
        );
    }
    if (result !== 'deleted') await this.repairPod(pod, result);
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
    if (result !== 'patched') await this.repairPod(pod, result);
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
   * A failover (the Service had a real pod, and lost it): the create, and CHECK_AFTER_MS later the
   * live check that the API server agrees the Service is lame and critical, so that the check is
   * off the outage's path (and does not compete with the create, the scheduler, the kubelet).
   * Should the API server disagree (a forged or stale queue job), the pod just created is deleted
   * at once and the state repaired; that Service's creates then wait for the check until one
   * confirms an outage (at most CHECK_FIRST_MS): lies cost at most one short-lived pod per
   * Service, never a pod deleted or changed. Any other create waits for the check: a Service
   * never seen served (new, or its pods not seen yet: the watchers race at a Service's birth),
   * or one whose Service or CriticalServices only the queue told of (see Confirmed).
   */
  private async create(
    key: string,
    svc: ServiceInfo,
    podName: string,
    action: Extract<Action, { type: 'create' }>,
    served: boolean,
  ): Promise<void> {
    const checked = !served || !this.confirmedAsStated(svc, action.owners) || this.checkFirst(key);
    const decidedAt = this.o.store.podsAsOf(svc.namespace);
    const made = checked
      ? await this.createChecked(key, svc, podName, action.owners)
      : await this.createUnchecked(key, svc, podName, action.owners);
    const { result, template } = made;
    this.o.reporter.templateFixed(template);
    this.o.templates.worked(template);
    this.o.reporter.settled(key, 'template', 'refused');
    this.o.blocked.delete(key);
    this.o.metrics.actions.inc({ action: 'create', result: result.result });
    const stagesMs = this.o.timeline.done(key, 'create');
    if (result.result === 'created') this.o.clock.created(key);
    if (!checked) {
      this.toCheck.set(key, {
        svc,
        covering: action.owners,
        result,
        due: Date.now() + CHECK_AFTER_MS,
        at: { creating: podName, ...(decidedAt === undefined ? {} : { decidedAt }) },
      });
      this.o.queue.addAfter(key, CHECK_AFTER_MS);
    }
    logFor(this.o.log, key).info(
      {
        pod: podName,
        ns: svc.namespace,
        result: result.result,
        owners: made.owners.map((c) => c.name),
        checked: checked ? 'before' : 'after',
        ...(stagesMs ? { stagesMs } : {}),
      },
      'default pod created',
    );
    if (result.result === 'created')
      await this.o.reporter.event(
        svc,
        'Normal',
        'DefaultPodCreated',
        `Service has no real pod; created default pod ${podName}`,
      );
  }

  /**
   * The Service and the CriticalServices covering it are in the state at versions the API server
   * gave (not only the queue): the pod built from them is theirs (selector, owners, template).
   */
  private confirmedAsStated(svc: ServiceInfo, covering: CritInfo[]): boolean {
    const c = this.o.confirmed;
    return (
      c.service(svc.key, svc.resourceVersion) && covering.every((crit) => c.crit(crit.name, crit.uid, crit.generation))
    );
  }

  /** The Service left the state: what was kept for it goes too. */
  forget(key: string): void {
    this.suspects.delete(key);
    this.toCheck.delete(key);
    this.removals.forget(key);
  }

  /** The live check disagreed lately for this Service (and no outage was confirmed since): its next create waits for the check. */
  private checkFirst(key: string): boolean {
    const until = this.suspects.get(key);
    if (until === undefined) return false;
    if (until >= Date.now()) return true;
    this.suspects.delete(key);
    return false;
  }

  private async createChecked(key: string, svc: ServiceInfo, podName: string, covering: CritInfo[]): Promise<Created> {
    const stated = this.o.templates.refOf(controllerCrit(covering));
    let template = await this.usableTemplate(svc, podName, stated);
    const owners = await this.confirmLame(key, svc, covering, { decidedAt: this.o.store.podsAsOf(svc.namespace) });
    this.suspects.delete(key); // an outage confirmed: the next failover need not wait
    const ref = this.o.templates.refOf(controllerCrit(owners));
    if (ref.namespace !== stated.namespace || ref.name !== stated.name)
      template = await this.usableTemplate(svc, podName, ref);
    const result = await this.submitCreate(key, svc, podName, buildDefaultPod(template, svc, podName, owners), ref);
    return { result, owners, template: ref };
  }

  /** The pod as the state has it (owners, the template their controller names), no read before. */
  private async createUnchecked(
    key: string,
    svc: ServiceInfo,
    podName: string,
    covering: CritInfo[],
  ): Promise<Created> {
    const ref = this.o.templates.refOf(controllerCrit(covering));
    const template = await this.usableTemplate(svc, podName, ref);
    const result = await this.submitCreate(key, svc, podName, buildDefaultPod(template, svc, podName, covering), ref);
    return { result, owners: covering, template: ref };
  }

  /**
   * The live check of an unchecked create, once CHECK_AFTER_MS passed (the decision worker calls
   * this first). True when it disagreed: the pod was deleted again and the state repaired (the
   * Service is decided again on it). When the check cannot be made (the API server unreachable),
   * the pod stays: a missing default pod is the outage critsvc exists to prevent. Owners the API
   * server has otherwise are repaired in the state, then on the pod (the owners action).
   */
  async checkCreated(key: string): Promise<boolean> {
    const due = this.toCheck.get(key);
    if (!due) return false;
    const early = due.due - Date.now();
    if (early > 0) {
      this.o.queue.addAfter(key, early); // decided before the check was due (its pod's ADDED): the check comes later
      return false;
    }
    this.toCheck.delete(key);
    // The queue keeps one timer per Service: the check's replaced the create's TTL requeue.
    if (this.o.expectations.inFlight(key).creating)
      this.o.queue.addAfter(key, EXPECTATION_TTL_MS + 1_000 - CHECK_AFTER_MS);
    const { svc, covering, result, at } = due;
    try {
      await this.confirmLame(key, svc, covering, at);
      return false;
    } catch (err) {
      if (!(err instanceof StateDisagrees)) {
        logFor(this.o.log, key).warn(
          { err: logError(err), pod: at.creating },
          'the live check after the create failed; the default pod stays',
        );
        return false;
      }
      if (result.result !== 'created') return true;
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
      return true;
    }
  }

  /** The live check disagreed after the create: the pod just made goes, at once (our own, checked live as every delete). */
  private async undoCreate(key: string, svc: ServiceInfo, podName: string, uid: string): Promise<void> {
    this.o.expectations.clearCreate(key);
    const expectation = {
      set: () => this.o.expectations.expectDelete(uid),
      clear: () => this.o.expectations.clearDelete(uid),
    };
    const ref: PodRef = { namespace: svc.namespace, name: podName, uid, service: svc.name };
    const result = await this.awaited(key, expectation, () => this.o.kube.deletePod(ref, true));
    this.o.metrics.actions.inc({ action: 'undo', result });
    if (result !== 'deleted') this.o.expectations.clearDelete(uid);
    logFor(this.o.log, key).warn(
      { pod: podName, ns: svc.namespace, uid, result },
      'default pod created while the live check ran deleted again: the API server disagreed with the state',
    );
  }

  /**
   * Hot standby: the warm pod is relabelled into the Service (one PATCH) instead of a pod created
   * and started. The same live check as before a create; the next warm pod is decided once the
   * watch shows this one promoted.
   */
  private async promote(key: string, action: Extract<Action, { type: 'promote' }>): Promise<void> {
    const { pod, service: svc } = action;
    await this.confirmLame(key, svc, action.owners, { decidedAt: this.o.store.podsAsOf(svc.namespace) });
    this.o.timeline.sent(key);
    const expectation = {
      set: () => this.o.expectations.expectPromote(pod.uid),
      clear: () => this.o.expectations.clearPromote(pod.uid),
    };
    const result = await this.awaited(key, expectation, () => this.o.kube.promotePod(podRef(key, pod), svc.selector));
    this.o.metrics.actions.inc({ action: 'promote', result });
    if (result !== 'promoted') {
      this.o.expectations.clearPromote(pod.uid);
      logFor(this.o.log, key).warn(
        { pod: pod.name, ns: pod.namespace, uid: pod.uid, result },
        'warm pod not promoted; the state takes the live pod and the Service is decided again',
      );
      await this.repairPod(pod, result === 'gone' ? 'gone' : 'replaced');
      return;
    }
    this.o.blocked.delete(key);
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
  }

  /** Hot standby: a warm pod outside the Service's selector, from the template its default pod would use. */
  private async createStandby(key: string, action: Extract<Action, { type: 'standby' }>): Promise<void> {
    const { service: svc, generateName, owners } = action;
    const ref = this.o.templates.refOf(controllerCrit(owners));
    const template = await this.usableTemplate(svc, `${generateName}…`, ref);
    const expectation = {
      set: () => this.o.expectations.expectStandby(key),
      clear: () => this.o.expectations.clearStandby(key),
    };
    await this.awaited(key, expectation, () =>
      this.o.kube.createPod(buildStandbyPod(template, svc, generateName, owners)),
    );
    this.o.metrics.actions.inc({ action: 'standby', result: 'created' });
    logFor(this.o.log, key).info(
      { generateName, ns: svc.namespace, owners: owners.map((c) => c.name) },
      'warm pod created',
    );
  }

  private async usableTemplate(svc: ServiceInfo, podName: string, ref: TemplateRef): Promise<UsableTemplate> {
    const lookup = this.o.templates.get(ref);
    // The template is checked once for all Services; its credentials (if it opts in) are for its own namespace only.
    const elsewhere = lookup.ok ? credentialsRefusal(lookup.template, ref, svc.namespace) : undefined;
    const tmpl = elsewhere ? { ok: false as const, error: elsewhere } : lookup;
    if (!tmpl.ok && tmpl.pending) throw new TemplateUnusable(tmpl.error); // its first list decides again
    if (!tmpl.ok) {
      this.o.status.markAll();
      await this.o.reporter.templateProblem(ref, tmpl.error);
      await this.o.reporter.warnOnce(svc, {
        topic: 'template',
        what: tmpl.error,
        reason: 'PodTemplateUnusable',
        message: `cannot create default pod ${podName}: ${tmpl.error}`,
        detail: { template: `${ref.namespace}/${ref.name}` },
      });
      throw new TemplateUnusable(tmpl.error);
    }
    const refs = tmpl.template.references;
    if (refs.length && svc.namespace !== ref.namespace) {
      await this.o.reporter.warnOnce(svc, {
        topic: 'template-refs',
        what: refs.join(', '),
        reason: 'PodTemplateReferences',
        message: `the PodTemplate refers to ${refs.join(', ')}: the default pod looks them up in namespace ${svc.namespace}, where they may not exist`,
      });
    }
    return tmpl.template;
  }

  /** The create itself, awaited as an expectation; a refusal is told apart: the template's fault (422) or admission's. */
  private async submitCreate(
    key: string,
    svc: ServiceInfo,
    podName: string,
    pod: Record<string, unknown>,
    template: TemplateRef,
  ): Promise<CreateResult> {
    this.o.timeline.sent(key);
    const expectation = {
      set: () => this.o.expectations.expectCreate(key, podName),
      clear: () => this.o.expectations.clearCreate(key),
    };
    try {
      return await this.awaited(key, expectation, () => this.o.kube.createPod(pod));
    } catch (err) {
      if (isTransient(err)) throw err;
      if (httpStatus(err) === 422) {
        // The pod itself is invalid: the template is to blame.
        this.o.templates.invalidate(template, `the pod built from it was refused: ${apiMessage(err)}`);
        throw new TemplateUnusable(apiMessage(err));
      }
      // Admission said no (a terminating namespace, ResourceQuota, Pod Security, a webhook): not the
      // template's fault. Said once per message, retried with backoff.
      this.o.blocked.set(key, { reason: 'DefaultPodRefused', message: apiMessage(err) });
      await this.o.reporter.warnOnce(svc, {
        topic: 'refused',
        what: apiMessage(err),
        reason: 'DefaultPodRefused',
        message: `the API server refused default pod ${podName}: ${apiMessage(err)}`,
      });
      throw new CreateRefused(apiMessage(err));
    }
  }

  /**
   * The state says the Service is lame and critical; the API server must agree (queue payloads
   * are hints). When it does not, the state is repaired from what it said and the Service decided
   * again. Gives the covering CriticalServices as read now; when some the state has are gone
   * (only those that cover it count), the state takes them too, and the owners action follows.
   * creating: the pod created meanwhile, for the log.
   */
  private async confirmLame(key: string, svc: ServiceInfo, covering: CritInfo[], at: CheckAt): Promise<CritInfo[]> {
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
    if (!behind) this.suspects.set(key, Date.now() + CHECK_FIRST_MS);
    logFor(this.o.log, svc.key).warn(
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
    throw new StateDisagrees(verdict.why);
  }

  /** The live pod was not what the state said (gone, another, not ours): the state takes what the API server says. */
  private async repairPod(pod: PodInfo, result: 'gone' | 'replaced' | 'refused'): Promise<void> {
    // 'gone' was the API server's answer already; the others need the object it holds now.
    const live = result === 'gone' ? undefined : await this.o.kube.readPod(pod.namespace, pod.name);
    this.o.applyLive([this.o.store.takeLive('Pod', pod.key, live)]);
  }
}

/** A child logger per Service: every line about it carries `svc` (grep '"svc":"ns/name"'). */
function logFor(log: Logger, key: string): Logger {
  return log.child({ svc: key });
}

/** What a delete or owners patch means: this pod, standing in for this Service. */
function podRef(serviceKey: string, pod: PodInfo): PodRef {
  return {
    namespace: pod.namespace,
    name: pod.name,
    uid: pod.uid,
    service: serviceKey.slice(serviceKey.indexOf('/') + 1),
  };
}
