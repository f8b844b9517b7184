import { describe, expect, it } from 'vitest';
import type { KubeActions } from '../kube/kube-actions.ts';
import { leaderOnly, NotLeader } from './leader-guard.ts';

// Records which calls reached the real actions; the guard's only job is to let them through or not.
function recording(): { kube: KubeActions; calls: string[] } {
  const calls: string[] = [];
  const record = (op: string) => async () => {
    calls.push(op);
    return undefined as never;
  };
  const kube = Object.fromEntries(
    [
      'createPod',
      'deletePod',
      'patchPodOwners',
      'promotePod',
      'readPod',
      'readService',
      'listPods',
      'readCriticalService',
      'recordEvent',
      'patchCritStatus',
    ].map((op) => [op, record(op)]),
  ) as unknown as KubeActions;
  return { kube, calls };
}

describe('leaderOnly', () => {
  const writes: [string, (k: KubeActions) => Promise<unknown>][] = [
    ['createPod', (k) => k.createPod({})],
    ['deletePod', (k) => k.deletePod({ namespace: 'n', name: 'p', uid: 'u', service: 's' })],
    ['patchPodOwners', (k) => k.patchPodOwners({ namespace: 'n', name: 'p', uid: 'u', service: 's' }, [], [])],
    ['promotePod', (k) => k.promotePod({ namespace: 'n', name: 'p', uid: 'u', service: 's' }, { app: 'web' })],
    ['recordEvent', (k) => k.recordEvent({ namespace: 'n', name: 's', uid: 'u' }, 'Normal', 'R', 'm')],
    ['patchCritStatus', (k) => k.patchCritStatus('c', {})],
  ];

  it.each(writes)(
    '%s is refused once the renew deadline has passed, and goes through while leading',
    async (op, call) => {
      const { kube, calls } = recording();
      let leading = false;
      const guarded = leaderOnly(kube, () => leading);
      await expect(call(guarded)).rejects.toBeInstanceOf(NotLeader);
      expect(calls).toEqual([]);
      leading = true;
      await call(guarded);
      expect(calls).toEqual([op]);
    },
  );

  it('reads are never refused (a standby may read)', async () => {
    const { kube, calls } = recording();
    const guarded = leaderOnly(kube, () => false);
    await guarded.readPod('n', 'p');
    await guarded.readService('n', 's');
    expect(calls).toEqual(['readPod', 'readService']);
  });
});
