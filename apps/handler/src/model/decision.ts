// What a decision is made of and what it says: the input (a Service, its pods, the CriticalServices,
// what is in flight, the hold-offs), the actions, and what is seen of the Service on the way.
import type { PodLookup } from './pod-lookup.ts';
import type { Blocked, DeleteReason } from './reasons.ts';
import type { CritInfo, InFlight, OwnerRef, PodInfo, ServiceInfo } from './types.ts';

export type Action =
  | { type: 'create'; service: ServiceInfo; podName: string; owners: CritInfo[] }
  /** force: grace period 0 (only for our own default pod already terminating, whose name is needed now). */
  | { type: 'delete'; pod: PodInfo; service: string; reason: DeleteReason; force?: boolean }
  /** The covering CriticalServices changed: the default pod's ownerReferences follow (the garbage collector reads them). */
  | { type: 'owners'; pod: PodInfo; service: string; owners: OwnerRef[]; stale: OwnerRef[] }
  /** Hot standby: the Service's warm pod is relabelled into its selector (one PATCH) instead of a create. */
  | { type: 'promote'; pod: PodInfo; service: ServiceInfo; owners: CritInfo[] }
  /** Hot standby: a warm pod started outside the Service's selector, named by the API server. */
  | { type: 'standby'; service: ServiceInfo; generateName: string; owners: CritInfo[] };

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
  inFlight: InFlight;
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
  /** Keys of its warm pods (hot standby), not terminating: for status. */
  standbyPods: string[];
  /** A create was due but the blast-radius limits forbid it: report, and decide again once a default pod goes. */
  limitedBy?: Blocked;
}

/** What the state says of the Service, before any hold-off. */
export interface Seen {
  svc: ServiceInfo | undefined;
  key: string;
  /** Our default pods for the Service (a warm pod being promoted is one already). */
  ours: PodInfo[];
  live: PodInfo[];
  /** Our warm pods for it, not terminating, the ready ones first. */
  warm: PodInfo[];
  considered: boolean;
  covering: CritInfo[];
  lame: boolean;
  spell: Spell | undefined;
  legacy: PodInfo[];
}
