// The rules of SPEC.md, each a small pure function.
import { createHash } from 'node:crypto';
import type { CritInfo, Labels, OwnerRef, PodInfo, ServiceInfo } from './types.ts';

export const OWNER_ANNOTATION = 'service-watcher';
export const OWNER_ANNOTATION_VALUE = 'owned';
export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';
export const MANAGED_BY_VALUE = 'critsvc';
export const SERVICE_LABEL = 'critsvc.mycrd.com/service';
/** On a warm pod of ours (hot standby): it waits outside the Service's selector; promotion removes it. */
export const STANDBY_LABEL = 'critsvc.mycrd.com/standby';

/** Both marks are needed: a pod that copies one of them is still somebody else's. */
export function hasOwnershipMarks(labels: Labels, annotations: Labels): boolean {
  return annotations[OWNER_ANNOTATION] === OWNER_ANNOTATION_VALUE && labels[MANAGED_BY_LABEL] === MANAGED_BY_VALUE;
}

/**
 * A selector that contradicts the labels critsvc puts on every default pod (its ownership marks):
 * no default pod could be both ours and selected, so creating one would only loop (create, judged
 * a misfit, delete, create). Gives the conflicting label, if any.
 */
export function selectorConflict(
  svc: Pick<ServiceInfo, 'name' | 'selector'>,
): { label: string; wanted: string; ours: string } | undefined {
  const managedBy = svc.selector[MANAGED_BY_LABEL];
  if (managedBy !== undefined && managedBy !== MANAGED_BY_VALUE)
    return { label: MANAGED_BY_LABEL, wanted: managedBy, ours: MANAGED_BY_VALUE };
  const service = svc.selector[SERVICE_LABEL];
  if (service !== undefined && service !== svc.name) return { label: SERVICE_LABEL, wanted: service, ours: svc.name };
  // Default pods never carry it (it makes a warm pod of ours): a pod with it would be taken for one.
  const standby = svc.selector[STANDBY_LABEL];
  if (standby !== undefined) return { label: STANDBY_LABEL, wanted: standby, ours: '(absent)' };
  return undefined;
}

export function selectorMatches(selector: Labels, labels: Labels): boolean {
  const entries = Object.entries(selector);
  return entries.length > 0 && entries.every(([k, v]) => labels[k] === v);
}

export function isWatchedNamespace(ns: string, watched: readonly string[]): boolean {
  return watched.length === 0 || watched.includes(ns);
}

/** A Service critsvc looks at at all: watched, with a selector, not ExternalName. */
export function isConsidered(svc: ServiceInfo, watched: readonly string[]): boolean {
  return (
    isWatchedNamespace(svc.namespace, watched) && Object.keys(svc.selector).length > 0 && svc.type !== 'ExternalName'
  );
}

export function critCovers(crit: CritInfo, svc: ServiceInfo): boolean {
  if (crit.problems.length > 0) return false;
  if (crit.namespace !== undefined && crit.namespace !== svc.namespace) return false;
  return crit.matchLabels.every(({ key, value }) => svc.labels[key] === value);
}

/**
 * Whether a pod serves the Service: by default (readyOnly) only while it would be a ready
 * endpoint of its EndpointSlices, as the EndpointSlice controller judges it: Ready, not
 * terminating, not finished (for a Service that publishes not-ready addresses: started, with an
 * IP). With readyOnly false, the article's literal rule: any matching pod not on its way out.
 * A default pod never counts, for any Service, nor does one left by the article's version.
 */
export function isRealPod(pod: PodInfo, readyOnly: boolean, publishNotReady = false): boolean {
  if (pod.owned || pod.legacy || pod.terminating) return false;
  if (pod.phase === 'Succeeded' || pod.phase === 'Failed') return false;
  if (!readyOnly) return true;
  return publishNotReady ? pod.hasIP : pod.ready;
}

export function hasRealPod(svc: ServiceInfo, podsInNamespace: Iterable<PodInfo>, readyOnly: boolean): boolean {
  for (const pod of podsInNamespace) {
    if (isRealPod(pod, readyOnly, svc.publishNotReady) && selectorMatches(svc.selector, pod.labels)) return true;
  }
  return false;
}

/** `<prefix>-<service>`, shortened with a stable hash when over 63 characters. */
export function defaultPodName(prefix: string, service: string): string {
  const full = `${prefix}-${service}`;
  if (full.length <= 63) return full;
  const hash = createHash('sha256').update(full).digest('hex').slice(0, 10);
  const head = full.slice(0, 63 - hash.length - 1).replace(/[-.]+$/, '');
  return `${head}-${hash}`;
}

/** Room left for the API server's 5 random characters after generateName: the names stay DNS labels (63). */
const STANDBY_BASE_MAX = 63 - 5 - '-standby-'.length;

/**
 * The generateName of a Service's warm pods: `<default pod name>-standby-` (the default pod's name
 * cut to fit, so that the pod's name stays a 63-character label). Each is named anew: a promoted
 * one keeps its name as the Service's default pod, and the next one waits behind it.
 */
export function standbyGenerateName(prefix: string, service: string): string {
  return `${defaultPodName(prefix, service)
    .slice(0, STANDBY_BASE_MAX)
    .replace(/[-.]+$/, '')}-standby-`;
}

/** A name critsvc gives a Service's default pod: the default name, or that of a warm pod it promoted. */
export function isDefaultPodName(name: string, prefix: string, service: string): boolean {
  return name === defaultPodName(prefix, service) || isStandbyName(name, prefix, service);
}

export function isStandbyName(name: string, prefix: string, service: string): boolean {
  const base = standbyGenerateName(prefix, service);
  return name.length === base.length + 5 && name.startsWith(base);
}

/** Whether any CriticalService covering a Service asks for a warm pod. */
export const wantsStandby = (covering: readonly CritInfo[]): boolean => covering.some((c) => c.hotStandby === true);

/**
 * Every covering CriticalService, by name, exactly one of them the controller: the current one
 * while it still covers the Service (no churn), else the first by name (as at creation).
 */
export function desiredOwners(current: readonly OwnerRef[], covering: readonly CritInfo[]): OwnerRef[] {
  const sorted = [...covering].sort((a, b) => a.name.localeCompare(b.name));
  const ctl = current.find((o) => o.controller && sorted.some((c) => c.uid === o.uid))?.uid ?? sorted[0]?.uid;
  return sorted.map((c) => ({ name: c.name, uid: c.uid, controller: c.uid === ctl }));
}
