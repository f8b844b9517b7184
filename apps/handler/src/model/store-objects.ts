// The Store's objects by kind: Services (also by namespace), pods (PodIndex) and CriticalServices,
// parsed from queue objects, and the Services a change to a pod or a CriticalService may affect.
import type { Kind, KubeObject } from '@critsvc/shared/model';
import { parseCriticalService, parsePod, parseService, type Parsed } from './parse.ts';
import { PodIndex } from './pod-index.ts';
import { critCovers, selectorMatches } from './rules.ts';
import type { CritInfo, PodInfo, ServiceInfo } from './types.ts';

export type Info = ServiceInfo | PodInfo | CritInfo;

export function parse(kind: Kind, obj: KubeObject): Parsed<Info> {
  if (kind === 'Service') return parseService(obj);
  if (kind === 'Pod') return parsePod(obj);
  return parseCriticalService(obj);
}

export function infoKey(kind: Kind, info: Info): string {
  return kind === 'CriticalService' ? info.name : (info as ServiceInfo | PodInfo).key;
}

export class StoreObjects {
  readonly services = new Map<string, ServiceInfo>();
  readonly crits = new Map<string, CritInfo>();
  /** Every pod, by namespace and by label (Store reads it directly). */
  readonly pods = new PodIndex();
  /** The Services of each namespace: a pod event looks at its namespace's Services only. */
  private readonly servicesByNs = new Map<string, Map<string, ServiceInfo>>();

  get(kind: Kind, key: string): Info | undefined {
    if (kind === 'Service') return this.services.get(key);
    if (kind === 'CriticalService') return this.crits.get(key);
    const [ns = '', name = ''] = key.split('/');
    return this.pods.get(ns, name);
  }

  put(kind: Kind, info: Info): void {
    if (kind === 'Service') {
      const svc = info as ServiceInfo;
      this.services.set(svc.key, svc);
      let m = this.servicesByNs.get(svc.namespace);
      if (!m) this.servicesByNs.set(svc.namespace, (m = new Map()));
      m.set(svc.key, svc);
    } else if (kind === 'CriticalService') this.crits.set(info.name, info as CritInfo);
    else this.pods.set(info as PodInfo);
  }

  remove(kind: Kind, key: string): void {
    if (kind === 'CriticalService') {
      this.crits.delete(key);
      return;
    }
    const [ns = '', name = ''] = key.split('/');
    if (kind === 'Pod') {
      this.pods.delete(ns, name);
      return;
    }
    this.services.delete(key);
    const m = this.servicesByNs.get(ns);
    m?.delete(key);
    if (m?.size === 0) this.servicesByNs.delete(ns);
  }

  *inScope(kind: Kind, scope: string): Iterable<Info> {
    if (kind === 'CriticalService') yield* this.crits.values();
    else if (kind === 'Service') yield* scope === '' ? this.services.values() : this.servicesIn(scope);
    else if (scope === '') yield* this.pods.all();
    else yield* this.pods.in(scope);
  }

  /** The Service a default pod is for, and every Service selecting the pod, before and after. */
  affectedByPods(pods: (PodInfo | undefined)[]): Set<string> {
    const keys = new Set<string>();
    for (const pod of pods) {
      if (!pod) continue;
      if (pod.forService !== undefined) keys.add(`${pod.namespace}/${pod.forService}`);
      for (const svc of this.servicesIn(pod.namespace))
        if (selectorMatches(svc.selector, pod.labels)) keys.add(svc.key);
    }
    return keys;
  }

  affectedByCrits(crits: (CritInfo | undefined)[]): Set<string> {
    const keys = new Set<string>();
    for (const crit of crits) {
      if (!crit) continue;
      for (const svc of this.services.values()) if (critCovers(crit, svc)) keys.add(svc.key);
    }
    return keys;
  }

  servicesIn(namespace: string): Iterable<ServiceInfo> {
    return this.servicesByNs.get(namespace)?.values() ?? [];
  }
}
