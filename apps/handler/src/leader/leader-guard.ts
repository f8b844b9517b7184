// Only the leader writes. Between the last renewal and the moment the renew deadline is noticed
// (a leader frozen, or cut off from the API server, then resumed), a former leader could still
// hold decisions in flight: every write first checks that this process renewed its Lease within
// the renew deadline, so it never acts after a standby may have taken over.
import type { KubeActions } from '../kube/kube-actions.ts';

export class NotLeader extends Error {
  override name = 'NotLeader';

  constructor(op: string) {
    super(`${op} not done: this handler no longer holds the leader Lease`);
  }
}

export function leaderOnly(kube: KubeActions, mayAct: () => boolean): KubeActions {
  const check = (op: string): void => {
    if (!mayAct()) throw new NotLeader(op);
  };
  return {
    ...kube,
    // Spread keeps the reads (and listPages) as they are; the writes are wrapped.
    async createPod(pod) {
      check('createPod');
      return kube.createPod(pod);
    },
    async deletePod(pod, force) {
      check('deletePod');
      return kube.deletePod(pod, force);
    },
    async patchPodOwners(pod, owners, stale) {
      check('patchPodOwners');
      return kube.patchPodOwners(pod, owners, stale);
    },
    async promotePod(pod, selector) {
      check('promotePod');
      return kube.promotePod(pod, selector);
    },
    async recordEvent(svc, type, reason, message) {
      check('recordEvent');
      return kube.recordEvent(svc, type, reason, message);
    },
    async patchCritStatus(name, status) {
      check('patchCritStatus');
      return kube.patchCritStatus(name, status);
    },
  };
}
