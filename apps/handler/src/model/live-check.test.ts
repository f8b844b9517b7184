import { describe, expect, it } from 'vitest';
import { confirmCreate, type LiveView } from './live-check.ts';
import { svc } from '../../../../test/support/model-fixtures.ts';

const stored = svc('frontend', { labels: { role: 'frontend' }, selector: { app: 'web' } });
const liveSvc = {
  metadata: { name: 'frontend', namespace: 'ns', uid: stored.uid, resourceVersion: '5', labels: { role: 'frontend' } },
  spec: { selector: { app: 'web' }, ports: [{ port: 80 }] },
};
const liveCrit = {
  metadata: { name: 'c', uid: 'uid-c', resourceVersion: '3', generation: 1 },
  spec: { matchLabels: [{ key: 'role', value: 'frontend' }] },
};
const readyPod = {
  metadata: { name: 'web-1', namespace: 'ns', uid: 'u1', resourceVersion: '9', labels: { app: 'web' } },
  status: { phase: 'Running', podIP: '10.0.0.1', conditions: [{ type: 'Ready', status: 'True' }] },
};
const view = (o: Partial<LiveView> = {}): LiveView => ({ service: liveSvc, pods: [], crits: [liveCrit], ...o });

describe('confirmCreate: the API server must agree before a default pod is created', () => {
  it('lame and covered → yes, with the CriticalServices as read now', () => {
    const v = confirmCreate(stored, view(), ['ns'], true);
    expect(v.ok && v.owners.map((c) => `${c.name}/${c.uid}`)).toEqual(['c/uid-c']);
  });
  it.each<[string, Partial<LiveView>, string]>([
    ['the Service does not exist (a forged Service job)', { service: undefined }, 'does not exist'],
    [
      'another Service under the name',
      { service: { ...liveSvc, metadata: { ...liveSvc.metadata, uid: 'other' } } },
      'replaced',
    ],
    ['a real pod (a forged DELETED of it)', { pods: [readyPod] }, 'has a real pod'],
    ['no CriticalService (a forged one)', { crits: [undefined] }, 'no CriticalService'],
    [
      'the CriticalService no longer matches',
      { crits: [{ ...liveCrit, spec: { matchLabels: [{ key: 'role', value: 'db' }] } }] },
      'no CriticalService',
    ],
    ['the selector changed', { service: { ...liveSvc, spec: { selector: { app: 'other' } } } }, 'selector changed'],
  ])('%s → no', (_name, o, why) => {
    const v = confirmCreate(stored, view(o), ['ns'], true);
    expect(v.ok).toBe(false);
    expect(!v.ok && v.why).toContain(why);
  });
  it("after the create: a real pod changed after the decision's version is the world moving on (yes); one at or before it is what the state missed or lied about (no)", () => {
    expect(confirmCreate(stored, view({ pods: [readyPod], decidedAt: '8' }), ['ns'], true).ok).toBe(true);
    expect(confirmCreate(stored, view({ pods: [readyPod], decidedAt: '9' }), ['ns'], true).ok).toBe(false);
    expect(confirmCreate(stored, view({ pods: [readyPod], decidedAt: '999999999' }), ['ns'], true).ok).toBe(false);
    // A version that is no etcd revision cannot be compared: every live pod counts.
    expect(confirmCreate(stored, view({ pods: [readyPod], decidedAt: 'x' }), ['ns'], true).ok).toBe(false);
  });
});
