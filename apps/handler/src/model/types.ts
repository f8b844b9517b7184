// The handler's view of the cluster: only what decisions need, parsed and validated once.
export type Labels = Readonly<Record<string, string>>;

export interface ServicePort {
  name?: string;
  port: number;
  targetPort?: number | string;
  protocol: string;
}

export interface ServiceInfo {
  key: string;
  namespace: string;
  name: string;
  uid: string;
  resourceVersion: string;
  labels: Labels;
  selector: Labels;
  type: string;
  ports: ServicePort[];
  /** spec.publishNotReadyAddresses: every started pod is a ready endpoint, Ready or not. */
  publishNotReady: boolean;
  /** The last list (its id) whose ADDED named this object; see Store.applySync. */
  listedIn?: string | undefined;
}

/** A CriticalService named in a default pod's metadata.ownerReferences. */
export interface OwnerRef {
  name: string;
  uid: string;
  controller: boolean;
}

export interface PodInfo {
  key: string;
  namespace: string;
  name: string;
  uid: string;
  resourceVersion: string;
  labels: Labels;
  /** Carries critsvc's ownership marks (annotation and managed-by label). */
  owned: boolean;
  /** Carries the annotation only: a default pod left by the article's version. Never real, never deleted. */
  legacy: boolean;
  /** For an owned pod: the Service it stands in for. */
  forService?: string;
  /** An owned pod kept warm outside the Service's selector (hot standby), not a default pod yet. */
  standby: boolean;
  /** For an owned pod: the CriticalServices among its ownerReferences; other owners are kept as they are. */
  owners?: OwnerRef[];
  terminating: boolean;
  phase: string;
  ready: boolean;
  /** Has a pod IP: the kubelet started its sandbox (what an endpoint needs at all). */
  hasIP: boolean;
  /** The last list (its id) whose ADDED named this object; see Store.applySync. */
  listedIn?: string | undefined;
}

export interface LabelPair {
  key: string;
  value: string;
}

/** A PodTemplate, by namespace and name. */
export interface TemplateRef {
  namespace: string;
  name: string;
}

export interface CritInfo {
  name: string;
  uid: string;
  resourceVersion: string;
  generation: number;
  /** undefined: any watched namespace. */
  namespace?: string;
  matchLabels: LabelPair[];
  /** spec.defaultPod.templateRef: the PodTemplate its default pods are made from; undefined: the global one. */
  templateRef?: TemplateRef;
  /** spec.defaultPod.message: handed to the default pod (the maintenance page shows it). */
  message?: string;
  /** spec.defaultPod.hotStandby: a warm pod waits outside the Service's selector and is relabelled into it on lameness. */
  hotStandby?: boolean;
  /** Non-empty when the stored object makes no sense; such a CriticalService covers nothing. */
  problems: string[];
  /** The last list (its id) whose ADDED named this object; see Store.applySync. */
  listedIn?: string | undefined;
}

/** A Service's own actions sent and not yet seen back on the watch. */
export interface InFlight {
  creating: boolean;
  /** uids of pods being deleted. */
  deleting: ReadonlySet<string>;
  /** A warm pod (hot standby) asked for. */
  creatingStandby: boolean;
  /** uids of warm pods relabelled into their Service: its default pod already. */
  promoting: ReadonlySet<string>;
}
