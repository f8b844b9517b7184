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
  const summary = { considered, covering, lame, wanted };

  if (!wanted || !svc) {
    const reason = unwantedReason(svc, covering);
    return { ...summary, actions: ours.filter((p) => !p.terminating).map((pod) => ({ type: 'delete', pod, service: ns + '/' + name, reason })) };
  }
  return { ...summary, ...planDefaultPod(svc, pods, ours, covering, input) };
}

function unwantedReason(svc: ServiceInfo | undefined, covering: CritInfo[]): DeleteReason {
  if (!svc) return 'service-gone';
  return covering.length === 0 ? 'not-critical' : 'service-healthy';
}

/** A default pod is wanted: keep the one that fits, delete the others, create it if missing. */
function planDefaultPod(svc: ServiceInfo, pods: PodInfo[], ours: PodInfo[], covering: CritInfo[], input: DecideInput): Pick<Decision, 'actions' | 'nameTakenBy' | 'defaultPod'> {
  const podName = defaultPodName(input.podNamePrefix, svc.name);
  const { actions, keep } = sortOurPods(svc, ours, podName);
  const holder = pods.find((p) => p.name === podName);
  const nameTakenBy = holder && !holder.owned ? holder : undefined;
  if (!keep && !holder && !input.inFlight.creating) {
    actions.push({ type: 'create', service: svc, podName, owners: covering });
  }
  return { actions, ...(nameTakenBy ? { nameTakenBy } : {}), ...(keep ? { defaultPod: keep } : {}) };
}

/** Terminating pods are left alone: they are already going. */
function sortOurPods(svc: ServiceInfo, ours: PodInfo[], podName: string): { actions: Action[]; keep: PodInfo | undefined } {
  const actions: Action[] = [];
  let keep: PodInfo | undefined;
  for (const pod of ours) {
    if (pod.terminating) continue;
    const reason = misfit(svc, pod, podName);
    if (reason) actions.push({ type: 'delete', pod, service: svc.key, reason });
    else keep = pod;
  }
  return { actions, keep };
}

function misfit(svc: ServiceInfo, pod: PodInfo, podName: string): DeleteReason | undefined {
  if (pod.name !== podName) return 'duplicate';
  // The Service no longer selects it: replace it once it is gone (the name is reused).
  if (!selectorMatches(svc.selector, pod.labels)) return 'selector-changed';
  return undefined;
}
