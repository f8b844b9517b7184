// An independent watch on one Service's EndpointSlices, timestamping every change of its ready
// endpoints on arrival: what kube-proxy and every client-side load balancer follow.
import { performance } from 'node:perf_hooks';
import { Watch, type KubeConfig } from '@kubernetes/client-node';

export interface ReadyChange {
  /** Pods behind the ready endpoints, sorted. */
  ready: string[];
  t: number;
}

interface RawSlice {
  metadata?: { name?: string };
  endpoints?: { conditions?: { ready?: boolean }; targetRef?: { name?: string } }[] | null;
}

export class EndpointRecorder {
  readonly changes: ReadyChange[] = [];
  private readonly slices = new Map<string, string[]>();
  private waiters: { pred: (c: ReadyChange) => boolean; resolve: (c: ReadyChange) => void }[] = [];
  private ctrl: AbortController | undefined;
  private stopped = false;
  /** How long until() waits. */
  timeoutMs = 30_000;

  static async start(kc: KubeConfig, ns: string, service: string): Promise<EndpointRecorder> {
    const r = new EndpointRecorder();
    await r.connect(kc, ns, service);
    return r;
  }

  /** client-node ends a watch quiet for 30 s: each end watches again (a re-list replaces what was known). */
  private async connect(kc: KubeConfig, ns: string, service: string): Promise<void> {
    if (this.stopped) return;
    this.slices.clear();
    this.ctrl = await new Watch(kc).watch(`/apis/discovery.k8s.io/v1/namespaces/${ns}/endpointslices`,
      { labelSelector: `kubernetes.io/service-name=${service}`, allowWatchBookmarks: true }, (type, obj: RawSlice) => {
        if (type === 'BOOKMARK') return;
        const name = obj.metadata?.name ?? '';
        if (type === 'DELETED') this.slices.delete(name);
        else this.slices.set(name, (obj.endpoints ?? []).filter((e) => e.conditions?.ready === true).map((e) => e.targetRef?.name ?? '?'));
        this.record();
      }, () => {
        setTimeout(() => void this.connect(kc, ns, service).catch(() => undefined), 50);
      });
  }

  private record(): void {
    const ready = [...new Set([...this.slices.values()].flat())].sort();
    if (this.changes.at(-1)?.ready.join() === ready.join()) return;
    const c = { ready, t: performance.now() };
    this.changes.push(c);
    this.waiters = this.waiters.filter((w) => {
      if (!w.pred(c)) return true;
      w.resolve(c);
      return false;
    });
  }

  get ready(): string[] {
    return this.changes.at(-1)?.ready ?? [];
  }

  /** Now if the ready set already satisfies `pred`, else the next change that does. */
  until(pred: (c: ReadyChange) => boolean, timeoutMs = this.timeoutMs): Promise<ReadyChange> {
    const last = this.changes.at(-1);
    if (last && pred(last)) return Promise.resolve(last);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`timed out waiting for the ready endpoints to change (now: ${this.ready.join() || 'none'})`)), timeoutMs);
      this.waiters.push({ pred, resolve: (c) => {
        clearTimeout(t);
        resolve(c);
      } });
    });
  }

  /** Total time with no ready endpoint between `from` and `to` (performance.now() times). */
  zeroMs(from: number, to: number): number {
    let total = 0;
    for (let i = 0; i < this.changes.length; i++) {
      const c = this.changes[i] as ReadyChange;
      if (c.ready.length > 0) continue;
      const end = this.changes[i + 1]?.t ?? to;
      total += Math.max(0, Math.min(end, to) - Math.max(c.t, from));
    }
    return total;
  }

  stop(): void {
    this.stopped = true;
    this.ctrl?.abort();
  }
}
