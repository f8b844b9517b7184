// The plans behind one Service's decision: which of its default and warm pods stay, go or get
// new owners, and whether one is created or a warm pod promoted.
import type { Action, DecideInput, Decision, Seen } from './decision.ts';
import {
  defaultPodName,
  desiredOwners,
  isDefaultPodName,
  MANAGED_BY_LABEL,
  selectorConflict,
  selectorMatches,
  SERVICE_LABEL,
  standbyGenerateName,
  wantsStandby,
} from './rules.ts';
import type { Blocked, DeleteReason } from './reasons.ts';
import type { CritInfo, OwnerRef, PodInfo, ServiceInfo } from './types.ts';
export const deletions = (pods: PodInfo[], service: string, reason: DeleteReason): Action[] =>
  pods.map((pod) => ({ type: 'delete', pod, service, reason }));
/** Ready pods first, then by name: which of several to keep or promote does not change between decisions. */
export const readyFirst = (a: PodInfo, b: PodInfo): number =>
  Number(b.ready) - Number(a.ready) || a.name.localeCompare(b.name);

/**
 * Hot standby: one warm pod per Service a covering CriticalService asks it for, kept outside its
 * selector; the others (and all of them once none asks) go. `promoted` is being promoted now.
 */
export function planStandby(
  svc: ServiceInfo,
  seen: Seen,
  input: DecideInput,
  mayCreate: boolean,
  promoted: PodInfo | undefined,
): Action[] {
  const warm = seen.warm.filter((p) => p.uid !== promoted?.uid);
  // A selector that only names critsvc's marks would select the warm pod: it could not wait outside.
  const outside = Object.keys(svc.selector).some((k) => k !== MANAGED_BY_LABEL && k !== SERVICE_LABEL);
  if (!wantsStandby(seen.covering) || !outside || selectorConflict(svc))
    return deletions(warm, svc.key, 'standby-unwanted');
  // The Service's selector changed to one the warm pod matches: it would serve unpromoted.
  const selected = warm.filter((p) => selectorMatches(svc.selector, p.labels));
  const [keep, ...extra] = warm.filter((p) => !selected.includes(p));
  const actions = [...deletions(selected, svc.key, 'selector-changed'), ...deletions(extra, svc.key, 'duplicate')];
  const owners = keep ? ownersAction(svc, keep, seen.covering) : undefined;
  if (owners) actions.push(owners);
  if (!keep && mayCreate && !input.inFlight.creatingStandby) {
    actions.push({
      type: 'standby',
      service: svc,
      generateName: standbyGenerateName(input.podNamePrefix, svc.name),
      owners: seen.covering,
    });
  }
  return actions;
}

/** A default pod is wanted: keep the one that fits, delete the others, create it if missing (and allowed yet). */
export function planDefaultPod(
  svc: ServiceInfo,
  seen: Seen,
  input: DecideInput,
  mayCreate: boolean,
): Pick<Decision, 'actions' | 'nameTakenBy' | 'defaultPod' | 'selectorConflict' | 'limitedBy'> {
  const podName = defaultPodName(input.podNamePrefix, svc.name);
  const { actions, keep } = sortOurPods(svc, seen.ours, input);
  const holder = input.pods.named(podName);
  const nameTakenBy = holder && !holder.owned ? holder : undefined;
  const conflict = selectorConflict(svc);
  if (conflict) return { actions, selectorConflict: conflict, ...(nameTakenBy ? { nameTakenBy } : {}) };
  if (keep) {
    const owners = ownersAction(svc, keep, seen.covering);
    if (owners) actions.push(owners);
  }
  const limitedBy = keep || !mayCreate ? undefined : planCreate(actions, svc, holder, podName, seen, input);
  return {
    actions,
    ...(nameTakenBy ? { nameTakenBy } : {}),
    ...(keep ? { defaultPod: keep } : {}),
    ...(limitedBy ? { limitedBy } : {}),
  };
}

/** Adds the create (and what it needs) to `actions`, unless the blast-radius limits forbid it: then says why. */
function planCreate(
  actions: Action[],
  svc: ServiceInfo,
  holder: PodInfo | undefined,
  podName: string,
  seen: Seen,
  input: DecideInput,
): Blocked | undefined {
  if (input.inFlight.creating) return undefined;
  // Hot standby: a warm pod, Ready or on its way, is ahead of any pod created now.
  const warm = seen.warm[0];
  const creates: Action[] = warm
    ? [{ type: 'promote', pod: warm, service: svc, owners: seen.covering }]
    : createActions(svc, holder, podName, seen.covering);
  const limitedBy = creates.length ? input.createBlocked?.() : undefined;
  if (!limitedBy) actions.push(...creates);
  return limitedBy;
}

/** Create the default pod, if its name is free or held by our own previous one on its way out. */
function createActions(svc: ServiceInfo, holder: PodInfo | undefined, podName: string, covering: CritInfo[]): Action[] {
  const create: Action = { type: 'create', service: svc, podName, owners: covering };
  if (!holder) return [create];
  // Our previous default pod, still in its grace period, holds the name: the Service cannot wait
  // for it (that is an outage as long as the grace period), so it goes at once.
  if (holder.owned && holder.terminating && holder.forService === svc.name) {
    return [{ type: 'delete', pod: holder, service: svc.key, reason: 'name-reuse', force: true }, create];
  }
  return [];
}

/** The kept default pod's CriticalService owners, when they are not the covering ones. */
function ownersAction(svc: ServiceInfo, pod: PodInfo, covering: CritInfo[]): Action | undefined {
  const current = pod.owners ?? [];
  const owners = desiredOwners(current, covering);
  if (sameOwners(owners, current)) return undefined;
  const wanted = new Set(owners.map((o) => o.uid));
  return { type: 'owners', pod, service: svc.key, owners, stale: current.filter((o) => !wanted.has(o.uid)) };
}

function sameOwners(a: readonly OwnerRef[], b: readonly OwnerRef[]): boolean {
  const id = (list: readonly OwnerRef[]): string =>
    list
      .map((o) => `${o.uid}:${o.controller ? 1 : 0}`)
      .sort()
      .join();
  return id(a) === id(b);
}

/** Terminating pods are left alone: they are already going. Of two that fit (a promoted warm pod and a created one), one stays. */
function sortOurPods(
  svc: ServiceInfo,
  ours: PodInfo[],
  input: DecideInput,
): { actions: Action[]; keep: PodInfo | undefined } {
  const actions: Action[] = [];
  const fitting: PodInfo[] = [];
  for (const pod of ours) {
    if (pod.terminating) continue;
    // A warm pod being promoted still has its standby labels in the state: it fits.
    const reason = input.inFlight.promoting.has(pod.uid) ? undefined : misfit(svc, pod, input.podNamePrefix);
    if (reason) actions.push({ type: 'delete', pod, service: svc.key, reason });
    else fitting.push(pod);
  }
  const [keep, ...extra] = fitting.sort(readyFirst);
  actions.push(...deletions(extra, svc.key, 'duplicate'));
  return { actions, keep };
}

function misfit(svc: ServiceInfo, pod: PodInfo, prefix: string): DeleteReason | undefined {
  if (!isDefaultPodName(pod.name, prefix, svc.name)) return 'duplicate';
  // The Service no longer selects it: replace it once it is gone (the name is reused).
  if (!selectorMatches(svc.selector, pod.labels)) return 'selector-changed';
  return undefined;
}
