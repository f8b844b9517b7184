// Writes CriticalService status (merge patch on the status subresource), batched and only
// when what it says changed.
import { apiMessage, type Logger } from '@critsvc/shared';
import type { KubeActions } from './kube-actions.ts';
import type { HandlerMetrics } from './metrics.ts';
import { computeStatus, withTransitionTimes, type Condition } from './model/status.ts';
import type { Store } from './model/store.ts';

export interface StatusWriterOptions {
  kube: KubeActions;
  log: Logger;
  store: Store;
  watched: readonly string[];
  readyOnly: boolean;
  templateProblem: () => string | undefined;
  flushMs: number;
  metrics: HandlerMetrics;
}

export class StatusWriter {
  private readonly dirty = new Set<string>();
  private readonly written = new Map<string, { json: string; conditions: Condition[] }>();
  /** Service → the CriticalServices that covered it at its last decision. */
  private readonly coveredBy = new Map<string, string[]>();
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
    const names = [...this.dirty];
    this.dirty.clear();
    for (const name of names) {
      try {
        await this.write(name);
      } catch (err) {
        this.dirty.add(name);
        this.o.metrics.apiErrors.inc({ op: 'status' });
        this.o.log.warn({ criticalService: name, err: apiMessage(err) }, 'status update failed; will retry');
      }
    }
  }

  private async write(name: string): Promise<void> {
    const { store } = this.o;
    const crit = store.crits.get(name);
    if (!crit) {
      this.written.delete(name);
      return;
    }
    const problem = this.o.templateProblem();
    const status = computeStatus({
      crit, services: store.services.values(), podsIn: (ns) => store.podsIn(ns), watched: this.o.watched,
      readyOnly: this.o.readyOnly, ...(problem ? { templateProblem: problem } : {}),
    });
    const json = JSON.stringify(status);
    const prev = this.written.get(name);
    if (prev?.json === json) return;
    const conditions = withTransitionTimes(status.conditions, prev?.conditions, new Date().toISOString());
    const result = await this.o.kube.patchCritStatus(name, { ...status, conditions });
    this.o.metrics.statusWrites.inc();
    if (result === 'patched') this.written.set(name, { json, conditions });
  }
}
