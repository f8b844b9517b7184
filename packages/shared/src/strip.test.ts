// What stripObject keeps of each kind: only what the handler reads travels through Redis.
import { describe, expect, it } from 'vitest';
import { stripObject } from './strip.ts';
import type { Kind } from './types.ts';

const meta = {
  name: 'web-1',
  namespace: 'ns',
  uid: 'u-1',
  resourceVersion: '7',
  generation: 3,
  labels: { app: 'web' },
  annotations: { 'service-watcher': 'true', 'kubectl.kubernetes.io/last-applied-configuration': '{"big":true}' },
  creationTimestamp: '2026-11-29T10:00:00Z',
  deletionTimestamp: new Date('2026-11-29T11:00:00Z'),
  ownerReferences: [
    { apiVersion: 'critsvc.io/v1', kind: 'CriticalService', name: 'crit', uid: 'c-1' },
    { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web-rs', uid: 'r-1' },
  ],
  managedFields: [{ manager: 'kubectl' }],
  finalizers: ['x'],
};
const keptMeta = {
  name: 'web-1',
  namespace: 'ns',
  uid: 'u-1',
  resourceVersion: '7',
  generation: 3,
  labels: { app: 'web' },
  creationTimestamp: '2026-11-29T10:00:00Z',
  deletionTimestamp: '2026-11-29T11:00:00.000Z',
  ownerReferences: [{ apiVersion: 'critsvc.io/v1', kind: 'CriticalService', name: 'crit', uid: 'c-1' }],
};
const pod = {
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: meta,
  spec: { containers: [{ name: 'app', image: 'x' }], nodeName: 'n1' },
  status: {
    phase: 'Running',
    podIP: '10.0.0.5',
    hostIP: '10.0.0.1',
    conditions: [
      { type: 'Ready', status: 'True', lastTransitionTime: 't' },
      { type: 'PodScheduled', status: 'True' },
    ],
    containerStatuses: [{ name: 'app', ready: true }],
  },
};
const service = {
  metadata: meta,
  spec: {
    selector: { app: 'web' },
    type: 'ClusterIP',
    ports: [{ port: 80 }],
    clusterIP: '10.96.0.10',
    publishNotReadyAddresses: true,
    sessionAffinity: 'None',
  },
  status: { loadBalancer: {} },
};
const crit = {
  metadata: meta,
  spec: { namespace: 'ns', matchLabels: [{ key: 'tier', value: 'gold' }] },
  status: { covered: 1 },
};

describe('stripObject', () => {
  it.each<[string, Kind, unknown, unknown]>([
    [
      'Pod: metadata the handler reads, its own annotation only, CriticalService owners only; phase, podIP and the Ready condition',
      'Pod',
      pod,
      {
        metadata: { ...keptMeta, annotations: { 'service-watcher': 'true' } },
        status: { phase: 'Running', podIP: '10.0.0.5', conditions: [{ type: 'Ready', status: 'True' }] },
      },
    ],
    [
      'Pod without a status, IP or Ready condition',
      'Pod',
      { metadata: { name: 'p' }, status: { phase: 'Pending', podIP: '' } },
      { metadata: { name: 'p' }, status: { phase: 'Pending' } },
    ],
    [
      'Service: no annotations; selector, type, ports, publishNotReadyAddresses; no status',
      'Service',
      service,
      {
        metadata: keptMeta,
        spec: { selector: { app: 'web' }, type: 'ClusterIP', ports: [{ port: 80 }], publishNotReadyAddresses: true },
      },
    ],
    [
      'Service without publishNotReadyAddresses',
      'Service',
      { metadata: { name: 's' }, spec: { selector: { a: 'b' }, type: 'ClusterIP', ports: [] } },
      { metadata: { name: 's' }, spec: { selector: { a: 'b' }, type: 'ClusterIP', ports: [] } },
    ],
    [
      'CriticalService: the whole spec, no annotations, no status',
      'CriticalService',
      crit,
      { metadata: keptMeta, spec: crit.spec },
    ],
    ['not an object at all', 'Pod', 'garbage', { metadata: {}, status: undefined }],
    [
      'metadata of the wrong types is dropped field by field',
      'Service',
      { metadata: { name: 5, namespace: 'ns', labels: ['a'], ownerReferences: 'x' } },
      { metadata: { namespace: 'ns' }, spec: undefined },
    ],
  ])('%s', (_, kind, input, expected) => {
    expect(stripObject(kind, input)).toEqual(expected);
  });

  it('never carries managedFields, finalizers, the pod spec or last-applied annotations', () => {
    const out = JSON.stringify([
      stripObject('Pod', pod),
      stripObject('Service', service),
      stripObject('CriticalService', crit),
    ]);
    for (const gone of [
      'managedFields',
      'finalizers',
      'containers',
      'nodeName',
      'last-applied',
      'ReplicaSet',
      'clusterIP',
      'loadBalancer',
      'covered',
    ])
      expect(out).not.toContain(gone);
  });
});
