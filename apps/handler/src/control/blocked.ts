// Why a lame Service has no default pod when it is not a matter of time (the blast-radius limits,
// a selector that conflicts with critsvc's marks, a pod without them holding the name): kept in
// its record for CriticalService status, and said once in a Warning Event.
import type { Decision } from '../model/decide.ts';
import { LIMIT_REASON, type Blocked } from '../model/reasons.ts';
import type { ServiceInfo } from '../model/types.ts';
import type { Reporter } from '../status/reporter.ts';
import type { ServiceRecord } from './records.ts';

/** Why the decision leaves a lame Service without a default pod, when it is not a matter of time. */
export function blockedBy(d: Decision): Blocked | undefined {
  if (d.limitedBy) return d.limitedBy;
  const c = d.selectorConflict;
  if (c) {
    return {
      reason: 'SelectorConflictsWithMarks',
      message: `the selector requires ${c.label}=${c.wanted}, but critsvc sets ${c.label}=${c.ours} on its default pods (its ownership marks); no default pod can serve this Service`,
    };
  }
  if (d.nameTakenBy)
    return {
      reason: 'DefaultPodNameTaken',
      message: `pod ${d.nameTakenBy.name} exists without critsvc's ownership marks`,
    };
  return undefined;
}

/** What keeps a lame Service without a default pod; an admission refusal stands until a create succeeds. */
export function noteBlocked(rec: ServiceRecord, decision: Decision): void {
  const why = blockedBy(decision);
  if (why) rec.blocked = why;
  else if (!decision.wanted || decision.defaultPod || rec.blocked?.reason !== 'DefaultPodRefused')
    rec.blocked = undefined;
}

/** Each problem that keeps the Service without a default pod said once (a Warning Event and a log line). */
export async function reportBlocked(reporter: Reporter, svc: ServiceInfo, decision: Decision): Promise<void> {
  const conflict = decision.selectorConflict;
  if (conflict)
    await reporter.warnOnce(svc, {
      topic: 'selector',
      what: `${conflict.label}=${conflict.wanted}`,
      reason: 'SelectorConflictsWithMarks',
      message: blockedBy(decision)?.message ?? '',
    });
  if (decision.nameTakenBy)
    await reporter.warnOnce(svc, {
      topic: 'name-taken',
      what: 'name-taken',
      reason: 'DefaultPodNameTaken',
      message: `pod ${decision.nameTakenBy.name} exists without critsvc's ownership marks; critsvc will not touch it, so this Service has no default pod`,
    });
  if (decision.limitedBy)
    await reporter.warnOnce(svc, {
      topic: 'limit',
      what: 'limit',
      reason: LIMIT_REASON,
      message: `no default pod for this lame critical Service: ${decision.limitedBy.message}`,
    });
  else reporter.settled(svc.key, 'limit');
  const legacy = decision.legacy
    .map((p) => p.name)
    .sort()
    .join(', ');
  if (legacy)
    await reporter.warnOnce(svc, {
      topic: 'legacy',
      what: legacy,
      reason: 'LegacyDefaultPod',
      message: `pod(s) ${legacy} carry only the service-watcher annotation (left by the article's version): never counted as real, never deleted by critsvc; delete them by hand`,
    });
}
