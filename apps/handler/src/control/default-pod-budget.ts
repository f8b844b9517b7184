// The blast-radius limits at decision time: counts the default pods from the state, plus the
// creates decided and not yet seen back (several Services are decided at once, and a create
// takes a few API calls before it is sent: without counting them two decisions would both pass).
import type { Expectations } from './expectations.ts';
import { countDefaultPods, hasLimits, limitReached, type DefaultPodLimits } from '../model/blast-radius.ts';
import type { Blocked } from '../model/reasons.ts';
import type { Store } from '../model/store.ts';

export class DefaultPodBudget {
  /** Services whose create was decided and is being made (the expectation takes over once it is sent). */
  private readonly reserved = new Set<string>();
  private readonly limits: DefaultPodLimits;
  private readonly store: Store;
  private readonly expectations: Expectations;

  constructor(limits: DefaultPodLimits, store: Store, expectations: Expectations) {
    this.limits = limits;
    this.store = store;
    this.expectations = expectations;
  }

  /** Why the Service may not get a default pod now, or undefined (always, without limits). */
  check(serviceKey: string): Blocked | undefined {
    if (!hasLimits(this.limits)) return undefined;
    const ns = serviceKey.slice(0, serviceKey.indexOf('/'));
    const inFlight = [...this.reserved, ...this.expectations.creatingKeys()];
    return limitReached(ns, countDefaultPods(this.store.allPods(), inFlight, ns), this.limits);
  }

  reserve(serviceKey: string): void {
    this.reserved.add(serviceKey);
  }

  release(serviceKey: string): void {
    this.reserved.delete(serviceKey);
  }
}
