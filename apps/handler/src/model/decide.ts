// One Service's decision, from the current state only (level-based): duplicates, retries and
// reordered events all lead to the same answer.
import { critCovers, defaultPodName, hasRealPod, isConsidered, selectorMatches } from './rules.ts';
import type { CritInfo, PodInfo, ServiceInfo } from './types.ts';

export type DeleteReason = 'service-healthy' | 'not-critical' | 'service-gone' | 'duplicate' | 'selector-changed';

export type Action =
  | { type: 'create'; service: ServiceInfo; podName: string; owners: CritInfo[] }
  | { type: 'delete'; pod: PodInfo; service: string; reason: DeleteReason };

export interface DecideInput {
  serviceKey: string;
  service: ServiceInfo | undefined;
  crits: Iterable<CritInfo>;
  podsInNamespace: Iterable<PodInfo>;
  watched: readonly string[];
  readyOnly: boolean;
  podNamePrefix: string;
  /** Our own actions not yet seen back on the watch. */
  inFlight: { creating: boolean; deleting: ReadonlySet<string> };
}

export interface Decision {
  considered: boolean;
  covering: CritInfo[];
  lame: boolean;
  /** A default pod should exist. */
  wanted: boolean;
  actions: Action[];
  /** A pod without our marks holds the default pod's name: report it, touch nothing. */
  nameTakenBy?: PodInfo;
  /** Our default pod for this Service, if one exists and stays. */
  defaultPod?: PodInfo;
}

export function decide(input: DecideInput): Decision {
  const svc = input.service;
  const [ns = '', name = ''] = input.serviceKey.split('/');
  const pods = [...input.podsInNamespace];
  const ours = pods.filter((p) => p.owned && p.forService === name && !input.inFlight.deleting.has(p.uid));
  const considered = svc !== undefined && isConsidered(svc, input.watched);
  const covering = considered ? [...input.crits].filter((c) => critCovers(c, svc)) : [];
  const lame = considered && !hasRealPod(svc, pods, input.readyOnly);
  const wanted = covering.length > 0 && lame;

  if (!wanted || !svc) {
    const reason: DeleteReason = !svc ? 'service-gone' : covering.length === 0 ? 'not-critical' : 'service-healthy';
    return { considered, covering, lame, wanted, actions: ours.filter((p) => !p.terminating).map((pod) => ({ type: 'delete', pod, service: ns + '/' + name, reason })) };
  }

  const podName = defaultPodName(input.podNamePrefix, svc.name);
  const actions: Action[] = [];
  let keep: PodInfo | undefined;
  for (const pod of ours) {
    if (pod.name !== podName) {
      if (!pod.terminating) actions.push({ type: 'delete', pod, service: svc.key, reason: 'duplicate' });
    } else if (!selectorMatches(svc.selector, pod.labels)) {
      // The Service no longer selects it: replace it once it is gone (the name is reused).
      if (!pod.terminating) actions.push({ type: 'delete', pod, service: svc.key, reason: 'selector-changed' });
    } else if (!pod.terminating) keep = pod;
  }
  const holder = pods.find((p) => p.name === podName);
  const nameTakenBy = holder && !holder.owned ? holder : undefined;
  if (!keep && !holder && !input.inFlight.creating) {
    actions.push({ type: 'create', service: svc, podName, owners: covering });
  }
  return { considered, covering, lame, wanted, actions, ...(nameTakenBy ? { nameTakenBy } : {}), ...(keep ? { defaultPod: keep } : {}) };
}
