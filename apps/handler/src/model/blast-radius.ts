// Blast radius: how many default pods critsvc may run at once, per namespace and in all. A
// mistake (a CriticalService matching every Service, a template everyone's selector matches)
// must not fill the cluster. Counted from the state: our own pods (ownership marks), not the
// terminating ones (they are going), nor warm pods (hot standby: they count once promoted), plus the creates decided or sent and not yet seen back.
import { LIMIT_REASON, type Blocked } from './reasons.ts';
import type { PodInfo } from './types.ts';

/** 0: no limit. */
export interface DefaultPodLimits {
  perNamespace: number;
  total: number;
}

export interface DefaultPodCounts {
  namespace: number;
  total: number;
}

export const hasLimits = (l: DefaultPodLimits): boolean => l.perNamespace > 0 || l.total > 0;

/**
 * Default pods that exist or are on their way, in `namespace` and in all; a Service counts once
 * whether its pod is seen already or only in flight.
 * @param inFlight keys (`ns/service`) of the Services whose create is decided or not yet seen back
 */
export function countDefaultPods(
  pods: Iterable<PodInfo>,
  inFlight: Iterable<string>,
  namespace: string,
): DefaultPodCounts {
  const served = new Set<string>();
  for (const p of pods)
    if (p.owned && !p.standby && !p.terminating && p.forService !== undefined)
      served.add(`${p.namespace}/${p.forService}`);
  for (const key of inFlight) served.add(key);
  let inNamespace = 0;
  for (const key of served) if (key.slice(0, key.indexOf('/')) === namespace) inNamespace++;
  return { namespace: inNamespace, total: served.size };
}

/** Why one more default pod in `namespace` is not allowed, or undefined when it is. */
export function limitReached(
  namespace: string,
  counts: DefaultPodCounts,
  limits: DefaultPodLimits,
): Blocked | undefined {
  if (limits.perNamespace > 0 && counts.namespace >= limits.perNamespace) {
    return {
      reason: LIMIT_REASON,
      message: `${counts.namespace} default pod(s) in namespace ${namespace} already: MAX_DEFAULT_PODS_PER_NAMESPACE is ${limits.perNamespace}; this Service gets one once another goes`,
    };
  }
  if (limits.total > 0 && counts.total >= limits.total) {
    return {
      reason: LIMIT_REASON,
      message: `${counts.total} default pod(s) in the watched namespaces already: MAX_DEFAULT_PODS is ${limits.total}; this Service gets one once another goes`,
    };
  }
  return undefined;
}
