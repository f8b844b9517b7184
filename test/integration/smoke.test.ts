// Proves the test bed is real: a kube-apiserver that stores, watches and authorizes, and a
// redis-server that BullMQ can push to and pop from.
import { Watch } from '@kubernetes/client-node';
import { Queue, Worker, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { freshNamespace, kube } from '../support/kube.ts';
import { eventually } from '../support/wait.ts';

const k = kube();

describe('local control plane', () => {
  it('creates a pod, watches it arrive, scheduled to a Node and started by kwok (Pending → Running, Ready)', async () => {
    const ns = await freshNamespace(k, 'smoke');
    const seen: { type: string; phase?: string; ready?: string }[] = [];
    const ctrl = await new Watch(k.kc).watch(
      `/api/v1/namespaces/${ns}/pods`,
      {},
      (type, obj: { status?: { phase?: string; conditions?: { type: string; status: string }[] } }) => {
        seen.push({
          type,
          phase: obj.status?.phase,
          ready: obj.status?.conditions?.find((c) => c.type === 'Ready')?.status,
        });
      },
      () => undefined,
    );
    try {
      await k.core.createNamespacedPod({
        namespace: ns,
        body: {
          metadata: { name: 'nginx', labels: { role: 'frontend' } },
          spec: { containers: [{ name: 'nginx', image: 'nginx:1.27' }] },
        },
      });
      await eventually('the pod ADDED on the watch', async () => seen.some((e) => e.type === 'ADDED'));
      await eventually('the Running/Ready status on the watch', async () =>
        seen.some((e) => e.type === 'MODIFIED' && e.phase === 'Running' && e.ready === 'True'),
      );
      expect(seen[0]?.phase).toBe('Pending');
      const pod = await k.core.readNamespacedPod({ namespace: ns, name: 'nginx' });
      expect(pod.spec?.nodeName).toMatch(/^kwok-node-/); // bound by kube-scheduler
      expect(pod.status?.podIP).toMatch(/^10\.244\./); // from kwok's pod CIDR
    } finally {
      ctrl.abort();
    }
  });

  it('enforces RBAC: a ServiceAccount without a binding may not list pods', async () => {
    const ns = await freshNamespace(k, 'rbac');
    const review = await k.kc
      .makeApiClient((await import('@kubernetes/client-node')).AuthorizationV1Api)
      .createSubjectAccessReview({
        body: {
          spec: {
            user: `system:serviceaccount:${ns}:nobody`,
            resourceAttributes: { namespace: ns, verb: 'list', resource: 'pods' },
          },
        },
      });
    expect(review.status?.allowed).toBe(false);
  });
});

describe('local redis-server', () => {
  const connection = new Redis(inject('redisUrl'), { maxRetriesPerRequest: null });
  const name = `smoke-${Date.now()}`;
  const queue = new Queue(name, { connection });
  afterAll(async () => {
    await queue.obliterate({ force: true });
    await queue.close();
    connection.disconnect();
  });

  it('pushes a BullMQ job and a worker pops it', async () => {
    await queue.add('event', { type: 'ADDED', name: 'nginx' });
    let worker: Worker | undefined;
    const got = await new Promise<Job>((resolve) => {
      worker = new Worker(name, async (job) => resolve(job), { connection: connection.duplicate() });
    });
    await worker?.close();
    expect(got.data).toEqual({ type: 'ADDED', name: 'nginx' });
  });
});
