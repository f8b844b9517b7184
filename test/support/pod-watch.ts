// An independent watch on a namespace's pods: what a user would see, with timestamps.
import { Watch } from '@kubernetes/client-node';
import type { Kube } from './kube.ts';

export interface SeenPod {
  type: string;
  name: string;
  uid: string;
  owned: boolean;
  service?: string;
  at: number;
  resourceVersion: string;
  labels: Record<string, string>;
  phase: string;
  ready: boolean;
  terminating: boolean;
}

interface RawPod {
  metadata?: {
    name?: string;
    uid?: string;
    resourceVersion?: string;
    annotations?: Record<string, string>;
    labels?: Record<string, string>;
    deletionTimestamp?: string;
  };
  status?: { phase?: string; conditions?: { type: string; status: string }[] };
}

export class PodWatch {
  readonly seen: SeenPod[] = [];
  private ctrl: AbortController | undefined;

  static async start(k: Kube, ns: string): Promise<PodWatch> {
    const w = new PodWatch();
    const list = await k.core.listNamespacedPod({ namespace: ns });
    w.ctrl = await new Watch(k.kc).watch(
      `/api/v1/namespaces/${ns}/pods`,
      { resourceVersion: list.metadata?.resourceVersion },
      (type, obj: RawPod) => {
        const m = obj.metadata ?? {};
        w.seen.push({
          type,
          name: m.name ?? '',
          uid: m.uid ?? '',
          resourceVersion: m.resourceVersion ?? '',
          at: Date.now(),
          labels: m.labels ?? {},
          phase: obj.status?.phase ?? '',
          terminating: Boolean(m.deletionTimestamp),
          ready: obj.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false,
          owned: m.annotations?.['service-watcher'] === 'owned',
          ...(m.labels?.['critsvc.mycrd.com/service'] ? { service: m.labels['critsvc.mycrd.com/service'] } : {}),
        });
      },
      () => undefined,
    );
    return w;
  }

  defaultPodsAdded(): SeenPod[] {
    return this.seen.filter((e) => e.type === 'ADDED' && e.owned);
  }

  stop(): void {
    this.ctrl?.abort();
  }
}
