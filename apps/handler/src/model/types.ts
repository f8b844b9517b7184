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
  /** For an owned pod: the Service it stands in for. */
  forService?: string;
  terminating: boolean;
  phase: string;
  ready: boolean;
}

export interface LabelPair {
  key: string;
  value: string;
}

export interface CritInfo {
  name: string;
  uid: string;
  resourceVersion: string;
  generation: number;
  /** undefined: any watched namespace. */
  namespace?: string;
  matchLabels: LabelPair[];
  /** Non-empty when the stored object makes no sense; such a CriticalService covers nothing. */
  problems: string[];
}
