// Writes CriticalService status (merge patch on the status subresource), batched and only
// when what it says changed. A failing write is retried with per-CriticalService backoff; the
// conditions' lastTransitionTime survives a restart (read from the object before the first write).
import { Backoff, logError, type Logger } from '@critsvc/shared';
import type { KubeActions } from '../kube/kube-actions.ts';
import type { HandlerMetrics } from '../metrics/metrics.ts';
import type { Blocked } from '../model/reasons.ts';
import { computeStatus, withTransitionTimes, type Condition, type ServiceVerdict } from '../model/status.ts';
import type { Store } from '../model/store.ts';
import type { CritInfo } from '../model/types.ts';

export interface StatusWriterOptions {
  kube: KubeActions;
  log: Logger;
  store: Store;
  watched: readonly string[];
  readyOnly: boolean;
  /** Why the template the CriticalService's default pods are made from is unusable now. */
  templateProblem: (crit: CritInfo) => string | undefined;
  blocked: (serviceKey: string) => Blocked | undefined;
  /** The controller's last verdict on a Service (see StatusInput.decided). */
  decided: (serviceKey: string) => ServiceVerdict | undefined;
  unlisted: ReadonlyMap<string, string>;
  flushMs: number;
  metrics: HandlerMetrics;
}

export class StatusWriter {
  private readonly dirty = new Set<string>();
  private readonly written = new Map<string, { json: string; conditions: Condition[] }>();
  /** Service → the CriticalServices that covered it at its last decision. */
  private readonly coveredBy = new Map<string, string[]>();
  /** CriticalServices whose last write failed: not tried again before `notBefore`. */
  private readonly failing = new Map<string, { backoff: Backoff; notBefore: number }>();
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | undefined;
  private readonly o: StatusWriterOptions;

  constructor(o: StatusWriterOptions) {
    this.o = o;
  }

  mark(name: string): void {
    if (name) this.dirty.add(name);
  }

  markAll(): void {
    for (const name of this.o.store.crits.keys()) this.dirty.add(name);
  }

  /** The CriticalServices covering a Service now and before both need a fresh status. */
  markCovering(serviceKey: string, names: string[]): void {
    for (const n of this.coveredBy.get(serviceKey) ?? []) this.dirty.add(n);
    for (const n of names) this.dirty.add(n);
    if (names.length) this.coveredBy.set(serviceKey, names);
    else this.coveredBy.delete(serviceKey);
  }

  start(): void {
    this.timer ??= setInterval(() => void this.flush(), this.o.flushMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
  }

  flush(): Promise<void> {
    this.flushing ??= this.flushDirty().finally(() => {
      this.flushing = undefined;
    });
    return this.flushing;
  }

  private async flushDirty(): Promise<void> {
    const now = Date.now();
    const names = [...this.dirty].filter((n) => (this.failing.get(n)?.notBefore ?? 0) <= now);
    for (const name of names) this.dirty.delete(name);
    for (const name of names) {
      try {
        await this.write(name);
        this.failing.delete(name);
      } catch (err) {
        this.dirty.add(name);
        this.o.metrics.apiErrors.inc({ op: 'status' });
        const f = this.failing.get(name) ?? { backoff: new Backoff(this.o.flushMs, 60_000), notBefore: 0 };
        const retryInMs = f.backoff.next();
        this.failing.set(name, { ...f, notBefore: Date.now() + retryInMs });
        this.o.log.warn(
          { criticalService: name, err: logError(err), retryInMs, failures: f.backoff.failures },
          'status update failed; will retry',
        );
      }
    }
  }

  /** The conditions the object carries now: their transition times outlive our restarts. */
  private async liveConditions(name: string): Promise<Condition[]> {
    const live = await this.o.kube.readCriticalService(name);
    const conditions = (live as { status?: { conditions?: unknown } } | undefined)?.status?.conditions;
    return Array.isArray(conditions) ? (conditions as Condition[]) : [];
  }

  private async write(name: string): Promise<void> {
    const { store } = this.o;
    const crit = store.crits.get(name);
    if (!crit) {
      this.written.delete(name);
      for (const g of [this.o.metrics.lameServices, this.o.metrics.defaultPods, this.o.metrics.blockedServices])
        g.remove({ criticalservice: name });
      return;
    }
    const problem = this.o.templateProblem(crit);
    const status = computeStatus({
      crit,
      services: store.services.values(),
      podsIn: (ns) => store.podsIn(ns),
      watched: this.o.watched,
      readyOnly: this.o.readyOnly,
      blocked: this.o.blocked,
      decided: this.o.decided,
      unlisted: this.o.unlisted,
      ...(problem ? { templateProblem: problem } : {}),
    });
    this.o.metrics.lameServices.set({ criticalservice: name }, status.lameCount);
    this.o.metrics.defaultPods.set({ criticalservice: name }, status.defaultPodCount);
    this.o.metrics.blockedServices.set({ criticalservice: name }, status.blockedCount);
    const json = JSON.stringify(status);
    const prev = this.written.get(name);
    if (prev?.json === json) return;
    const before = prev?.conditions ?? (await this.liveConditions(name));
    const conditions = withTransitionTimes(status.conditions, before, new Date().toISOString());
    const result = await this.o.kube.patchCritStatus(name, { ...status, conditions });
    this.o.metrics.statusWrites.inc();
    if (result === 'patched') this.written.set(name, { json, conditions });
  }
}
