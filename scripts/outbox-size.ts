// Measures what one object costs the outbox while Redis is unreachable, as a list leaves it:
// a stripped pod, its queue job (marked with its list's id) and Map entry. Pods are
// parsed from JSON pages like the API server's (a Deployment's pod as kwok runs it), stripped,
// pushed into an Outbox whose sends fail, and the heap is compared after gc.
//   node --expose-gc scripts/outbox-size.ts [pods]
import { Outbox } from '../packages/shared/src/outbox.ts';
import { createLogger } from '../packages/shared/src/logger.ts';
import { stripObject } from '../packages/shared/src/strip.ts';
import type { QueueJob } from '../packages/shared/src/types.ts';

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc');
const n = Number(process.argv[2] ?? 100_000);

function rawPod(i: number): unknown {
  const hash = ((i * 2654435761) >>> 0).toString(36).padStart(7, '0');
  const name = `checkout-api-7c9f8d6b5d-${hash.slice(0, 5)}`;
  return {
    metadata: {
      name,
      generateName: 'checkout-api-7c9f8d6b5d-',
      namespace: 'team-payments',
      uid: `3f1c2a4e-${hash.slice(0, 4)}-4b7d-9e2f-${hash}00000`.slice(0, 36),
      resourceVersion: String(1_000_000 + i),
      creationTimestamp: '2026-11-29T10:15:42Z',
      labels: { app: 'checkout-api', 'pod-template-hash': '7c9f8d6b5d', tier: 'gold' },
      ownerReferences: [
        {
          apiVersion: 'apps/v1',
          kind: 'ReplicaSet',
          name: 'checkout-api-7c9f8d6b5d',
          uid: '0b9e0c7a-1d2e-4f3a-8b9c-0d1e2f3a4b5c',
          controller: true,
          blockOwnerDeletion: true,
        },
      ],
      managedFields: [
        {
          manager: 'kube-controller-manager',
          operation: 'Update',
          apiVersion: 'v1',
          time: '2026-11-29T10:15:42Z',
          fieldsType: 'FieldsV1',
          fieldsV1: { 'f:metadata': { 'f:labels': {} } },
        },
      ],
    },
    spec: {
      containers: [
        { name: 'app', image: 'registry.example.com/checkout-api:1.42.0', ports: [{ containerPort: 8080 }] },
      ],
      nodeName: `kwok-node-${i % 3}`,
    },
    status: {
      phase: 'Running',
      podIP: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
      hostIP: '10.0.0.3',
      conditions: ['Initialized', 'Ready', 'ContainersReady', 'PodScheduled'].map((type) => ({
        type,
        status: 'True',
        lastTransitionTime: '2026-11-29T10:15:43Z',
      })),
    },
  };
}

const heap = (): number => {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
};

const box = new Outbox({
  log: createLogger('silent', 'measure'),
  maxObjects: Number.MAX_SAFE_INTEGER,
  relist: () => undefined,
  send: async () => {
    throw new Error('down');
  },
});
const before = heap();
{
  // As ListWatcher.listAll: pages of 500 parsed from JSON, every object pushed, then the marker.
  const list = 'Xq3vN8kA';
  const jobs: QueueJob[] = [];
  for (let p = 0; p < n; p += 500) {
    const page = JSON.parse(
      JSON.stringify({ items: Array.from({ length: Math.min(500, n - p) }, (_, j) => rawPod(p + j)) }),
    ) as { items: unknown[] };
    for (const item of page.items) {
      const object = stripObject('Pod', item);
      jobs.push({ kind: 'Pod', type: 'ADDED', object, seenAt: Date.now(), list });
    }
  }
  for (const job of jobs) box.push(job);
  box.push({
    kind: 'Pod',
    type: 'SYNCED',
    scope: 'team-payments',
    resourceVersion: '2000000',
    list,
    count: jobs.length,
    seenAt: Date.now(),
  });
}
const after = heap();
const v8 = await import('node:v8');
console.log(
  JSON.stringify({
    pods: box.size - 1,
    bytesPerObject: Math.round((after - before) / n),
    heapUsedMB: Math.round(after / 2 ** 20),
    heapLimitMB: Math.round(v8.getHeapStatistics().heap_size_limit / 2 ** 20),
  }),
);
