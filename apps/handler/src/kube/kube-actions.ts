// The handler's only door to the API server: narrow, so the controller can be read (and
// tested) without knowing client-node. What it says; kube-client.ts builds it (reads, writes,
// the PodTemplate watches).
import type { Kind, KubeObject, RawPage } from '@critsvc/shared';
import type { OwnerRef } from '../model/types.ts';
import type { WatchTemplate } from './template-watch.ts';

/** created: with the new pod's uid (what undoing it needs); exists: the name was taken already. */
export type CreateResult = { result: 'created'; uid: string } | { result: 'exists' };
/** refused: the live pod lacks critsvc's ownership marks (or is another Service's): never touched. */
export type OwnersResult = 'patched' | 'gone' | 'replaced' | 'refused';
export type DeleteResult = 'deleted' | 'gone' | 'replaced' | 'refused';
/** changed: the live pod is ours but no longer a warm pod (promoted already, or relabelled). */
export type PromoteResult = 'promoted' | 'gone' | 'replaced' | 'refused' | 'changed';

/** Which pod an action means: the queue said so, the live object must agree. */
export interface PodRef {
  namespace: string;
  name: string;
  uid: string;
  /** The Service the default pod stands in for. */
  service: string;
}

export interface ServiceRef {
  namespace: string;
  name: string;
  uid: string;
  /** What the Event is about: a Service unless said otherwise. */
  kind?: 'Service' | 'PodTemplate';
}

export interface KubeActions {
  createPod(pod: Record<string, unknown>): Promise<CreateResult>;
  /**
   * Deletes a default pod, after reading it live: only if it carries both ownership marks, stands
   * in for that Service and has that uid; with uid and resourceVersion preconditions, so that
   * nothing changed in between (a queue payload is a hint, never proof). force: grace period 0.
   */
  deletePod(pod: PodRef, force?: boolean): Promise<DeleteResult>;
  /**
   * Sets the CriticalService ownerReferences of a default pod (other owners untouched: `owners`
   * merged in by uid, `stale` removed), after the same live checks as deletePod.
   */
  patchPodOwners(pod: PodRef, owners: OwnerRef[], stale: OwnerRef[]): Promise<OwnersResult>;
  /**
   * Hot standby: relabels a warm pod into its Service (adds the selector's labels, removes the
   * standby label) in one JSON patch whose `test` operations check the live object: that uid,
   * both ownership marks, that Service, still a warm pod. Nothing else is touched.
   */
  promotePod(pod: PodRef, selector: Readonly<Record<string, string>>): Promise<PromoteResult>;
  readPod(namespace: string, name: string): Promise<KubeObject | undefined>;
  /**
   * Plain JSON reads for the live check before a create: the Service, its pods, the
   * CriticalServices. notOlderThan: the resourceVersion the state reflects; the answer is then at
   * least that new, from the API server's watch cache (see freshRead). Without it, a quorum read.
   */
  readService(namespace: string, name: string, notOlderThan?: string): Promise<KubeObject | undefined>;
  /** resourceVersion: the version the list was answered at. */
  listPods(
    namespace: string,
    labelSelector: string,
    notOlderThan?: string,
  ): Promise<{ items: KubeObject[]; resourceVersion: string }>;
  readCriticalService(name: string, notOlderThan?: string): Promise<KubeObject | undefined>;
  /** The Service's EndpointSlices (label kubernetes.io/service-name), every page: what its clients are sent to. */
  listEndpointSlices(namespace: string, service: string): Promise<KubeObject[]>;
  /** Every CriticalService, every page, as a consistent read. */
  listCriticalServices(): Promise<{ items: KubeObject[]; resourceVersion: string }>;
  /** The API server's newest resourceVersion, from a consistent one-object list of `path`. */
  currentRevision(path: string): Promise<string>;
  /**
   * Lists then watches one PodTemplate (fieldSelector metadata.name, so that RBAC resourceNames
   * can allow just it), resuming, re-listing on 410 and reconnecting as the watchers do.
   */
  watchTemplate: WatchTemplate;
  recordEvent(svc: ServiceRef, type: 'Normal' | 'Warning', reason: string, message: string): Promise<void>;
  patchCritStatus(name: string, status: Record<string, unknown>): Promise<'patched' | 'gone'>;
  /** Every page of a list (pods in protobuf, already stripped: see listerFor), for the start-up state. */
  listPages(kind: Kind, path: string): AsyncIterable<RawPage>;
}
