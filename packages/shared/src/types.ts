// What travels through the queue: raw watch events (trimmed of what nobody reads) and the
// SYNCED marker a watcher sends after each (re)list.
export type Kind = 'Service' | 'Pod' | 'CriticalService';
export const KINDS: readonly Kind[] = ['Service', 'Pod', 'CriticalService'];
export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

export interface ObjectMeta {
  name?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  deletionTimestamp?: string;
  creationTimestamp?: string;
  ownerReferences?: OwnerReference[];
}

export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata?: ObjectMeta;
  spec?: unknown;
  status?: unknown;
}

export interface WatchJob {
  kind: Kind;
  type: WatchEventType;
  object: KubeObject;
  /** ms since epoch when the watcher received it: the start of the event-to-action latency. */
  seenAt: number;
  /** An ADDED from a list: that list's id (see SyncJob.list). */
  list?: string;
}

export interface SyncJob {
  kind: Kind;
  type: 'SYNCED';
  /** The namespace listed, or '' for all namespaces / cluster scope. */
  scope: string;
  resourceVersion: string;
  /**
   * The list's id: each object it returned came before this marker as an ADDED carrying the same
   * id, and the others were deleted meanwhile. A marker naming every key instead (`keys`, as sent
   * until 2026-12: about 4 MB for 150,000 pods, built in the watcher, stored in Redis and parsed by the
   * handler) is still understood.
   */
  list?: string;
  /** How many objects the list returned. */
  count?: number;
  /** namespace/name of every object the list returned (markers of older watchers, and in-process lists). */
  keys?: string[];
  seenAt: number;
}

export type QueueJob = WatchJob | SyncJob;

export function objectKey(meta: ObjectMeta | undefined): string {
  return meta?.namespace ? `${meta.namespace}/${meta.name ?? ''}` : (meta?.name ?? '');
}
