// Times each critical Service's outage for the operator's metrics: from the watcher seeing the
// event that made it lame to its default pod created (time to fallback) and to that pod Ready
// (the outage window), and counts flaps. Times are the watchers' seenAt where there is one, so
// both ends of a measure come from the same clocks.
import type { HandlerMetrics } from './metrics.ts';
import type { PodInfo } from '../model/types.ts';

/** A Service lame again, or a default pod created again, within this of the opposite: a flap. */
export const FLAP_WINDOW_MS = 60_000;

interface Outage {
  /** When the watcher saw the event that made the Service lame (ms). */
  since: number;
  /** The outage window was observed already (the default pod turned Ready once). */
  served: boolean;
}

type Metrics = Pick<HandlerMetrics, 'timeToFallback' | 'outageWindow' | 'flaps'>;

export class OutageClock {
  private readonly outages = new Map<string, Outage>();
  private readonly healthyAt = new Map<string, number>();
  private readonly deletedAt = new Map<string, number>();
  private readonly metrics: Metrics;
  private readonly now: () => number;

  constructor(metrics: Metrics, now: () => number = Date.now) {
    this.metrics = metrics;
    this.now = now;
  }

  /**
   * A decision: is the Service critical and lame now? `seenAt`: the earliest watcher time of the
   * events that led to it (undefined: none, e.g. a periodic resync; then now).
   */
  decided(key: string, criticalAndLame: boolean, seenAt: number | undefined): void {
    const now = this.now();
    if (criticalAndLame) {
      if (this.outages.has(key)) return;
      const healthyAt = this.healthyAt.get(key);
      if (healthyAt !== undefined && now - healthyAt <= FLAP_WINDOW_MS) this.metrics.flaps.inc({ kind: 'lame-again' });
      this.healthyAt.delete(key);
      this.outages.set(key, { since: seenAt !== undefined && seenAt > 0 ? seenAt : now, served: false });
      return;
    }
    if (this.outages.delete(key)) this.healthyAt.set(key, now);
  }

  /** The API server created the Service's default pod. */
  created(key: string): void {
    const now = this.now();
    const outage = this.outages.get(key);
    if (outage) this.metrics.timeToFallback.observe((now - outage.since) / 1000);
    const deletedAt = this.deletedAt.get(key);
    if (deletedAt !== undefined && now - deletedAt <= FLAP_WINDOW_MS) this.metrics.flaps.inc({ kind: 'recreated' });
    this.deletedAt.delete(key);
  }

  /** The Service's default pod was deleted by critsvc. */
  deleted(key: string): void {
    this.deletedAt.set(key, this.now());
  }

  /** A pod changed on the watch: our default pod turning Ready ends the outage for its Service's clients. */
  podChanged(before: PodInfo | undefined, after: PodInfo | undefined, seenAt: number): void {
    if (!after || after.forService === undefined || !startsServing(before, after)) return;
    const outage = this.outages.get(`${after.namespace}/${after.forService}`);
    if (!outage || outage.served) return;
    outage.served = true;
    this.metrics.outageWindow.observe(Math.max(0, (seenAt > 0 ? seenAt : this.now()) - outage.since) / 1000);
  }

  /** The Service is gone. */
  forget(key: string): void {
    this.outages.delete(key);
    this.healthyAt.delete(key);
    this.deletedAt.delete(key);
  }
}

/** Our default pod just became a ready endpoint: it turned Ready, or a Ready warm pod (hot standby, serving nobody) was promoted. */
function startsServing(before: PodInfo | undefined, after: PodInfo): boolean {
  if (!after.owned || after.standby || !after.ready || after.terminating) return false;
  return !before?.ready || before.standby;
}
