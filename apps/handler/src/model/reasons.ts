// The names critsvc gives what it cannot do or did: the reasons in CriticalService status, in
// Events and in the log (grep '"reason":"DefaultPodRefused"'), and why it deletes a pod. Typed
// here, once, so a reason is never a free string and a reader finds them all in one place.

/** The blast-radius limits (MAX_DEFAULT_PODS, MAX_DEFAULT_PODS_PER_NAMESPACE) hold a default pod back. */
export const LIMIT_REASON = 'DefaultPodLimitReached';

/** Why a lame Service has no default pod, when critsvc cannot give it one (status: blockedServices). */
export type BlockReason =
  | typeof LIMIT_REASON
  /** The Service's selector asks for a value of an ownership label other than critsvc's. */
  | 'SelectorConflictsWithMarks'
  /** A pod without critsvc's marks holds the default pod's name. */
  | 'DefaultPodNameTaken'
  /** Admission refused the create (quota, Pod Security, a webhook, a terminating namespace). */
  | 'DefaultPodRefused';

export interface Blocked {
  reason: BlockReason;
  message: string;
}

/** Warning Events on a Service (and the log line that goes with each). */
export type WarningReason = BlockReason | 'PodTemplateUnusable' | 'PodTemplateReferences' | 'LegacyDefaultPod';

/** Normal Events on a Service: what critsvc did. */
export type NormalReason = 'DefaultPodCreated' | 'DefaultPodDeleted' | 'DefaultPodPromoted';

/** Why critsvc deletes one of its own pods. */
export type DeleteReason =
  | 'service-healthy'
  | 'not-critical'
  | 'service-gone'
  | 'duplicate'
  | 'selector-changed'
  | 'name-reuse'
  | 'standby-unwanted';
