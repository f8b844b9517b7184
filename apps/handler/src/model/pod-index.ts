// The state's pods, by namespace and by label: a pod event touches its own namespace only, and a
// decision looks pods up by its selector's labels instead of walking a namespace.
import { labelKey, type PodLookup } from './pod-lookup.ts';
import type { PodInfo } from './types.ts';

export class PodIndex {
  private readonly byNs = new Map<string, Map<string, PodInfo>>();
  /** namespace → label (`key=value`) → pod name → pod. */
  private readonly byLabel = new Map<string, Map<string, Map<string, PodInfo>>>();

  get(namespace: string, name: string): PodInfo | undefined {
    return this.byNs.get(namespace)?.get(name);
  }

  /** Adds the pod, or replaces the one of that name (and its labels in the index). */
  set(pod: PodInfo): void {
    let m = this.byNs.get(pod.namespace);
    if (!m) this.byNs.set(pod.namespace, (m = new Map()));
    const old = m.get(pod.name);
    if (old) this.indexLabels(old, false);
    m.set(pod.name, pod);
    this.indexLabels(pod, true);
  }

  delete(namespace: string, name: string): void {
    const m = this.byNs.get(namespace);
    const pod = m?.get(name);
    if (!m || !pod) return;
    this.indexLabels(pod, false);
    m.delete(name);
    if (m.size === 0) this.byNs.delete(namespace);
  }

  in(namespace: string): Iterable<PodInfo> {
    return this.byNs.get(namespace)?.values() ?? [];
  }

  all(): Iterable<PodInfo> {
    const maps = [...this.byNs.values()];
    return (function* () {
      for (const m of maps) yield* m.values();
    })();
  }

  get count(): number {
    let n = 0;
    for (const m of this.byNs.values()) n += m.size;
    return n;
  }

  /** A namespace's pods by lookup: for decisions. */
  lookup(namespace: string): PodLookup {
    return {
      candidates: (selector) => {
        // The smallest set among the selector's labels; none of a label's pods: none selected.
        let best: Map<string, PodInfo> | undefined;
        for (const [k, v] of Object.entries(selector)) {
          const m = this.byLabel.get(namespace)?.get(labelKey(k, v));
          if (!m) return [];
          if (!best || m.size < best.size) best = m;
        }
        return best ? best.values() : this.in(namespace);
      },
      withLabel: (key, value) => this.byLabel.get(namespace)?.get(labelKey(key, value))?.values() ?? [],
      named: (name) => this.get(namespace, name),
    };
  }

  private indexLabels(pod: PodInfo, add: boolean): void {
    let byLabel = this.byLabel.get(pod.namespace);
    if (!byLabel) {
      if (!add) return;
      this.byLabel.set(pod.namespace, (byLabel = new Map()));
    }
    for (const [k, v] of Object.entries(pod.labels)) {
      const lk = labelKey(k, v);
      let m = byLabel.get(lk);
      if (add) {
        if (!m) byLabel.set(lk, (m = new Map()));
        m.set(pod.name, pod);
      } else if (m?.get(pod.name) === pod) {
        m.delete(pod.name);
        if (m.size === 0) byLabel.delete(lk);
      }
    }
    if (byLabel.size === 0) this.byLabel.delete(pod.namespace);
  }
}
