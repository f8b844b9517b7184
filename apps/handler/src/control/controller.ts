// The handler's chain: queue job → state → affected Services → work queue → decide → act. The
// controller routes events and runs the lifecycle; decisions are taken (reconciler.ts) only once
// the state is complete (after the start-up list), and carried out by actions.ts.
import type { Logger } from '@critsvc/shared';
import type { ControllerConfig, ControllerParts } from './parts.ts';
import { Reconciler } from './reconciler.ts';
import { Confirmed } from '../kube/confirmed.ts';
import { Expectations } from './expectations.ts';
import type { KubeActions } from '../kube/kube-actions.ts';
import type { HandlerMetrics } from '../metrics/metrics.ts';
import type { ApplyResult, Change } from '../model/store.ts';
import { Store } from '../model/store.ts';
import { Reporter } from '../status/reporter.ts';
import { RevisionCheck } from '../kube/revision-check.ts';
import { StateLoader, UNLISTED_RETRY_MS } from '../kube/state-loader.ts';
import { StatusWriter } from '../status/status-writer.ts';
import { Templates } from '../kube/template-watch.ts';
import { DecisionQueue } from './decision-queue.ts';
import { JobIntake } from './intake.ts';
import { Timeline } from '../metrics/timeline.ts';
import { OutageClock } from '../metrics/outage-clock.ts';
import type { FastPathResult } from '../queue/queue-consumer.ts';

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
  private readonly clock: OutageClock;
  private readonly loader: StateLoader;
  private readonly revisions: RevisionCheck;
  /** Decides each Service due and carries the decision out; keeps the Services' records. */
  private readonly reconciler: Reconciler;
  private readonly intake: JobIntake;
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
      templateProblem: (crit) => this.templates.problemFor(crit, this.store.services.values(), cfg.NAMESPACES),
      blocked: (key) => this.reconciler.recordOf(key)?.blocked,
      decided: (key) => this.reconciler.recordOf(key)?.verdict,
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
    this.intake = new JobIntake({
      store: this.store,
      expectations: this.expectations,
      revisions: this.revisions,
      metrics,
      log,
      onChange: (change, seenAt) => this.onChange(change, seenAt),
      trigger: (key, seenAt) => this.trigger(key, seenAt),
      relist: (reason) => this.relist(reason),
    });
    this.reconciler = new Reconciler({
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

  /** Why a PodTemplate in use (the global one, or one a CriticalService names) cannot be used now; undefined while all can. */
  get templateProblem(): string | undefined {
    return this.templates.anyProblem(this.store.crits.values());
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
    this.intake.job(data);
  }

  /** A watcher's fast-path message (see JobIntake.fastPath). */
  handleFastPath(data: unknown): FastPathResult {
    return this.intake.fastPath(data);
  }

  private onChange(change: Change, seenAt: number): void {
    if (change.kind === 'Pod') this.expectations.observe(change.before, change.after);
    if (change.kind === 'Pod') this.clock.podChanged(change.before, change.after, seenAt);
    if (change.kind === 'Pod' && frees(change)) this.reconciler.retryLimited();
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

  async reconcile(key: string): Promise<void> {
    if (this.synced) await this.reconciler.reconcile(key);
  }

  /** The state took what the API server said: the Services it concerns are decided again. */
  private applyLive(results: ApplyResult[]): void {
    const seenAt = Date.now();
    for (const r of results) if (r.outcome === 'changed') for (const change of r.changes) this.onChange(change, seenAt);
  }
}

/** A default pod of ours went away or began terminating: room under the blast-radius limits. */
function frees({ before, after }: Extract<Change, { kind: 'Pod' }>): boolean {
  return before?.owned === true && !before.terminating && (!after || after.terminating);
}
