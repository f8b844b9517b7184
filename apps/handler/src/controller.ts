// The handler's chain: queue job → state → affected Services → work queue → decide → act.
// Decisions are taken only once the state is complete (after the start-up list).
import { apiMessage, httpStatus, logError, CRD_GROUP, CRD_PLURAL, CRD_VERSION, isTransient, KINDS, objectKey, type HandlerConfig, type Kind, type KubeObject, type Logger, type QueueJob } from '@critsvc/shared';
import { EventLimiter } from './event-limiter.ts';
import { EXPECTATION_TTL_MS, Expectations } from './expectations.ts';
import type { KubeActions, PodRef } from './kube-actions.ts';
import type { HandlerMetrics } from './metrics.ts';
import { decide, type Action, type Decision, type HoldOffs, type Spell } from './model/decide.ts';
import { buildDefaultPod } from './model/default-pod.ts';
import type { Change } from './model/store.ts';
import { Store } from './model/store.ts';
import { confirmCreate, selectorString } from './model/live-check.ts';
import type { CritInfo, PodInfo, ServiceInfo } from './model/types.ts';
import type { Blocked } from './model/status.ts';
import { isComparable, isOlderOrSame } from './model/resource-version.ts';
import { StatusWriter } from './status-writer.ts';
import { TemplateSource } from './template-source.ts';
import { DecisionQueue } from './decision-queue.ts';

export type ControllerConfig = Pick<HandlerConfig, 'NAMESPACES' | 'POD_NAME_PREFIX' | 'POD_TEMPLATE_NAME' | 'POD_TEMPLATE_NAMESPACE'
  | 'READY_PODS_ONLY' | 'DECISION_WORKERS' | 'RESYNC_SECONDS' | 'RELIST_SECONDS' | 'TEMPLATE_RETRY_SECONDS' | 'STATUS_FLUSH_MS' | 'LAME_GRACE_SECONDS' | 'HEALTHY_GRACE_SECONDS'>;

const UNLISTED_RETRY_MS = 30_000;

interface ListTarget {
  kind: Kind;
  scope: string;
  path: string;
}

/** The API server will keep saying no (forbidden, not found): retrying at once will not help. */
function isRefusal(err: unknown): boolean {
  const code = httpStatus(err);
  return code === 401 || code === 403 || code === 404;
}

export class Controller {
  readonly store = new Store();
  /** Services waiting for a decision (not the event queue in Redis: that one feeds handleJob). */
  private readonly queue = new DecisionQueue(200, 30_000);
  private readonly expectations = new Expectations();
  private readonly templates: TemplateSource;
  private readonly status: StatusWriter;
  /** Earliest watcher timestamp of the events not yet acted on, per Service: for latency. */
  private readonly triggeredAt = new Map<string, number>();
  /** Service → what of its blocked state (template, name taken, legacy pod) was already reported, by topic. */
  private readonly reported = new Map<string, Map<string, string>>();
  /** Lame Service → why critsvc cannot give it a default pod (shown in CriticalService status). */
  private readonly blocked = new Map<string, Blocked>();
  /** Service → since when it is lame or healthy (the hold-offs count from there). */
  private readonly spells = new Map<string, Spell>();
  private readonly holdOffs: HoldOffs;
  /** Warnings per reason, across Services. */
  private readonly warnings = new EventLimiter();
  /** The template problem last reported on the PodTemplate. */
  private templateReported: string | undefined;
  /** Lists the API server refused (kind/scope), retried in the background; and the scopes they leave unprotected. */
  private readonly unlistedLists = new Map<string, { target: ListTarget; message: string }>();
  private readonly unlisted = new Map<string, string>();
  private unlistedTimer: NodeJS.Timeout | undefined;
  private resyncTimer: NodeJS.Timeout | undefined;
  private relistTimer: NodeJS.Timeout | undefined;
  private relisting = false;
  private running: Promise<void> | undefined;
  synced = false;

  private readonly cfg: ControllerConfig;
  private readonly kube: KubeActions;
  private readonly log: Logger;
  private readonly metrics: HandlerMetrics;

  constructor(cfg: ControllerConfig, kube: KubeActions, log: Logger, metrics: HandlerMetrics) {
    this.cfg = cfg;
    this.kube = kube;
    this.log = log;
    this.metrics = metrics;
    this.holdOffs = { lameGraceMs: cfg.LAME_GRACE_SECONDS * 1000, healthyGraceMs: cfg.HEALTHY_GRACE_SECONDS * 1000 };
    this.templates = new TemplateSource(kube, cfg.POD_TEMPLATE_NAMESPACE, cfg.POD_TEMPLATE_NAME);
    this.status = new StatusWriter({
      kube, log, store: this.store, watched: cfg.NAMESPACES, readyOnly: cfg.READY_PODS_ONLY,
      templateProblem: () => this.templates.problem, blocked: (key) => this.blocked.get(key), unlisted: this.unlisted, flushMs: cfg.STATUS_FLUSH_MS, metrics,
    });
  }

  private scopes(): string[] {
    return this.cfg.NAMESPACES.length ? [...this.cfg.NAMESPACES] : [''];
  }

  /** What the handler lists: CriticalServices, then Services and pods of each watched scope. */
  private lists(): ListTarget[] {
    return [
      { kind: 'CriticalService', scope: '', path: `/apis/${CRD_GROUP}/${CRD_VERSION}/${CRD_PLURAL}` },
      ...this.scopes().flatMap((ns) => [
        { kind: 'Service' as const, scope: ns, path: ns ? `/api/v1/namespaces/${ns}/services` : '/api/v1/services' },
        { kind: 'Pod' as const, scope: ns, path: ns ? `/api/v1/namespaces/${ns}/pods` : '/api/v1/pods' },
      ]),
    ];
  }

  /**
   * Lists everything itself before deciding anything: a restarted handler knows every real pod
   * first. A list the API server refuses for good (a namespace the handler may not read, the CRD
   * not installed) does not hold the others back: it is reported and retried in the background.
   */
  async sync(signal: AbortSignal): Promise<void> {
    const started = Date.now();
    let pending = this.lists();
    for (let attempt = 1; pending.length > 0 && !signal.aborted; attempt++) {
      const failed: ListTarget[] = [];
      for (const l of pending) if (!(await this.loadAtStart(l, attempt))) failed.push(l);
      pending = failed;
      if (pending.length) await new Promise((r) => setTimeout(r, Math.min(30_000, 500 * 2 ** Math.min(attempt, 6))));
    }
    if (signal.aborted) return;
    this.synced = true;
    this.unlistedTimer = setInterval(() => void this.retryUnlisted(), UNLISTED_RETRY_MS);
    this.unlistedTimer.unref();
    this.metrics.syncSeconds.set((Date.now() - started) / 1000);
    this.log.info({ services: this.store.services.size, pods: this.store.podCount(), criticalServices: this.store.crits.size, ms: Date.now() - started }, 'state complete; deciding');
    this.resyncAll();
    this.resyncTimer = setInterval(() => this.resyncAll(), this.cfg.RESYNC_SECONDS * 1000);
    this.resyncTimer.unref();
    this.relistTimer = setInterval(() => void this.relist('periodic'), this.cfg.RELIST_SECONDS * 1000);
    this.relistTimer.unref();
  }

  /** @returns false when the list must be tried again now (a transient failure). */
  private async loadAtStart(l: ListTarget, attempt: number): Promise<boolean> {
    try {
      await this.load(l.kind, l.scope, l.path);
      return true;
    } catch (err) {
      this.metrics.apiErrors.inc({ op: 'list' });
      if (isRefusal(err)) {
        this.markUnlisted(l, err);
        return true;
      }
      this.log.warn({ kind: l.kind, scope: l.scope || '*', err: logError(err), attempt }, 'start-up list failed; retrying');
      return false;
    }
  }

  /** The API server refused this list: its scope is unprotected until a retry succeeds. */
  private markUnlisted(l: ListTarget, err: unknown): void {
    const message = apiMessage(err);
    const key = `${l.kind}/${l.scope}`;
    if (this.unlistedLists.get(key)?.message !== message) {
      this.log.error({ kind: l.kind, scope: l.scope || '*', status: httpStatus(err), err: message }, 'cannot list; this scope is not protected until it can (retried every 30 s); the others are');
    }
    this.unlistedLists.set(key, { target: l, message });
    if (l.kind !== 'CriticalService') this.unlisted.set(l.scope, message);
    this.status.markAll();
  }

  /** Lists refused at start-up, tried again: a scope that can be listed now joins the state. */
  private async retryUnlisted(): Promise<void> {
    for (const [key, { target }] of [...this.unlistedLists]) {
      try {
        await this.relistOne(target.kind, target.scope, target.path);
      } catch (err) {
        if (isRefusal(err)) this.markUnlisted(target, err);
        continue;
      }
      this.unlistedLists.delete(key);
      if (![...this.unlistedLists.values()].some((u) => u.target.scope === target.scope && u.target.kind !== 'CriticalService')) this.unlisted.delete(target.scope);
      this.log.info({ kind: target.kind, scope: target.scope || '*' }, 'listed at last; this scope is protected now');
      this.resyncAll();
    }
  }

  /**
   * Lists everything again and diffs it into the state, as queue events would have: repairs what
   * the queue lost (Redis restarted empty, a job that failed for good). Objects newer in
   * the state than the list are read again one by one: an event that came during the list, or
   * a lie from the queue. Counts what it had to repair.
   */
  async relist(reason: string): Promise<void> {
    if (!this.synced || this.relisting) return;
    this.relisting = true;
    const started = Date.now();
    const drift: Record<string, number> = {};
    try {
      for (const l of this.lists()) drift[l.kind] = (drift[l.kind] ?? 0) + (await this.relistOne(l.kind, l.scope, l.path));
      const total = Object.values(drift).reduce((a, b) => a + b, 0);
      for (const [kind, n] of Object.entries(drift)) if (n) this.metrics.relistDrift.inc({ kind }, n);
      this.metrics.relists.inc({ reason });
      const fields = { reason, drift, ms: Date.now() - started };
      if (total) this.log.warn(fields, 'relisted: the state had drifted from the API server; repaired');
      else this.log.info(fields, 'relisted: the state matched the API server');
    } catch (err) {
      this.metrics.apiErrors.inc({ op: 'list' });
      this.log.warn({ reason, err: logError(err) }, 'relist failed; the next one retries');
    } finally {
      this.relisting = false;
    }
  }

  private async relistOne(kind: Kind, scope: string, path: string): Promise<number> {
    const keys: string[] = [];
    const doubtful: KubeObject[] = [];
    let rv = '';
    let drift = 0;
    const seenAt = Date.now();
    for await (const page of this.kube.listPages(path)) {
      for (const object of page.items as KubeObject[]) {
        keys.push(objectKey(object.metadata));
        const held = this.store.get(kind, kind === 'CriticalService' ? object.metadata?.name ?? '' : objectKey(object.metadata));
        if (held && isNewer(held.resourceVersion, page.resourceVersion)) doubtful.push(object);
        drift += this.applyRepair({ kind, type: 'ADDED', object, seenAt });
      }
      rv = page.resourceVersion;
    }
    drift += this.applyRepair({ kind, type: 'SYNCED', scope, resourceVersion: rv, keys, seenAt });
    for (const object of doubtful) drift += await this.readAgain(kind, object);
    return drift;
  }

  /** Applies what a list said; 1 when the state had to change. */
  private applyRepair(job: QueueJob): number {
    const result = this.store.apply(job);
    if (result.outcome !== 'changed') return 0;
    for (const change of result.changes) this.onChange(change, job.seenAt);
    return result.changes.length;
  }

  private readLive(kind: Kind, namespace: string, name: string): Promise<KubeObject | undefined> {
    if (kind === 'Pod') return this.kube.readPod(namespace, name);
    if (kind === 'Service') return this.kube.readService(namespace, name);
    return this.kube.readCriticalService(name);
  }

  /** The state holds a version newer than the list: ask the API server for this one object. */
  private async readAgain(kind: Kind, listed: KubeObject): Promise<number> {
    const { namespace = '', name = '' } = listed.metadata ?? {};
    const live = await this.readLive(kind, namespace, name);
    const key = kind === 'CriticalService' ? name : `${namespace}/${name}`;
    const held = this.store.get(kind, key);
    if (live && held && live.metadata?.resourceVersion === held.resourceVersion) return 0;
    const r = live ? this.store.repair(kind, live) : this.store.forget(kind, key);
    if (r.outcome !== 'changed') return 0;
    for (const change of r.changes) this.onChange(change, Date.now());
    return 1;
  }

  /** Page by page: only one page of raw objects is held at a time, however big the cluster. */
  private async load(kind: Kind, scope: string, path: string): Promise<void> {
    this.store.beginList(kind, scope);
    let rv = '';
    for await (const page of this.kube.listPages(path)) {
      for (const bad of this.store.addListed(kind, page.items)) this.log.warn({ kind, key: bad.key, error: bad.error }, 'malformed object skipped');
      rv = page.resourceVersion;
    }
    this.store.endList(kind, scope, rv);
  }

  /** Every Service, and every Service a default pod claims (it may be gone): the clean-up after being away. */
  resyncAll(): void {
    for (const key of this.store.services.keys()) this.queue.add(key);
    for (const pod of this.store.allPods()) if (pod.owned && pod.forService !== undefined) this.queue.add(`${pod.namespace}/${pod.forService}`);
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
    this.queue.shutDown();
    await this.running;
    await this.status.stop();
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
    const result = this.store.apply(job);
    this.metrics.events.inc({ kind: job.kind, type: job.type, outcome: result.outcome });
    if (job.kind === 'Pod' && job.type === 'DELETED') this.settleGone(job.object, job.seenAt);
    if (result.outcome === 'invalid') {
      this.log.warn({ kind: job.kind, key: job.type === 'SYNCED' ? job.scope : objectKey(job.object.metadata), error: result.error }, 'malformed object skipped');
      return;
    }
    if (result.outcome !== 'changed') return;
    for (const change of result.changes) this.onChange(change, job.seenAt);
  }

  /** A DELETED settles an awaited create even when the pod's ADDED never arrived (coalesced away). */
  private settleGone(obj: KubeObject, seenAt: number): void {
    const { namespace = '', name = '', uid = '' } = obj.metadata ?? {};
    for (const key of this.expectations.gone(namespace, name, uid)) this.trigger(key, seenAt);
  }

  private onChange(change: Change, seenAt: number): void {
    if (change.kind === 'Pod') this.expectations.observe(change.before, change.after);
    if (change.kind === 'CriticalService') this.onCritChange(change);
    for (const key of this.store.affectedServices(change)) this.trigger(key, seenAt);
  }

  private onCritChange({ before, after }: Extract<Change, { kind: 'CriticalService' }>): void {
    if (after?.problems.length && after.resourceVersion !== before?.resourceVersion) {
      this.log.warn({ criticalService: after.name, problems: after.problems }, 'CriticalService makes no sense; it covers nothing until fixed');
    }
    this.status.mark(after?.name ?? before?.name ?? '');
  }

  private trigger(key: string, seenAt: number): void {
    if (!this.triggeredAt.has(key)) this.triggeredAt.set(key, seenAt);
    // Before the start-up list completes, sync() queues every Service itself.
    if (this.synced) this.queue.add(key);
  }

  private decideFor(key: string): Decision {
    const ns = key.slice(0, key.indexOf('/'));
    return decide({
      serviceKey: key, service: this.store.services.get(key), crits: this.store.crits.values(),
      podsInNamespace: this.store.podsIn(ns), watched: this.cfg.NAMESPACES, readyOnly: this.cfg.READY_PODS_ONLY,
      podNamePrefix: this.cfg.POD_NAME_PREFIX, inFlight: this.expectations.inFlight(key),
      now: Date.now(), spell: this.spells.get(key), holdOffs: this.holdOffs,
    });
  }

  async reconcile(key: string): Promise<void> {
    if (!this.synced) return;
    const decision = this.decideFor(key);
    if (decision.spell) this.spells.set(key, decision.spell);
    else this.spells.delete(key);
    if (decision.requeueAfterMs !== undefined) this.queue.addAfter(key, decision.requeueAfterMs);
    this.noteBlocked(key, decision);
    this.status.markCovering(key, decision.covering.map((c) => c.name));
    const svc = this.store.services.get(key);
    if (svc) await this.reportBlocked(svc, decision);
    else this.reported.delete(key);
    try {
      for (const action of decision.actions) await this.act(key, action);
      this.queue.forget(key);
      if (decision.actions.length === 0) this.triggeredAt.delete(key);
    } catch (err) {
      this.metrics.apiErrors.inc({ op: 'reconcile' });
      if (err instanceof TemplateUnusable || err instanceof CreateRefused || err instanceof StateDisagrees) {
        const wait = this.queue.addRateLimited(key, this.cfg.TEMPLATE_RETRY_SECONDS * 1000);
        this.log.debug({ svc: key, retryInMs: wait, reason: err.message }, 'default pod not created yet; retrying');
        return;
      }
      const retryInMs = this.queue.addRateLimited(key);
      const level = isTransient(err) ? 'warn' : 'error';
      this.log[level]({ svc: key, err: logError(err), retryInMs }, 'action failed; retrying');
    }
  }

  /** What keeps a lame Service without a default pod; an admission refusal stands until a create succeeds. */
  private noteBlocked(key: string, decision: Decision): void {
    const why = blockedBy(decision);
    if (why) this.blocked.set(key, why);
    else if (!decision.wanted || decision.defaultPod || this.blocked.get(key)?.reason !== 'DefaultPodRefused') this.blocked.delete(key);
  }

  private async reportBlocked(svc: ServiceInfo, decision: Decision): Promise<void> {
    const conflict = decision.selectorConflict;
    if (conflict) await this.reportOnce(svc, 'selector', `${conflict.label}=${conflict.wanted}`, 'Warning', 'SelectorConflictsWithMarks', blockedBy(decision)?.message ?? '');
    if (decision.nameTakenBy) await this.reportOnce(svc, 'name-taken', 'name-taken', 'Warning', 'DefaultPodNameTaken',
      `pod ${decision.nameTakenBy.name} exists without critsvc's ownership marks; critsvc will not touch it, so this Service has no default pod`);
    const legacy = decision.legacy.map((p) => p.name).sort().join(', ');
    if (legacy) await this.reportOnce(svc, 'legacy', legacy, 'Warning', 'LegacyDefaultPod',
      `pod(s) ${legacy} carry only the service-watcher annotation (left by the article's version): never counted as real, never deleted by critsvc; delete them by hand`);
  }

  private async act(key: string, action: Action): Promise<void> {
    if (action.type === 'create') return this.create(key, action.service, action.podName, action);
    if (action.type === 'owners') return this.setOwners(key, action);
    const { pod, reason } = action;
    this.expectations.expectDelete(pod.uid);
    this.queue.addAfter(key, EXPECTATION_TTL_MS + 1_000);
    let result;
    try {
      result = await this.kube.deletePod(podRef(key, pod), action.force);
    } catch (err) {
      this.expectations.clearDelete(pod.uid);
      throw err;
    }
    this.metrics.actions.inc({ action: 'delete', result });
    if (result === 'refused' || result === 'replaced') {
      this.expectations.clearDelete(pod.uid);
      if (result === 'refused') this.log.warn({ svc: key, pod: pod.name, ns: pod.namespace, uid: pod.uid }, 'not deleting a pod whose live object lacks critsvc\'s ownership marks (the queue said otherwise)');
    }
    if (result !== 'deleted') await this.repairPod(pod, result);
    if (result === 'refused') return;
    this.observeLatency(key, 'delete');
    this.log.info({ svc: key, pod: pod.name, ns: pod.namespace, reason, result }, 'default pod deleted');
    const svc = this.store.services.get(key);
    if (svc && result === 'deleted') await this.event(svc, 'Normal', 'DefaultPodDeleted', `deleted default pod ${pod.name} (${reason})`);
  }

  /** The GC deletes a pod once every owner is gone: the owners must be the CriticalServices covering it now. */
  private async setOwners(key: string, action: Extract<Action, { type: 'owners' }>): Promise<void> {
    const { pod, owners, stale } = action;
    const result = await this.kube.patchPodOwners(podRef(key, pod), owners, stale);
    this.metrics.actions.inc({ action: 'owners', result });
    if (result !== 'patched') await this.repairPod(pod, result);
    if (result === 'refused') {
      this.log.warn({ svc: key, pod: pod.name, ns: pod.namespace, uid: pod.uid }, 'not changing a pod whose live object lacks critsvc\'s ownership marks (the queue said otherwise)');
      return;
    }
    this.log.info({ svc: key, pod: pod.name, ns: pod.namespace, owners: owners.map((o) => o.name), controller: owners.find((o) => o.controller)?.name,
      removed: stale.map((o) => o.name), result }, 'default pod owners updated');
  }

  private async create(key: string, svc: ServiceInfo, podName: string, action: Extract<Action, { type: 'create' }>): Promise<void> {
    const tmpl = await this.templates.get();
    if (!tmpl.ok) {
      this.status.markAll();
      await this.reportTemplate(tmpl.error);
      await this.reportOnce(svc, 'template', tmpl.error, 'Warning', 'PodTemplateUnusable',
        `cannot create default pod ${podName}: ${tmpl.error}`, { template: `${this.cfg.POD_TEMPLATE_NAMESPACE}/${this.cfg.POD_TEMPLATE_NAME}` });
      throw new TemplateUnusable(tmpl.error);
    }
    const refs = tmpl.template.references;
    if (refs.length && svc.namespace !== this.cfg.POD_TEMPLATE_NAMESPACE) {
      await this.reportOnce(svc, 'template-refs', refs.join(', '), 'Warning', 'PodTemplateReferences',
        `the PodTemplate refers to ${refs.join(', ')}: the default pod looks them up in namespace ${svc.namespace}, where they may not exist`);
    }
    const owners = await this.confirmLame(svc, action.owners);
    const pod = buildDefaultPod(tmpl.template, svc, podName, owners);
    this.expectations.expectCreate(key, podName);
    this.queue.addAfter(key, EXPECTATION_TTL_MS + 1_000); // decided again if the pod is never seen
    let result;
    try {
      result = await this.kube.createPod(pod);
    } catch (err) {
      this.expectations.clearCreate(key);
      if (isTransient(err)) throw err;
      if (httpStatus(err) === 422) {
        // The pod itself is invalid: the template is to blame.
        this.templates.invalidate(`the pod built from it was refused: ${apiMessage(err)}`);
        throw new TemplateUnusable(apiMessage(err));
      }
      // Admission said no (a terminating namespace, ResourceQuota, Pod Security, a webhook): not the
      // template's fault. Said once per message, retried with backoff.
      this.blocked.set(key, { reason: 'DefaultPodRefused', message: apiMessage(err) });
      await this.reportOnce(svc, 'refused', apiMessage(err), 'Warning', 'DefaultPodRefused',
        `the API server refused default pod ${podName}: ${apiMessage(err)}`);
      throw new CreateRefused(apiMessage(err));
    }
    this.templateReported = undefined;
    this.reported.get(key)?.delete('template');
    this.reported.get(key)?.delete('refused');
    this.blocked.delete(key);
    this.metrics.actions.inc({ action: 'create', result });
    this.observeLatency(key, 'create');
    this.log.info({ svc: key, pod: podName, ns: svc.namespace, result, owners: owners.map((c) => c.name) }, 'default pod created');
    if (result === 'created') await this.event(svc, 'Normal', 'DefaultPodCreated', `Service has no real pod; created default pod ${podName}`);
  }

  /**
   * The state says the Service is lame and critical; the API server must agree before a pod is
   * created (queue payloads are hints). When it does not, the state is repaired from what it
   * said and the Service decided again. Gives the covering CriticalServices as read now.
   */
  private async confirmLame(svc: ServiceInfo, covering: CritInfo[]): Promise<CritInfo[]> {
    const [service, pods, crits] = await Promise.all([
      this.kube.readService(svc.namespace, svc.name),
      this.kube.listPods(svc.namespace, selectorString(svc.selector)),
      Promise.all(covering.map((c) => this.kube.readCriticalService(c.name))),
    ]);
    const verdict = confirmCreate(svc, { service, pods, crits }, this.cfg.NAMESPACES, this.cfg.READY_PODS_ONLY);
    if (verdict.ok) return verdict.owners;
    this.metrics.liveDisagreements.inc();
    this.log.warn({ svc: svc.key, why: verdict.why }, 'the API server disagrees with the state; default pod not created, state repaired');
    const seenAt = Date.now();
    const results = [
      service ? this.store.repair('Service', service) : this.store.forget('Service', svc.key),
      ...pods.map((p) => this.store.repair('Pod', p)),
      ...covering.map((c, i) => {
        const live = crits[i];
        return live ? this.store.repair('CriticalService', live) : this.store.forget('CriticalService', c.name);
      }),
    ];
    for (const r of results) if (r.outcome === 'changed') for (const change of r.changes) this.onChange(change, seenAt);
    throw new StateDisagrees(verdict.why);
  }

  /** The live pod was not what the state said (gone, another, not ours): the state takes what the API server says. */
  private async repairPod(pod: PodInfo, result: 'gone' | 'replaced' | 'refused'): Promise<void> {
    // 'gone' was the API server's answer already; the others need the object it holds now.
    const live = result === 'gone' ? undefined : await this.kube.readPod(pod.namespace, pod.name);
    const r = live ? this.store.repair('Pod', live) : this.store.forget('Pod', pod.key);
    if (r.outcome === 'changed') for (const change of r.changes) this.onChange(change, Date.now());
  }

  private observeLatency(key: string, action: string): void {
    const at = this.triggeredAt.get(key);
    this.triggeredAt.delete(key);
    if (at !== undefined && at > 0) this.metrics.latency.observe({ action }, (Date.now() - at) / 1000);
  }

  /** One Warning on the PodTemplate itself per problem: the place to look, whatever the number of lame Services. */
  private async reportTemplate(problem: string): Promise<void> {
    if (this.templateReported === problem) return;
    this.templateReported = problem;
    const ref = { kind: 'PodTemplate' as const, namespace: this.cfg.POD_TEMPLATE_NAMESPACE, name: this.cfg.POD_TEMPLATE_NAME, uid: '' };
    try {
      await this.kube.recordEvent(ref, 'Warning', 'PodTemplateUnusable', `no default pod can be created from it: ${problem}`);
    } catch (err) {
      this.metrics.apiErrors.inc({ op: 'event' });
      this.log.warn({ template: `${ref.namespace}/${ref.name}`, err: logError(err) }, 'could not record event');
    }
  }

  private async reportOnce(svc: ServiceInfo, topic: string, what: string, type: 'Normal' | 'Warning', reason: string, message: string, extra: object = {}): Promise<void> {
    let topics = this.reported.get(svc.key);
    if (topics?.get(topic) === what) return;
    if (!topics) this.reported.set(svc.key, (topics = new Map()));
    topics.set(topic, what);
    // A constant message; what happened is in reason and detail (grep '"reason":"DefaultPodRefused"').
    this.log.error({ svc: svc.key, reason, detail: message, ...extra }, 'a Service needs attention; reported in a Warning Event');
    await this.event(svc, type, reason, message);
  }

  private async event(svc: ServiceInfo, type: 'Normal' | 'Warning', reason: string, message: string): Promise<void> {
    if (type === 'Warning' && !this.warnings.allow(reason)) {
      this.metrics.eventsSuppressed.inc({ reason });
      return;
    }
    try {
      await this.kube.recordEvent({ namespace: svc.namespace, name: svc.name, uid: svc.uid }, type, reason, message);
    } catch (err) {
      // Events are best effort: never a reason to redo an action.
      this.metrics.apiErrors.inc({ op: 'event' });
      this.log.warn({ svc: svc.key, reason, err: logError(err) }, 'could not record event');
    }
  }
}

export class TemplateUnusable extends Error {
  override name = 'TemplateUnusable';
}

/** The API server does not confirm what the state says; the state was repaired, the Service is decided again. */
export class StateDisagrees extends Error {
  override name = 'StateDisagrees';
}

/** Why the decision leaves a lame Service without a default pod, when it is not a matter of time. */
function blockedBy(d: Decision): Blocked | undefined {
  const c = d.selectorConflict;
  if (c) {
    return { reason: 'SelectorConflictsWithMarks', message: `the selector requires ${c.label}=${c.wanted}, but critsvc sets ${c.label}=${c.ours} on its default pods (its ownership marks); no default pod can serve this Service` };
  }
  if (d.nameTakenBy) return { reason: 'DefaultPodNameTaken', message: `pod ${d.nameTakenBy.name} exists without critsvc's ownership marks` };
  return undefined;
}

/** What a delete or owners patch means: this pod, standing in for this Service. */
function podRef(serviceKey: string, pod: PodInfo): PodRef {
  return { namespace: pod.namespace, name: pod.name, uid: pod.uid, service: serviceKey.slice(serviceKey.indexOf('/') + 1) };
}

/** The API server's admission refused the default pod; reported already, retried with backoff. */
export class CreateRefused extends Error {
  override name = 'CreateRefused';
}

const EVENT_TYPES: readonly unknown[] = ['ADDED', 'MODIFIED', 'DELETED'];

function asQueueJob(data: unknown): QueueJob | undefined {
  if (typeof data !== 'object' || data === null) return undefined;
  const d = data as Record<string, unknown>;
  if (!KINDS.includes(d.kind as Kind)) return undefined;
  if (d.type === 'SYNCED') return isSyncJob(d) ? (d as unknown as QueueJob) : undefined;
  if (!isEventJob(d)) return undefined;
  // Without seenAt the latency is unknown: 0 keeps the job out of the latency metric.
  return { ...(d as unknown as QueueJob), seenAt: typeof d.seenAt === 'number' ? d.seenAt : 0 } as QueueJob;
}

function isSyncJob(d: Record<string, unknown>): boolean {
  return typeof d.scope === 'string' && typeof d.resourceVersion === 'string' && Array.isArray(d.keys);
}

function isEventJob(d: Record<string, unknown>): boolean {
  return EVENT_TYPES.includes(d.type) && typeof d.object === 'object' && d.object !== null;
}

function summarize(data: unknown): string {
  const s = JSON.stringify(data) ?? String(data);
  return s.length > 200 ? `${s.slice(0, 200)}…` : s;
}

/** `a` is a later resourceVersion than `b` (both comparable). */
function isNewer(a: string, b: string): boolean {
  return isComparable(a) && isComparable(b) && !isOlderOrSame(a, b);
}
