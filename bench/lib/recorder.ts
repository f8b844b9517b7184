// An independent watch on one namespace's pods, timestamping every event on arrival: both ends
// of a latency are seen by this same watch.
import { performance } from 'node:perf_hooks';
import { Watch, type KubeConfig } from '@kubernetes/client-node';

export interface PodEvent {
  type: string;
  name: string;
  labels: Record<string, string>;
  owned: boolean;
  ready: boolean;
  t: number;
}

interface RawPod {
  metadata?: { name?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  status?: { conditions?: { type: string; status: string }[] };
}

export class Recorder {
  private readonly events: PodEvent[] = [];
  private waiters: { pred: (e: PodEvent) => boolean; resolve: (e: PodEvent) => void }[] = [];
  private ctrl: AbortController | undefined;
  /** How long next() waits. */
  timeoutMs = 30_000;

  static async start(kc: KubeConfig, ns: string, fromResourceVersion: string): Promise<Recorder> {
    const r = new Recorder();
    r.ctrl = await new Watch(kc).watch(
      `/api/v1/namespaces/${ns}/pods`,
      { resourceVersion: fromResourceVersion, allowWatchBookmarks: true },
      (type, obj: RawPod) => {
        if (type === 'BOOKMARK') return;
        const e: PodEvent = {
          type,
          t: performance.now(),
          name: obj.metadata?.name ?? '',
          labels: obj.metadata?.labels ?? {},
          owned: obj.metadata?.annotations?.['service-watcher'] === 'owned',
          ready: obj.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false,
        };
        r.events.push(e);
        r.waiters = r.waiters.filter((w) => {
          if (!w.pred(e)) return true;
          w.resolve(e);
          return false;
        });
      },
      () => undefined,
    );
    return r;
  }

  /** The next event (from now on) matching `pred`. */
  next(pred: (e: PodEvent) => boolean, what = 'a pod event', timeoutMs = this.timeoutMs): Promise<PodEvent> {
    const p = new Promise<PodEvent>((resolve, reject) => {
      const t = setTimeout(
        () =>
          reject(
            new Error(
              `timed out waiting for ${what}; last events: ${this.events
                .slice(-6)
                .map((e) => `${e.type} ${e.name}${e.ready ? ' ready' : ''}`)
                .join(', ')}`,
            ),
          ),
        timeoutMs,
      );
      this.waiters.push({
        pred,
        resolve: (e) => {
          clearTimeout(t);
          resolve(e);
        },
      });
    });
    // A trial that fails before awaiting it (an API call refused under load) must not crash the
    // bench with an unhandled rejection: whoever awaits it still gets the error.
    p.catch(() => undefined);
    return p;
  }

  stop(): void {
    this.ctrl?.abort();
  }
}
