// A Service due for a decision: decided on the state, the decision recorded in its record (verdict,
// spell, block reason), carried out by the actions, and what came of it written back. Counted
// against the blast-radius limits from the decision on, so that the next decision sees the create.
import { isTransient, logError, type Logger } from '@critsvc/shared';
import { Actions } from './actions.ts';
import type { ActionParts } from './act-support.ts';
import { CreateRefused, StateDisagrees, TemplateUnusable } from './action-errors.ts';
import { noteBlocked, reportBlocked } from './blocked.ts';
import { DefaultPodBudget } from './default-pod-budget.ts';
import { CHECK_FIRST_MS, failed, ServiceRecords, took, type ServiceRecord } from './records.ts';
import type { ControllerConfig } from './parts.ts';
import { decide, type Decision, type HoldOffs } from '../model/decide.ts';
import { LIMIT_REASON } from '../model/reasons.ts';
import type { StatusWriter } from '../status/status-writer.ts';

export interface ReconcilerParts extends Omit<ActionParts, 'cfg' | 'status'> {
  cfg: ControllerConfig;
  status: Pick<StatusWriter, 'markAll' | 'markCovering'>;
}

export class Reconciler {
  private readonly o: ReconcilerParts;
  /** One record per Service: verdict, block reason, spell, served, suspicion, the live check due. */
  private readonly records: ServiceRecords;
  private readonly actions: Actions;
  private readonly budget: DefaultPodBudget;
  private readonly holdOffs: HoldOffs;

  constructor(o: ReconcilerParts) {
    this.o = o;
    const { cfg } = o;
    this.holdOffs = { lameGraceMs: cfg.LAME_GRACE_SECONDS * 1000, healthyGraceMs: cfg.HEALTHY_GRACE_SECONDS * 1000 };
    this.actions = new Actions(o);
    this.records = new ServiceRecords([
      (key) => o.confirmed.forget('Service', key),
      (key) => this.actions.forget(key),
      (key) => o.reporter.forget(key),
      (key) => o.clock.forget(key),
    ]);
    this.budget = new DefaultPodBudget(
      { perNamespace: cfg.MAX_DEFAULT_PODS_PER_NAMESPACE, total: cfg.MAX_DEFAULT_PODS },
      o.store,
      o.expectations,
    );
  }

  /** The Service's record (CriticalService status reads its verdict and block reason). */
  recordOf(key: string): ServiceRecord | undefined {
    return this.records.get(key);
  }

  private decideFor(key: string): Decision {
    const ns = key.slice(0, key.indexOf('/'));
    return decide({
      serviceKey: key,
      service: this.o.store.services.get(key),
      crits: this.o.store.crits.values(),
      pods: this.o.store.podLookup(ns),
      watched: this.o.cfg.NAMESPACES,
      readyOnly: this.o.cfg.READY_PODS_ONLY,
      podNamePrefix: this.o.cfg.POD_NAME_PREFIX,
      inFlight: this.o.expectations.inFlight(key),
      now: Date.now(),
      spell: this.records.get(key)?.spell,
      holdOffs: this.holdOffs,
      createBlocked: () => this.budget.check(key),
    });
  }

  async reconcile(key: string): Promise<void> {
    // A failover's create checked now; when the API server disagreed, the state was repaired and
    // the Service is decided again on it.
    if (await this.checkDue(key)) return;
    this.o.timeline.started(key);
    const decision = this.decideFor(key);
    this.o.timeline.decided(key);
    this.record(key, decision);
    // Counted against the blast-radius limits from now: the next decision must see this create.
    const creating = decision.actions.some((a) => a.type === 'create' || a.type === 'promote');
    if (creating) this.budget.reserve(key);
    try {
      await this.carryOut(key, decision);
    } finally {
      if (creating) this.budget.release(key);
      if (creating && !this.o.expectations.inFlight(key).creating) this.retryLimited(); // the create failed: its room is free
    }
  }

  /** What the decision says beyond its actions: metrics, hold-off spell, requeue, blocked, status. */
  private record(key: string, decision: Decision): void {
    this.o.metrics.decisions.inc({ wanted: String(decision.wanted) });
    this.o.clock.decided(key, decision.lame && decision.covering.length > 0, this.o.timeline.seenAt(key));
    const rec = this.records.of(key);
    rec.spell = decision.spell;
    if (decision.requeueAfterMs !== undefined) this.o.queue.addAfter(key, decision.requeueAfterMs);
    rec.verdict = decision.considered
      ? { lame: decision.lame, defaults: decision.defaultPods, standbys: decision.standbyPods }
      : undefined;
    if (decision.considered && !decision.lame) rec.served = true;
    noteBlocked(rec, decision);
    this.o.status.markCovering(
      key,
      decision.covering.map((c) => c.name),
    );
  }

  private async carryOut(key: string, decision: Decision): Promise<void> {
    const svc = this.o.store.services.get(key);
    if (svc) await reportBlocked(this.o.reporter, svc, decision);
    else this.records.forget(key);
    // A Service gone: its actions (the clean-up) write to a record no one keeps.
    const rec = this.records.get(key) ?? { served: false };
    try {
      for (const action of decision.actions) {
        took(rec, await this.actions.act(key, action, { served: rec.served, suspect: this.records.suspect(key) }));
      }
      this.o.queue.forget(key);
      if (decision.actions.length === 0) this.o.timeline.clear(key);
    } catch (err) {
      this.o.metrics.apiErrors.inc({ op: 'reconcile' });
      failed(rec, err);
      if (err instanceof TemplateUnusable || err instanceof CreateRefused || err instanceof StateDisagrees) {
        const wait = this.o.queue.addRateLimited(key, this.o.cfg.TEMPLATE_RETRY_SECONDS * 1000);
        this.logFor(key).debug({ retryInMs: wait, reason: err.message }, 'default pod not created yet; retrying');
        return;
      }
      const retryInMs = this.o.queue.addRateLimited(key);
      const level = isTransient(err) ? 'warn' : 'error';
      this.logFor(key)[level]({ err: logError(err), retryInMs }, 'action failed; retrying');
    }
  }

  /**
   * A failover's create checked now (CHECK_AFTER_MS after it; decided earlier, on its pod's ADDED,
   * the check comes later). True when the API server disagreed: the state was repaired and the
   * Service is decided again on it.
   */
  private async checkDue(key: string): Promise<boolean> {
    const rec = this.records.get(key);
    const due = rec?.dueCheck;
    if (!rec || !due) return false;
    const early = due.due - Date.now();
    if (early > 0) {
      this.o.queue.addAfter(key, early);
      return false;
    }
    rec.dueCheck = undefined;
    const verdict = await this.actions.checkCreated(key, due);
    if (verdict === 'disagreed') rec.suspectUntil = Date.now() + CHECK_FIRST_MS;
    return verdict === 'disagreed';
  }

  /** A default pod went (or a create failed): the Services the limits held back are decided again. */
  retryLimited(): void {
    for (const key of this.records.blockedBy(LIMIT_REASON)) this.o.queue.add(key);
  }

  /** A child logger per Service: every line about it carries `svc` (grep '"svc":"ns/name"'). */
  private logFor(key: string): Logger {
    return this.o.log.child({ svc: key });
  }
}
