// Before a default pod is created, the state (built from queue payloads, which are hints) is
// checked against what the API server says now: the Service exists as stored, it has no real
// pod, and a CriticalService that exists covers it. For a failover the check follows the create
// (off the outage's path; see Actions.create): a forged or stale job can make the handler create
// a default pod that it deletes as soon as the check disagrees, never delete or change a pod that
// is not its own.
import type { KubeObject } from '@critsvc/shared/model';
import { parseCriticalService, parsePod, parseService } from './parse.ts';
import { isComparable, isOlderOrSame } from './resource-version.ts';
import { critCovers, hasRealPod, isConsidered } from './rules.ts';
import type { CritInfo, Labels, ServiceInfo } from './types.ts';

export interface LiveView {
  service: KubeObject | undefined;
  /** The pods of the Service's namespace that its stored selector matches. */
  pods: KubeObject[];
  /** The CriticalServices the state says cover it, as read now (undefined: gone). */
  crits: (KubeObject | undefined)[];
  /**
   * The version of the pods the decision saw, when the check follows the create: a pod changed
   * after it (created, or turned ready) is the world moving on, not the state lying; its event is
   * on its way, and the decisions it causes take over (with the healthy hold-off).
   */
  decidedAt?: string;
}

export type LiveVerdict = { ok: true; owners: CritInfo[] } | { ok: false; why: string };

export function selectorString(selector: Labels): string {
  return Object.entries(selector)
    .map(([k, v]) => `${k}=${v}`)
    .sort()
    .join(',');
}

export function confirmCreate(
  stored: ServiceInfo,
  view: LiveView,
  watched: readonly string[],
  readyOnly: boolean,
): LiveVerdict {
  const live = view.service ? parseService(view.service) : undefined;
  if (!live?.ok) return { ok: false, why: 'the Service does not exist' };
  const svc = live.value;
  if (svc.uid !== stored.uid) return { ok: false, why: 'the Service was replaced' };
  if (!isConsidered(svc, watched)) return { ok: false, why: 'the Service is not one critsvc looks at' };
  if (selectorString(svc.selector) !== selectorString(stored.selector))
    return { ok: false, why: "the Service's selector changed" };
  const decidedAt = view.decidedAt;
  const pods = view.pods
    .map(parsePod)
    .flatMap((p) => (p.ok ? [p.value] : []))
    .filter((p) => decidedAt === undefined || !isComparable(decidedAt) || isOlderOrSame(p.resourceVersion, decidedAt));
  if (hasRealPod(svc, pods, readyOnly)) return { ok: false, why: 'the Service has a real pod' };
  const owners = view.crits.flatMap((c) => {
    const parsed = c ? parseCriticalService(c) : undefined;
    return parsed?.ok && critCovers(parsed.value, svc) ? [parsed.value] : [];
  });
  if (owners.length === 0) return { ok: false, why: 'no CriticalService covers the Service' };
  return { ok: true, owners };
}
