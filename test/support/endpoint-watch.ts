// An independent watch on one Service's EndpointSlices (what kube-proxy and every client-side
// load balancer follow): the number of ready endpoints over time, and the windows with none.
import { DiscoveryV1Api, Watch } from '@kubernetes/client-node';
import type { Kube } from './kube.ts';

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
  private readonly slices = new Map<string, string[]>();
  private ctrl: AbortController | undefined;
  private stopped = false;

  static async start(k: Kube, ns: string, service: string): Promise<EndpointWatch> {
    const w = new EndpointWatch();
    await w.connect(k, ns, service);
    return w;
  }

  /**
   * List, then watch from the list's resourceVersion. client-node ends a watch that has been
   * quiet for 30 s (a node loss takes longer): each end lists and watches again.
   */
  private async connect(k: Kube, ns: string, service: string): Promise<void> {
    if (this.stopped) return;
    const path = `/apis/discovery.k8s.io/v1/namespaces/${ns}/endpointslices`;
    const labelSelector = `kubernetes.io/service-name=${service}`;
    const list = await k.kc.makeApiClient(DiscoveryV1Api).listNamespacedEndpointSlice({ namespace: ns, labelSelector });
    this.slices.clear();
    for (const s of list.items) this.slices.set(s.metadata?.name ?? '', readyOf(s as RawSlice));
    this.record();
    this.ctrl = await new Watch(k.kc).watch(path, { labelSelector, resourceVersion: list.metadata?.resourceVersion, allowWatchBookmarks: true }, (type, obj: RawSlice) => {
      if (type === 'BOOKMARK') return;
      const name = obj.metadata?.name ?? '';
      if (type === 'DELETED') this.slices.delete(name);
      else this.slices.set(name, readyOf(obj));
      this.record();
    }, () => {
      setTimeout(() => void this.connect(k, ns, service).catch(() => undefined), 50);
    });
  }

  private record(): void {
    const ready = [...new Set([...this.slices.values()].flat())].sort();
    const last = this.timeline.at(-1);
    if (last && last.ready.join() === ready.join()) return;
    this.timeline.push({ at: Date.now(), ready });
  }

  get readyNow(): string[] {
    return this.timeline.at(-1)?.ready ?? [];
  }

  /** Windows [from, to) during which the Service had no ready endpoint, after `since`. */
  zeroWindows(since = 0, until = Date.now()): { from: number; to: number }[] {
    const out: { from: number; to: number }[] = [];
    let from: number | undefined;
    for (const p of this.timeline) {
      if (p.ready.length === 0 && from === undefined) from = p.at;
      if (p.ready.length > 0 && from !== undefined) {
        if (p.at > since) out.push({ from: Math.max(from, since), to: p.at });
        from = undefined;
      }
    }
    if (from !== undefined) out.push({ from: Math.max(from, since), to: until });
    return out.filter((w) => w.to > since);
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
