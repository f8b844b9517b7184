// Before a default pod that serves a Service is deleted, the API server must agree that the
// Service no longer needs it: queue payloads are hints, and a forged or stale one (a ghost Ready
// pod, a Service or CriticalService said to be gone) must never leave a critical Service without a
// pod. At hand-back the proof is what the Service's clients are sent to: its EndpointSlices show a
// ready endpoint that is a real pod (not a default pod), as listed live.
import type { KubeObject } from '@critsvc/shared/model';
import type { DeleteReason } from './reasons.ts';
import { parseCriticalService, parsePod, parseService } from './parse.ts';
import { critCovers, isConsidered, isRealPod, selectorMatches } from './rules.ts';
import type { PodInfo, ServiceInfo } from './types.ts';

/** The deletions that take a Service's protection away: each is confirmed live first. */
export const PROTECTION_REASONS: ReadonlySet<DeleteReason> = new Set([
  'service-healthy',
  'not-critical',
  'service-gone',
  'selector-changed',
]);

export interface RemovalView {
  /** The Service as read now (undefined: gone). */
  service: KubeObject | undefined;
  /** Every CriticalService, as listed now. */
  crits: KubeObject[];
  /** The namespace's pods the live Service selects (service-healthy only). */
  pods: KubeObject[];
  /** The live Service's EndpointSlices (service-healthy only). */
  slices: KubeObject[];
  /** The default pod as read now (selector-changed only; undefined: gone). */
  pod: KubeObject | undefined;
}

/**
 * ok: the API server agrees, delete. wait: it will agree soon (the real pod is Ready, its endpoint
 * not published yet): decide again shortly, keep the pod. disagrees: the state was wrong; repair it.
 */
export type RemovalVerdict = { ok: true } | { ok: false; wait: boolean; why: string };

/** The live Service, if critsvc must keep it protected now (considered, and a live CriticalService covers it). */
export function protectedService(
  view: Pick<RemovalView, 'service' | 'crits'>,
  watched: readonly string[],
): ServiceInfo | undefined {
  const parsed = view.service ? parseService(view.service) : undefined;
  if (!parsed?.ok || !isConsidered(parsed.value, watched)) return undefined;
  const svc = parsed.value;
  const covered = view.crits.some((c) => {
    const crit = parseCriticalService(c);
    return crit.ok && critCovers(crit.value, svc);
  });
  return covered ? svc : undefined;
}

export function confirmRemoval(
  reason: DeleteReason,
  view: RemovalView,
  watched: readonly string[],
  readyOnly: boolean,
): RemovalVerdict {
  const svc = protectedService(view, watched);
  if (!svc) return { ok: true }; // nothing left to protect: the delete is right, whatever the queue said why
  if (reason === 'service-gone')
    return { ok: false, wait: false, why: 'the Service exists and a CriticalService covers it' };
  if (reason === 'not-critical') return { ok: false, wait: false, why: 'a CriticalService covers the Service' };
  if (reason === 'selector-changed') {
    const pod = view.pod ? parsePod(view.pod) : undefined;
    if (pod?.ok && selectorMatches(svc.selector, pod.value.labels))
      return { ok: false, wait: false, why: 'the Service still selects its default pod' };
    return { ok: true };
  }
  const real = livePods(view.pods).filter(
    (p) => isRealPod(p, readyOnly, svc.publishNotReady) && selectorMatches(svc.selector, p.labels),
  );
  if (real.length === 0) return { ok: false, wait: false, why: 'no real pod serves the Service' };
  // Literal mode (READY_PODS_ONLY=false) counts pods that are not endpoints: their presence is the proof.
  if (!readyOnly) return { ok: true };
  if (servedBy(view.slices, real)) return { ok: true };
  return { ok: false, wait: true, why: 'the real pod is not a ready endpoint of the Service yet' };
}

function livePods(objects: KubeObject[]): PodInfo[] {
  return objects.map(parsePod).flatMap((p) => (p.ok ? [p.value] : []));
}

type Endpoint = { conditions?: { ready?: boolean | null }; targetRef?: { kind?: string; name?: string; uid?: string } };

/** Some EndpointSlice of the Service holds a ready endpoint that is one of these real pods. */
export function servedBy(slices: KubeObject[], real: PodInfo[]): boolean {
  const uids = new Set(real.map((p) => p.uid));
  const names = new Set(real.map((p) => p.name));
  const isReal = (e: Endpoint): boolean => {
    const ref = e.targetRef;
    // A nil ready condition means "unknown": the API says to read it as ready.
    if (e.conditions?.ready === false || ref?.kind !== 'Pod') return false;
    return ref.uid ? uids.has(ref.uid) : names.has(ref.name ?? '');
  };
  return slices.some((slice) => {
    const endpoints = (slice as { endpoints?: unknown }).endpoints;
    return (
      Array.isArray(endpoints) &&
      (endpoints as (Endpoint | null)[]).some((e) => e !== null && typeof e === 'object' && isReal(e))
    );
  });
}
