// Whether two versions of a pod differ in anything a decision reads: most pod updates (status
// details, annotations, other controllers' fields) do not, and decide nothing again.
import type { PodInfo } from './types.ts';

/** Everything about a pod that decisions, expectations and status read, compared (not its resourceVersion). */
export function samePodForDecisions(a: PodInfo, b: PodInfo): boolean {
  return (
    a.uid === b.uid &&
    a.owned === b.owned &&
    a.standby === b.standby &&
    a.legacy === b.legacy &&
    a.forService === b.forService &&
    a.terminating === b.terminating &&
    a.phase === b.phase &&
    a.ready === b.ready &&
    a.hasIP === b.hasIP &&
    sameLabels(a.labels, b.labels) &&
    sameOwners(a.owners, b.owners)
  );
}

function sameLabels(a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>): boolean {
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  return ka.every((k) => a[k] === b[k]);
}

function sameOwners(a: PodInfo['owners'], b: PodInfo['owners']): boolean {
  if (a === undefined || b === undefined) return a === b;
  return (
    a.length === b.length &&
    a.every((o, i) => o.uid === b[i]?.uid && o.name === b[i]?.name && o.controller === b[i]?.controller)
  );
}
