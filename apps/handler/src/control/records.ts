// One record per Service, owned by the controller: what its last decision found, why it has no
// default pod, since when it is lame or healthy, whether it was served, the live check due after
// a failover's create and how long its creates wait for the check. Forgetting a Service is one delete.
import type { Spell } from '../model/decide.ts';
import type { Blocked, BlockReason } from '../model/reasons.ts';
import type { ServiceVerdict } from '../model/status.ts';
import { CreateRefused, StateDisagrees } from './action-errors.ts';
import type { Outcome } from './actions.ts';
import type { DueCheck } from './live-confirm.ts';

/** After the live check disagreed for a Service, how long its creates wait for the check. */
export const CHECK_FIRST_MS = 10 * 60_000;

export interface ServiceRecord {
  /** What its last decision found (lame, default pods), for CriticalService status; undefined: not considered. */
  verdict?: ServiceVerdict;
  /** Lame, and why critsvc cannot give it a default pod (shown in CriticalService status). */
  blocked?: Blocked;
  /**
   * A decision found it served by a real pod: losing it is the failover, whose create is sent
   * before the live check. A Service never seen served (new, or its pods not seen yet: the
   * watchers race) is checked first.
   */
  served: boolean;
  /** Since when it is lame or healthy (the hold-offs count from there). */
  spell?: Spell;
  /** The live check disagreed lately: until then (ms) its creates wait for the check. */
  suspectUntil?: number;
  /** A failover's create whose live check is due. */
  dueCheck?: DueCheck;
}

export class ServiceRecords {
  private readonly records = new Map<string, ServiceRecord>();
  /** What other parts keep per Service (the outage clock, the reporter, ...), forgotten with the record. */
  private readonly alsoForget: ((key: string) => void)[];

  constructor(alsoForget: ((key: string) => void)[] = []) {
    this.alsoForget = alsoForget;
  }

  get(key: string): ServiceRecord | undefined {
    return this.records.get(key);
  }

  /** The Service's record, made if it has none yet. */
  of(key: string): ServiceRecord {
    let r = this.records.get(key);
    if (!r) this.records.set(key, (r = { served: false }));
    return r;
  }

  /** The Service left the state: everything kept for it goes. */
  forget(key: string): void {
    this.records.delete(key);
    for (const f of this.alsoForget) f(key);
  }

  /** The Services held back for this reason. */
  *blockedBy(reason: BlockReason): Iterable<string> {
    for (const [key, r] of this.records) if (r.blocked?.reason === reason) yield key;
  }

  /** The creates of this Service wait for the live check (it disagreed lately, and no outage was confirmed since). */
  suspect(key: string, now = Date.now()): boolean {
    const r = this.records.get(key);
    if (r?.suspectUntil === undefined) return false;
    if (r.suspectUntil >= now) return true;
    r.suspectUntil = undefined;
    return false;
  }
}

/** What an action came to: a Service given a default pod is no longer blocked; a check may be due, or an outage confirmed. */
export function took(rec: ServiceRecord, outcome: Outcome): void {
  if (outcome.kind !== 'pod-given') return;
  rec.blocked = undefined;
  if (outcome.check) rec.dueCheck = outcome.check;
  if (outcome.confirmed) rec.suspectUntil = undefined; // an outage confirmed: the next failover need not wait
}

/** An action failed: an admission refusal blocks the Service until a create succeeds; a lie makes it suspect. */
export function failed(rec: ServiceRecord, err: unknown, now = Date.now()): void {
  if (err instanceof StateDisagrees && err.suspect) rec.suspectUntil = now + CHECK_FIRST_MS;
  if (err instanceof CreateRefused) rec.blocked = { reason: 'DefaultPodRefused', message: err.message };
}
