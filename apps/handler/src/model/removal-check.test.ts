import { describe, expect, it } from 'vitest';
import { confirmRemoval, type RemovalView } from './removal-check.ts';
import type { DeleteReason } from './reasons.ts';

const liveSvc = {
  metadata: { name: 'frontend', namespace: 'ns', uid: 's1', resourceVersion: '5', labels: { role: 'frontend' } },
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
const defaultPod = {
  metadata: {
    name: 'service-watcher-frontend',
    namespace: 'ns',
    uid: 'd1',
    resourceVersion: '8',
    labels: { app: 'web', 'app.kubernetes.io/managed-by': 'critsvc', 'critsvc.mycrd.com/service': 'frontend' },
    annotations: { 'service-watcher': 'owned' },
  },
  status: { phase: 'Running', podIP: '10.0.0.2', conditions: [{ type: 'Ready', status: 'True' }] },
};
const slice = (...endpoints: { uid: string; name: string; ready?: boolean }[]) => ({
  metadata: { name: 'frontend-abc', namespace: 'ns', labels: { 'kubernetes.io/service-name': 'frontend' } },
  endpoints: endpoints.map((e) => ({
    addresses: ['10.0.0.1'],
    conditions: e.ready === undefined ? {} : { ready: e.ready },
    targetRef: { kind: 'Pod', namespace: 'ns', name: e.name, uid: e.uid },
  })),
});
const view = (o: Partial<RemovalView> = {}): RemovalView => ({
  service: liveSvc,
  crits: [liveCrit],
  pods: [readyPod, defaultPod],
  slices: [slice({ uid: 'u1', name: 'web-1', ready: true })],
  pod: defaultPod,
  ...o,
});
const judge = (reason: DeleteReason, o: Partial<RemovalView> = {}, readyOnly = true) =>
  confirmRemoval(reason, view(o), ['ns'], readyOnly);

describe("confirmRemoval: a default pod that protects a Service goes only on the API server's word", () => {
  it('hand-back: a ready endpoint that is a real pod → yes', () => {
    expect(judge('service-healthy')).toEqual({ ok: true });
    // A nil ready condition is "unknown", read as ready (the EndpointSlice API).
    expect(judge('service-healthy', { slices: [slice({ uid: 'u1', name: 'web-1' })] })).toEqual({ ok: true });
  });
  it.each<[string, Partial<RemovalView>]>([
    [
      'the only real pod is a ghost (the queue said Ready, the API server has no such pod)',
      { pods: [defaultPod], slices: [slice({ uid: 'd1', name: 'service-watcher-frontend', ready: true })] },
    ],
    [
      'the real pod is not Ready live',
      {
        pods: [
          { ...readyPod, status: { ...readyPod.status, conditions: [{ type: 'Ready', status: 'False' }] } },
          defaultPod,
        ],
      },
    ],
  ])('hand-back: %s → no, the state is repaired', (_what, o) => {
    const v = judge('service-healthy', o);
    expect(v.ok).toBe(false);
    expect(!v.ok && v.wait).toBe(false);
  });
  it("hand-back: the real pod is Ready but its endpoint is not ready yet (or only the default pod's is) → wait", () => {
    for (const slices of [
      [],
      [slice({ uid: 'u1', name: 'web-1', ready: false })],
      [slice({ uid: 'd1', name: 'service-watcher-frontend', ready: true })],
    ]) {
      const v = judge('service-healthy', { slices });
      expect(v).toMatchObject({ ok: false, wait: true });
    }
  });
  it('hand-back in the literal mode (READY_PODS_ONLY=false): a matching live pod is the proof, endpoints or not', () => {
    const notReady = { ...readyPod, status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'False' }] } };
    expect(judge('service-healthy', { pods: [notReady], slices: [] }, false)).toEqual({ ok: true });
    expect(judge('service-healthy', { pods: [defaultPod], slices: [] }, false)).toMatchObject({
      ok: false,
      wait: false,
    });
  });
  it.each<DeleteReason>(['service-gone', 'not-critical'])(
    '%s while the Service exists and is covered → no',
    (reason) => {
      expect(judge(reason)).toMatchObject({ ok: false, wait: false });
    },
  );
  it.each<[string, Partial<RemovalView>]>([
    ['the Service is gone', { service: undefined }],
    ['no CriticalService left', { crits: [] }],
    [
      'the CriticalService no longer matches',
      { crits: [{ ...liveCrit, spec: { matchLabels: [{ key: 'role', value: 'db' }] } }] },
    ],
    ['the Service has no selector now', { service: { ...liveSvc, spec: { ports: [{ port: 80 }] } } }],
  ])('any reason when %s → yes (nothing left to protect)', (_what, o) => {
    for (const reason of ['service-gone', 'not-critical', 'service-healthy', 'selector-changed'] as const)
      expect(judge(reason, o)).toEqual({ ok: true });
  });
  it('selector-changed: only when the live Service no longer selects the live default pod', () => {
    expect(judge('selector-changed')).toMatchObject({ ok: false, wait: false });
    expect(judge('selector-changed', { service: { ...liveSvc, spec: { selector: { app: 'other' } } } })).toEqual({
      ok: true,
    });
    expect(judge('selector-changed', { pod: undefined })).toEqual({ ok: true });
  });
});
