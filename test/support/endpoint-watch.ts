// An independent watch on one Service's EndpointSlices (what kube-proxy and every client-side
// load balancer follow): its ready endpoints over time, and the windows with none. Used by the
// tests (wall clock) and by `pnpm bench` (performance.now()).
import { DiscoveryV1Api, Watch, type KubeConfig } from '@kubernetes/client-node';

interface RawSlice {
  metadata?: { name?: string };
  endpoints?: { conditions?: { ready?: boolean }; targetRef?: { name?: string } }[] | null;
}

export interface ReadyPoint {
  at: number;
  /** Pods behind the ready endpoints, sorted. */
  ready: string[];
}

export class EndpointWatch {
  /** One point per change of the ready set, the first from the initial list. */
  readonly timeline: ReadyPoint[] = [];
  /** How long until() waits. */
  timeoutMs = 30_000;
  private readonly slices = new Map<string, string[]>();
  private waiters: { pred: (p: ReadyPoint) => boolean; resolve: (p: ReadyPoint) => void }[] = [];
  private ctrl: AbortController | undefined;
  private stopped = false;
  private readonly now: () => number;

  private constructor(now: () => number) {
    this.now = now;
  }

  static async start(
    kc: KubeConfig,
    ns: string,
    service: string,
    now: () => number = Date.now,
  ): Promise<EndpointWatch> {
    const w = new EndpointWatch(now);
    await w.connect(kc, ns, service);
    return w;
  }

  /**
   * List, then watch from the list's resourceVersion. client-node ends a watch that has been
   * quiet for 30 s (a node loss takes longer): each end lists and watches again.
   */
  private async connect(kc: KubeConfig, ns: string, service: string): Promise<void> {
    if (this.stopped) return;
    const path = `/apis/discovery.k8s.io/v1/namespaces/${ns}/endpointslices`;
    const labelSelector = `kubernetes.io/service-name=${service}`;
    const list = await kc.makeApiClient(DiscoveryV1Api).listNamespacedEndpointSlice({ namespace: ns, labelSelector });
    this.slices.clear();
    for (const s of list.items) this.slices.set(s.metadata?.name ?? '', readyOf(s as RawSlice));
    this.record();
    this.ctrl = await new Watch(kc).watch(
      path,
      { labelSelector, resourceVersion: list.metadata?.resourceVersion, allowWatchBookmarks: true },
      (type, obj: RawSlice) => {
        if (type === 'BOOKMARK') return;
        const name = obj.metadata?.name ?? '';
        if (type === 'DELETED') this.slices.delete(name);
        else this.slices.set(name, readyOf(obj));
        this.record();
      },
      () => {
        setTimeout(() => void this.connect(kc, ns, service).catch(() => undefined), 50);
      },
    );
  }

  private record(): void {
    const ready = [...new Set([...this.slices.values()].flat())].sort();
    const last = this.timeline.at(-1);
    if (last && last.ready.join() === ready.join()) return;
    const point = { at: this.now(), ready };
    this.timeline.push(point);
    this.waiters = this.waiters.filter((w) => {
      if (!w.pred(point)) return true;
      w.resolve(point);
      return false;
    });
  }

  get readyNow(): string[] {
    return this.timeline.at(-1)?.ready ?? [];
  }

  /** Now if the ready set already satisfies `pred`, else the next change that does. */
  until(pred: (p: ReadyPoint) => boolean, timeoutMs = this.timeoutMs): Promise<ReadyPoint> {
    const last = this.timeline.at(-1);
    if (last && pred(last)) return Promise.resolve(last);
    return new Promise((resolve, reject) => {
      const t = setTimeout(
        () =>
          reject(
            new Error(`timed out waiting for the ready endpoints to change (now: ${this.readyNow.join() || 'none'})`),
          ),
        timeoutMs,
      );
      this.waiters.push({
        pred,
        resolve: (p) => {
          clearTimeout(t);
          resolve(p);
        },
      });
    });
  }

  /** Windows [from, to) during which the Service had no ready endpoint, after `since`. */
  zeroWindows(since = 0, until = this.now()): { from: number; to: number }[] {
    const out: { from: number; to: number }[] = [];
    let from: number | undefined;
    for (const p of this.timeline) {
      if (p.ready.length === 0 && from === undefined) from = p.at;
      if (p.ready.length > 0 && from !== undefined) {
        if (p.at > since) out.push({ from: Math.max(from, since), to: Math.min(p.at, until) });
        from = undefined;
      }
    }
    if (from !== undefined) out.push({ from: Math.max(from, since), to: until });
    return out.filter((w) => w.to > w.from);
  }

  /** Total time without a ready endpoint between `since` and `until`. */
  zeroMs(since: number, until: number): number {
    return this.zeroWindows(since, until).reduce((sum, w) => sum + (w.to - w.from), 0);
  }

  /** The first time after `since` when `pred` held of the ready set. */
  firstAt(pred: (ready: string[]) => boolean, since = 0): number | undefined {
    return this.timeline.find((p) => p.at >= since && pred(p.ready))?.at;
  }

  stop(): void {
    this.stopped = true;
    this.ctrl?.abort();
  }
}

function readyOf(s: RawSlice): string[] {
  return (s.endpoints ?? []).filter((e) => e.conditions?.ready === true).map((e) => e.targetRef?.name ?? '?');
}
