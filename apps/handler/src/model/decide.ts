// One Service's decision, from the current state only (level-based): duplicates, retries and
// reordered events all lead to the same answer. The only memory it is given is when the
// Service's current lame or healthy spell began, for the hold-offs.
import type { PodLookup } from './pod-lookup.ts';
import { critCovers, defaultPodName, desiredOwners, hasRealPod, isConsidered, selectorConflict, selectorMatches, SERVICE_LABEL } from './rules.ts';
import type { Blocked } from './status.ts';
import type { CritInfo, OwnerRef, PodInfo, ServiceInfo } from './types.ts';

export type DeleteReason = 'service-healthy' | 'not-critical' | 'service-gone' | 'duplicate' | 'selector-changed' | 'name-reuse';

export type Action =
  | { type: 'create'; service: ServiceInfo; podName: string; owners: CritInfo[] }
  /** force: grace period 0 (only for our own default pod already terminating, whose name is needed now). */
  | { type: 'delete'; pod: PodInfo; service: string; reason: DeleteReason; force?: boolean }
  /** The covering CriticalServices changed: the default pod's ownerReferences follow (the garbage collector reads them). */
  | { type: 'owners'; pod: PodInfo; service: string; owners: OwnerRef[]; stale: OwnerRef[] };

/** A considered Service is lame or healthy since `since` (ms), as far as the handler has seen. */
export interface Spell {
  lame: boolean;
  since: number;
}

export interface HoldOffs {
  /** A Service lame for less than this gets no default pod yet. */
  lameGraceMs: number;
  /** A default pod stays until real pods have served the Service for this long. */
  healthyGraceMs: number;
}

export interface DecideInput {
  serviceKey: string;
  service: ServiceInfo | undefined;
  crits: Iterable<CritInfo>;
  /** The Service's namespace's pods, by lookup (the Store's label index). */
  pods: PodLookup;
  watched: readonly string[];
  readyOnly: boolean;
  podNamePrefix: string;
  /** Our own actions not yet seen back on the watch. */
  inFlight: { creating: boolean; deleting: ReadonlySet<string> };
  now: number;
  /** The spell the previous decision returned for this Service. */
  spell?: Spell;
  holdOffs: HoldOffs;
  /**
   * Asked only when a create is due: why one more default pod is not allowed (the blast-radius
   * limits, see blast-radius.ts), or undefined. A function, so that counting is done only then.
   */
  createBlocked?: () => Blocked | undefined;
}

export interface Decision {
  considered: boolean;
  covering: CritInfo[];
  lame: boolean;
  /** A default pod should exist now (lame, or healthy for less than the healthy hold-off). */
  wanted: boolean;
  actions: Action[];
  /** The spell to hand to the next decision (considered Services only). */
  spell?: Spell;
  /** Decide again after this long: a hold-off ends then. */
  requeueAfterMs?: number;
  /** A pod without our marks holds the default pod's name: report it, touch nothing. */
  nameTakenBy?: PodInfo;
  /** The Service's selector contradicts critsvc's marks: no default pod can serve it (report, never loop). */
  selectorConflict?: { label: string; wanted: string; ours: string };
  /** Default pods left by the article's version that the Service selects: never real, never deleted. */
  legacy: PodInfo[];
  /** Our default pod for this Service, if one exists and stays. */
  defaultPod?: PodInfo;
  /** Keys of our default pods for this Service as the state holds them now (not terminating): for status. */
  defaultPods: string[];
  /** A create was due but the blast-radius limits forbid it: report, and decide again once a default pod goes. */
  limitedBy?: Blocked;
}

/** What the state says of the Service, before any hold-off. */
interface Seen {
  svc: ServiceInfo | undefined;
  key: string;
  ours: PodInfo[];
  live: PodInfo[];
  considered: boolean;
  covering: CritInfo[];
  lame: boolean;
  spell: Spell | undefined;
  legacy: PodInfo[];
}

function observe(input: DecideInput): Seen {
  const svc = input.service;
  const name = input.serviceKey.slice(input.serviceKey.indexOf('/') + 1);
  // Our default pods carry the Service's name as a label (forService is read from it).
  const ours = [...input.pods.withLabel(SERVICE_LABEL, name)].filter((p) => p.owned && p.forService === name && !input.inFlight.deleting.has(p.uid));
  const considered = svc !== undefined && isConsidered(svc, input.watched);
  const covering = considered ? [...input.crits].filter((c) => critCovers(c, svc)) : [];
  const selected = considered ? [...input.pods.candidates(svc.selector)].filter((p) => selectorMatches(svc.selector, p.labels)) : [];
  const lame = considered && !hasRealPod(svc, selected, input.readyOnly);
  return {
    svc, key: input.serviceKey, ours, live: ours.filter((p) => !p.terminating), considered, covering, lame,
    spell: considered ? continueSpell(input.spell, lame, input.now) : undefined,
    legacy: selected.filter((p) => p.legacy),
  };
}

const deletions = (pods: PodInfo[], service: string, reason: DeleteReason): Action[] => pods.map((pod) => ({ type: 'delete', pod, service, reason }));

export function decide(input: DecideInput): Decision {
  const seen = observe(input);
  const { svc, spell, covering } = seen;
  const summary = { considered: seen.considered, covering, lame: seen.lame, legacy: seen.legacy, defaultPods: seen.live.map((p) => p.key), ...(spell ? { spell } : {}) };
  if (!svc || !spell || covering.length === 0) {
    return { ...summary, wanted: false, actions: deletions(seen.live, seen.key, svc ? 'not-critical' : 'service-gone') };
  }
  const held = input.now - spell.since;
  if (!seen.lame) {
    // Make before break: real pods serve the Service again; the default pod goes once they have for a while.
    const wait = input.holdOffs.healthyGraceMs - held;
    if (seen.live.length === 0 || wait <= 0) return { ...summary, wanted: false, actions: deletions(seen.live, svc.key, 'service-healthy') };
    return { ...summary, wanted: true, requeueAfterMs: wait, ...planDefaultPod(svc, seen, input, false) };
  }
  const wait = input.holdOffs.lameGraceMs - held;
  const plan = planDefaultPod(svc, seen, input, wait <= 0);
  return { ...summary, wanted: true, ...plan, ...(wait > 0 && !plan.defaultPod ? { requeueAfterMs: wait } : {}) };
}

function continueSpell(prev: Spell | undefined, lame: boolean, now: number): Spell {
  return prev && prev.lame === lame ? prev : { lame, since: now };
}

/** A default pod is wanted: keep the one that fits, delete the others, create it if missing (and allowed yet). */
function planDefaultPod(svc: ServiceInfo, seen: Seen, input: DecideInput, mayCreate: boolean): Pick<Decision, 'actions' | 'nameTakenBy' | 'defaultPod' | 'selectorConflict' | 'limitedBy'> {
  const podName = defaultPodName(input.podNamePrefix, svc.name);
  const { actions, keep } = sortOurPods(svc, seen.ours, podName);
  const holder = input.pods.named(podName);
  const nameTakenBy = holder && !holder.owned ? holder : undefined;
  const conflict = selectorConflict(svc);
  if (conflict) return { actions, selectorConflict: conflict, ...(nameTakenBy ? { nameTakenBy } : {}) };
  if (keep) {
    const owners = ownersAction(svc, keep, seen.covering);
    if (owners) actions.push(owners);
  }
  const limitedBy = keep || !mayCreate ? undefined : planCreate(actions, svc, holder, podName, seen, input);
  return { actions, ...(nameTakenBy ? { nameTakenBy } : {}), ...(keep ? { defaultPod: keep } : {}), ...(limitedBy ? { limitedBy } : {}) };
}

/** Adds the create (and what it needs) to `actions`, unless the blast-radius limits forbid it: then says why. */
function planCreate(actions: Action[], svc: ServiceInfo, holder: PodInfo | undefined, podName: string, seen: Seen, input: DecideInput): Blocked | undefined {
  if (input.inFlight.creating) return undefined;
  const creates = createActions(svc, holder, podName, seen.covering);
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
  const id = (list: readonly OwnerRef[]): string => list.map((o) => `${o.uid}:${o.controller ? 1 : 0}`).sort().join();
  return id(a) === id(b);
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
