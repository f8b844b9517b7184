// The handler's chain: queue job → state → affected Services → work queue → decide → act.
// Decisions are taken only once the state is complete (after the start-up list); actions.ts
// carries them out.
import {
  logError,
  isTransient,
  objectKey,
  type HandlerConfig,
  type KubeObject,
  type Logger,
  type QueueJob,
} from '@critsvc/shared';
import { Actions } from './actions.ts';
import { Confirmed } from '../kube/confirmed.ts';
import { CHECK_FIRST_MS, failed, ServiceRecords, took, type ServiceRecord } from './records.ts';
import { Expectations } from './expectations.ts';
import type { KubeActions } from '../kube/kube-actions.ts';
import type { HandlerMetrics } from '../metrics/metrics.ts';
import { decide, type Decision, type HoldOffs } from '../model/decide.ts';
import type { ApplyResult, Change } from '../model/store.ts';
import { Store } from '../model/store.ts';
import type { CritInfo, ServiceInfo } from '../model/types.ts';
import { credentialsProblem } from '../model/default-pod.ts';
import { Reporter } from '../status/reporter.ts';
import { RevisionCheck } from '../kube/revision-check.ts';
import { StateLoader, UNLISTED_RETRY_MS } from '../kube/state-loader.ts';
import { StatusWriter } from '../status/status-writer.ts';
import { Templates } from '../kube/template-watch.ts';
import { DecisionQueue } from './decision-queue.ts';
import { Timeline } from '../metrics/timeline.ts';
import { CreateRefused, StateDisagrees, TemplateUnusable } from './action-errors.ts';
import { asQueueJob, summarize } from '../queue/queue-job.ts';
import { DefaultPodBudget } from './default-pod-budget.ts';
import { LIMIT_REASON, type Blocked } from '../model/reasons.ts';
import { OutageClock } from '../metrics/outage-clock.ts';
import type { FastPathResult } from '../queue/queue-consumer.ts';

export type ControllerConfig = Pick<
  HandlerConfig,
  | 'NAMESPACES'
  | 'POD_NAME_PREFIX'
  | 'POD_TEMPLATE_NAME'
  | 'POD_TEMPLATE_NAMESPACE'
  | 'READY_PODS_ONLY'
  | 'DECISION_WORKERS'
  | 'RESYNC_SECONDS'
  | 'RELIST_SECONDS'
  | 'TEMPLATE_RETRY_SECONDS'
  | 'STATUS_FLUSH_MS'
  | 'LAME_GRACE_SECONDS'
  | 'HEALTHY_GRACE_SECONDS'
  | 'MAX_DEFAULT_PODS'
  | 'MAX_DEFAULT_PODS_PER_NAMESPACE'
>;

/** What the controller works with; each may be handed in (tests, tools), else it is built from the config. */
export interface ControllerParts {
  store: Store;
  /** Services waiting for a decision (not the event queue in Redis: that one feeds handleJob). */
  queue: DecisionQueue;
  expectations: Expectations;
  templates: Templates;
  reporter: Reporter;
}

/** How long the start-up waits, once everything else is listed, for the PodTemplates' first lists. */
export const TEMPLATE_FIRST_LIST_MS = 5_000;

export class Controller {
  readonly store: Store;
  private readonly queue: DecisionQueue;
  private readonly expectations: Expectations;
  private readonly templates: Templates;
  private readonly reporter: Reporter;
  private readonly status: StatusWriter;
  /** When the events not yet acted on were seen, and the stages since, per Service: for latency. */
  private readonly timeline: Timeline;
  /** Versions of Services and CriticalServices the API server gave (lists, live reads). */
  private readonly confirmed = new Confirmed();
  /** One record per Service: verdict, block reason, spell, served, suspicion, the live check due. */
  private readonly records: ServiceRecords;
  private readonly holdOffs: HoldOffs;
  private readonly budget: DefaultPodBudget;
  private readonly clock: OutageClock;
  private readonly loader: StateLoader;
  private readonly actions: Actions;
  private readonly revisions: RevisionCheck;
  private unlistedTimer: NodeJS.Timeout | undefined;
  private resyncTimer: NodeJS.Timeout | undefined;
  private relistTimer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  synced = false;

  private readonly cfg: ControllerConfig;
  private readonly kube: KubeActions;
  private readonly log: Logger;
  private readonly metrics: HandlerMetrics;

  constructor(
    cfg: ControllerConfig,
    kube: KubeActions,
    log: Logger,
    metrics: HandlerMetrics,
    parts: Partial<ControllerParts> = {},
  ) {
    this.cfg = cfg;
    this.kube = kube;
    this.log = log;
    this.metrics = metrics;
    this.timeline = new Timeline({
      latency: (action, s) => metrics.latency.observe({ action }, s),
      stage: (stage, s) => metrics.stages.observe({ stage }, s),
    });
    this.holdOffs = { lameGraceMs: cfg.LAME_GRACE_SECONDS * 1000, healthyGraceMs: cfg.HEALTHY_GRACE_SECONDS * 1000 };
    const template = { namespace: cfg.POD_TEMPLATE_NAMESPACE, name: cfg.POD_TEMPLATE_NAME };
    this.store = parts.store ?? new Store();
    this.queue = parts.queue ?? new DecisionQueue(200, 30_000);
    this.expectations = parts.expectations ?? new Expectations();
    this.templates =
      parts.templates ??
      new Templates({
        global: template,
        watch: kube.watchTemplate,
        log,
        changed: (_ref, usable) => this.templateChanged(usable),
      });
    this.reporter = parts.reporter ?? new Reporter(kube, log, metrics);
    this.clock = new OutageClock(metrics);
    this.records = new ServiceRecords([
      (key) => this.confirmed.forget('Service', key),
      (key) => this.actions.forget(key),
      (key) => this.reporter.forget(key),
      (key) => this.clock.forget(key),
    ]);
    this.budget = new DefaultPodBudget(
      { perNamespace: cfg.MAX_DEFAULT_PODS_PER_NAMESPACE, total: cfg.MAX_DEFAULT_PODS },
      this.store,
      this.expectations,
    );
    this.loader = new StateLoader({
      namespaces: cfg.NAMESPACES,
      kube,
      store: this.store,
      log,
      metrics,
      onChange: (change, seenAt) => this.onChange(change, seenAt),
      statusChanged: () => this.status.markAll(),
      scopeListed: () => this.resyncAll(),
      listed: (kind, key, live) => this.confirmed.note(kind, key, live),
    });
    this.status = new StatusWriter({
      kube,
      log,
      store: this.store,
      watched: cfg.NAMESPACES,
      readyOnly: cfg.READY_PODS_ONLY,
      templateProblem: (crit) => this.templateProblemOf(crit),
      blocked: (key) => this.records.get(key)?.blocked,
      decided: (key) => this.records.get(key)?.verdict,
      unlisted: this.loader.unlisted,
      flushMs: cfg.STATUS_FLUSH_MS,
      metrics,
    });
    this.revisions = new RevisionCheck({
      cfg,
      kube,
      store: this.store,
      log,
      metrics,
      applyLive: (results) => this.applyLive(results),
      relist: (reason) => this.relist(reason),
    });
    this.actions = new Actions({
      cfg,
      kube,
      log,
      metrics,
      store: this.store,
      queue: this.queue,
      expectations: this.expectations,
      templates: this.templates,
      reporter: this.reporter,
      status: this.status,
      timeline: this.timeline,
      clock: this.clock,
      applyLive: (results) => this.applyLive(results),
      confirmed: this.confirmed,
    });
  }

  /**
   * Lists everything itself before deciding anything: a restarted handler knows every real pod
   * first (lists refused for good do not hold the others back: see StateLoader).
   */
  async sync(signal: AbortSignal): Promise<void> {
    const started = Date.now();
    this.templates.follow(this.store.crits.values());
    await this.loader.loadAll(signal);
    if (signal.aborted) return;
    // The templates are part of the state: a lame Service decided before its template is listed
    // would wait for that list to be decided again.
    const unlisted = await this.templates.firstAnswers(TEMPLATE_FIRST_LIST_MS);
    if (unlisted.length)
      this.log.warn(
        { templates: unlisted, waitedMs: TEMPLATE_FIRST_LIST_MS },
        'PodTemplate not listed yet; deciding without it (its first list decides again)',
      );
    if (signal.aborted) return;
    this.synced = true;
    this.unlistedTimer = setInterval(() => void this.loader.retryUnlisted(), UNLISTED_RETRY_MS);
    this.unlistedTimer.unref();
    this.metrics.syncSeconds.set((Date.now() - started) / 1000);
    this.log.info(
      {
        services: this.store.services.size,
        pods: this.store.podCount(),
        criticalServices: this.store.crits.size,
        ms: Date.now() - started,
      },
      'state complete; deciding',
    );
    this.resyncAll();
    this.resyncTimer = setInterval(() => this.resyncAll(), this.cfg.RESYNC_SECONDS * 1000);
    this.resyncTimer.unref();
    this.relistTimer = setInterval(() => void this.relist('periodic'), this.cfg.RELIST_SECONDS * 1000);
    this.relistTimer.unref();
  }

  /** Lists everything again and repairs the state from it (after the start-up list only). */
  async relist(reason: string): Promise<void> {
    if (this.synced) await this.loader.relist(reason);
  }

  /** Every Service, and every Service a default pod claims (it may be gone): the clean-up after being away. */
  resyncAll(): void {
    for (const key of this.store.services.keys()) this.queue.add(key);
    for (const pod of this.store.allPods())
      if (pod.owned && pod.forService !== undefined) this.queue.add(`${pod.namespace}/${pod.forService}`);
    this.status.markAll();
  }

  start(): void {
    this.status.start();
    this.running ??= this.queue.run(this.cfg.DECISION_WORKERS, (key) => this.reconcile(key));
  }

  async stop(): Promise<void> {
    clearInterval(this.resyncTimer);
    clearInterval(this.unlistedTimer);
    clearInterval(this.relistTimer);
    this.revisions.stop();
    this.queue.shutDown();
    await this.running;
    await this.templates.stop();
    await this.status.stop();
  }

  /**
   * Why the CriticalService's template cannot give its default pods now, for its status: the
   * template's own problem, else (a template opted in to credentials) a Service it covers outside
   * the template's namespace, whose default pod would be refused.
   */
  private templateProblemOf(crit: CritInfo): string | undefined {
    const ref = this.templates.refOf(crit);
    const problem = this.templates.problem(ref);
    if (problem) return problem;
    const lookup = this.templates.get(ref);
    return lookup.ok
      ? credentialsProblem(lookup.template, ref, crit, this.store.services.values(), this.cfg.NAMESPACES)
      : undefined;
  }

  /** Why a PodTemplate in use (the global one, or one a CriticalService names) cannot be used now; undefined while all can. */
  get templateProblem(): string | undefined {
    const refs = [
      this.templates.refOf(undefined),
      ...[...this.store.crits.values()].map((c) => this.templates.refOf(c)),
    ];
    for (const ref of refs) {
      const problem = this.templates.problem(ref);
      if (problem) return problem;
    }
    return undefined;
  }

  get queueLength(): number {
    return this.queue.length;
  }

  /** How the work loops are doing, for /healthz. */
  get progress(): { waiting: number; busy: number; lastProgressAt: number } {
    return { waiting: this.queue.length, busy: this.queue.busy, lastProgressAt: this.queue.lastProgressAt };
  }

  /** One job from the queue. Never throws for bad data: a malformed job is logged and skipped. */
  handleJob(data: unknown): void {
    const job = asQueueJob(data);
    if (!job) {
      this.metrics.events.inc({ kind: 'unknown', type: 'unknown', outcome: 'invalid' });
      this.log.warn({ job: summarize(data) }, 'malformed queue job skipped');
      return;
    }
    const result = this.take(job);
    this.metrics.events.inc({ kind: job.kind, type: job.type, outcome: result.outcome });
    if (result.outcome === 'invalid') {
      this.log.warn(
        {
          kind: job.kind,
          key: job.type === 'SYNCED' ? job.scope : objectKey(job.object.metadata),
          error: result.error,
        },
        'malformed object skipped',
      );
    } else if (result.outcome === 'incomplete') {
      this.log.warn(
        { kind: job.kind, scope: job.type === 'SYNCED' ? job.scope || '*' : '', error: result.error },
        "a watcher's list did not reach this state whole; listing again instead of trusting it",
      );
      void this.relist('incomplete-list');
    }
  }

  /**
   * A watcher's fast-path message: the job it will also deliver, applied now (the queue consumer
   * hands it over only while its worker has no job left to take). Never a list's job or marker:
   * those count only in order, through the queue. Not logged or counted as an event: its job is,
   * and then finds nothing new (outcome stale or unchanged).
   */
  handleFastPath(data: unknown): FastPathResult {
    const job = asQueueJob(data);
    if (!job || job.type === 'SYNCED' || job.list !== undefined) return 'invalid';
    const { outcome } = this.take(job);
    return outcome === 'changed' ? 'applied' : outcome === 'invalid' ? 'invalid' : 'known';
  }

  /** Applies a job to the state, and what follows from it (awaited creates settled, Services made due). */
  private take(job: QueueJob): ApplyResult {
    const result = this.store.apply(job);
    this.revisions.poke();
    if (job.kind === 'Pod' && job.type === 'DELETED') this.settleGone(job.object, job.seenAt);
    if (result.outcome === 'changed') for (const change of result.changes) this.onChange(change, job.seenAt);
    return result;
  }

  /** A DELETED settles an awaited create even when the pod's ADDED never arrived (coalesced away). */
  private settleGone(obj: KubeObject, seenAt: number): void {
    const { namespace = '', name = '', uid = '' } = obj.metadata ?? {};
    for (const key of this.expectations.gone(namespace, name, uid)) this.trigger(key, seenAt);
  }

  private onChange(change: Change, seenAt: number): void {
    if (change.kind === 'Pod') this.expectations.observe(change.before, change.after);
    if (change.kind === 'Pod') this.clock.podChanged(change.before, change.after, seenAt);
    if (change.kind === 'Pod' && frees(change)) this.retryLimited();
    if (change.kind === 'CriticalService') this.onCritChange(change);
    for (const key of this.store.affectedServices(change)) this.trigger(key, seenAt);
  }

  private onCritChange({ before, after }: Extract<Change, { kind: 'CriticalService' }>): void {
    if (after?.problems.length && after.resourceVersion !== before?.resourceVersion) {
      this.log.warn(
        { criticalService: after.name, problems: after.problems },
        'CriticalService makes no sense; it covers nothing until fixed',
      );
    }
    this.status.mark(after?.name ?? before?.name ?? '');
    this.templates.follow(this.store.crits.values());
  }

  /** A template turned usable (or changed, or broke): status says so; Services waiting for it are decided now. */
  private templateChanged(usable: boolean): void {
    this.status.markAll();
    if (usable && this.synced) this.resyncAll();
  }

  private trigger(key: string, seenAt: number): void {
    this.timeline.triggered(key, seenAt);
    // Before the start-up list completes, sync() queues every Service itself.
    if (this.synced) this.queue.add(key);
  }

  private decideFor(key: string): Decision {
    const ns = key.slice(0, key.indexOf('/'));
    return decide({
      serviceKey: key,
      service: this.store.services.get(key),
      crits: this.store.crits.values(),
      pods: this.store.podLookup(ns),
      watched: this.cfg.NAMESPACES,
      readyOnly: this.cfg.READY_PODS_ONLY,
      podNamePrefix: this.cfg.POD_NAME_PREFIX,
      inFlight: this.expectations.inFlight(key),
      now: Date.now(),
      spell: this.records.get(key)?.spell,
      holdOffs: this.holdOffs,
      createBlocked: () => this.budget.check(key),
    });
  }

  async reconcile(key: string): Promise<void> {
    if (!this.synced) return;
    // A failover's create checked now; when the API server disagreed, the state was repaired and
    // the Service is decided again on it.
    if (await this.checkDue(key)) return;
    this.timeline.started(key);
    const decision = this.decideFor(key);
    this.timeline.decided(key);
    this.record(key, decision);
    // Counted against the blast-radius limits from now: the next decision must see this create.
    const creating = decision.actions.some((a) => a.type === 'create' || a.type === 'promote');
    if (creating) this.budget.reserve(key);
    try {
      await this.carryOut(key, decision);
    } finally {
      if (creating) this.budget.release(key);
      if (creating && !this.expectations.inFlight(key).creating) this.retryLimited(); // the create failed: its room is free
    }
  }

  /** What the decision says beyond its actions: metrics, hold-off spell, requeue, blocked, status. */
  private record(key: string, decision: Decision): void {
    this.metrics.decisions.inc({ wanted: String(decision.wanted) });
    this.clock.decided(key, decision.lame && decision.covering.length > 0, this.timeline.seenAt(key));
    const rec = this.records.of(key);
    rec.spell = decision.spell;
    if (decision.requeueAfterMs !== undefined) this.queue.addAfter(key, decision.requeueAfterMs);
    rec.verdict = decision.considered
      ? { lame: decision.lame, defaults: decision.defaultPods, standbys: decision.standbyPods }
      : undefined;
    if (decision.considered && !decision.lame) rec.served = true;
    this.noteBlocked(rec, decision);
    this.status.markCovering(
      key,
      decision.covering.map((c) => c.name),
    );
  }

  private async carryOut(key: string, decision: Decision): Promise<void> {
    const svc = this.store.services.get(key);
    if (svc) await this.reportBlocked(svc, decision);
    else this.records.forget(key);
    // A Service gone: its actions (the clean-up) write to a record no one keeps.
    const rec = this.records.get(key) ?? { served: false };
    try {
      for (const action of decision.actions) {
        took(rec, await this.actions.act(key, action, { served: rec.served, suspect: this.records.suspect(key) }));
      }
      this.queue.forget(key);
      if (decision.actions.length === 0) this.timeline.clear(key);
    } catch (err) {
      this.metrics.apiErrors.inc({ op: 'reconcile' });
      failed(rec, err);
      if (err instanceof TemplateUnusable || err instanceof CreateRefused || err instanceof StateDisagrees) {
        const wait = this.queue.addRateLimited(key, this.cfg.TEMPLATE_RETRY_SECONDS * 1000);
        this.logFor(key).debug({ retryInMs: wait, reason: err.message }, 'default pod not created yet; retrying');
        return;
      }
      const retryInMs = this.queue.addRateLimited(key);
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
      this.queue.addAfter(key, early);
      return false;
    }
    rec.dueCheck = undefined;
    const verdict = await this.actions.checkCreated(key, due);
    if (verdict === 'disagreed') rec.suspectUntil = Date.now() + CHECK_FIRST_MS;
    return verdict === 'disagreed';
  }

  /** A default pod went (or a create failed): the Services the limits held back are decided again. */
  private retryLimited(): void {
    for (const key of this.records.blockedBy(LIMIT_REASON)) this.queue.add(key);
  }

  /** What keeps a lame Service without a default pod; an admission refusal stands until a create succeeds. */
  private noteBlocked(rec: ServiceRecord, decision: Decision): void {
    const why = blockedBy(decision);
    if (why) rec.blocked = why;
    else if (!decision.wanted || decision.defaultPod || rec.blocked?.reason !== 'DefaultPodRefused')
      rec.blocked = undefined;
  }

  private async reportBlocked(svc: ServiceInfo, decision: Decision): Promise<void> {
    const conflict = decision.selectorConflict;
    if (conflict)
      await this.reporter.warnOnce(svc, {
        topic: 'selector',
        what: `${conflict.label}=${conflict.wanted}`,
        reason: 'SelectorConflictsWithMarks',
        message: blockedBy(decision)?.message ?? '',
      });
    if (decision.nameTakenBy)
      await this.reporter.warnOnce(svc, {
        topic: 'name-taken',
        what: 'name-taken',
        reason: 'DefaultPodNameTaken',
        message: `pod ${decision.nameTakenBy.name} exists without critsvc's ownership marks; critsvc will not touch it, so this Service has no default pod`,
      });
    if (decision.limitedBy)
      await this.reporter.warnOnce(svc, {
        topic: 'limit',
        what: 'limit',
        reason: LIMIT_REASON,
        message: `no default pod for this lame critical Service: ${decision.limitedBy.message}`,
      });
    else this.reporter.settled(svc.key, 'limit');
    const legacy = decision.legacy
      .map((p) => p.name)
      .sort()
      .join(', ');
    if (legacy)
      await this.reporter.warnOnce(svc, {
        topic: 'legacy',
        what: legacy,
        reason: 'LegacyDefaultPod',
        message: `pod(s) ${legacy} carry only the service-watcher annotation (left by the article's version): never counted as real, never deleted by critsvc; delete them by hand`,
      });
  }

  /** The state took what the API server said: the Services it concerns are decided again. */
  private applyLive(results: ApplyResult[]): void {
    const seenAt = Date.now();
    for (const r of results) if (r.outcome === 'changed') for (const change of r.changes) this.onChange(change, seenAt);
  }

  /** A child logger per Service: every line about it carries `svc` (grep '"svc":"ns/name"'). */
  private logFor(key: string): Logger {
    return this.log.child({ svc: key });
  }
}

/** Why the decision leaves a lame Service without a default pod, when it is not a matter of time. */
function blockedBy(d: Decision): Blocked | undefined {
  if (d.limitedBy) return d.limitedBy;
  const c = d.selectorConflict;
  if (c) {
    return {
      reason: 'SelectorConflictsWithMarks',
      message: `the selector requires ${c.label}=${c.wanted}, but critsvc sets ${c.label}=${c.ours} on its default pods (its ownership marks); no default pod can serve this Service`,
    };
  }
  if (d.nameTakenBy)
    return {
      reason: 'DefaultPodNameTaken',
      message: `pod ${d.nameTakenBy.name} exists without critsvc's ownership marks`,
    };
  return undefined;
}

/** A default pod of ours went away or began terminating: room under the blast-radius limits. */
function frees({ before, after }: Extract<Change, { kind: 'Pod' }>): boolean {
  return before?.owned === true && !before.terminating && (!after || after.terminating);
}
