// The live check's reads against the real API server: at the version the state reflects they are
// answered from the watch cache at once; a consistent read would wait for etcd's progress
// notification (up to 100 ms) whenever the newest write went to another resource, as it always
// does in a busy cluster. A forged version never changes an answer.
import { requestJson } from '../../packages/shared/src/index.ts';
import { describe, expect, it } from 'vitest';
import { kubeActions } from '../../apps/handler/src/kube/kube-client.ts';
import { LIVE_PAGE } from '../../apps/handler/src/kube/kube-reads.ts';
import { freshNamespace, kube } from '../support/kube.ts';
import { createRealPod, createService } from '../support/objects.ts';

const k = kube();
const kube$ = kubeActions(k.kc);

/** kube-apiserver's count of consistent pod reads served by its watch cache (each waits until the cache is current). */
async function consistentPodReads(): Promise<number> {
  const { body } = await requestJson(k.kc, 'GET', '/metrics');
  let n = 0;
  for (const line of String(body).split('\n')) {
    if (line.startsWith('apiserver_watch_cache_consistent_read_total{') && line.includes('resource="pods"'))
      n += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return n;
}

/** A write to another resource: etcd's newest revision is then not a pod. */
async function unrelatedWrite(ns: string, i: number): Promise<void> {
  await requestJson(k.kc, 'POST', `/api/v1/namespaces/${ns}/configmaps`, { body: { metadata: { name: `bump-${i}` } } });
}

describe('the live check reads', () => {
  it("at the state's version: pods listed from the watch cache, without a consistent read waiting on etcd", async () => {
    const ns = await freshNamespace(k, 'live-fresh');
    await createRealPod(k, ns, 'web-1', { app: 'web' });
    const first = await kube$.listPods(ns, 'app=web');
    const rounds = 5;
    const before = await consistentPodReads();
    for (let i = 0; i < rounds; i++) {
      await unrelatedWrite(ns, i);
      const listed = await kube$.listPods(ns, 'app=web', first.resourceVersion);
      expect(listed.items.map((p) => p.metadata?.name)).toEqual(['web-1']);
      expect(BigInt(listed.resourceVersion)).toBeGreaterThanOrEqual(BigInt(first.resourceVersion));
    }
    // Without a version each of these lists is one consistent read; other clients may add a few.
    expect((await consistentPodReads()) - before).toBeLessThan(rounds);
  });

  it('a version from the future (a forged job) or a malformed one: the read is taken again as a quorum read, and answers the truth', async () => {
    const ns = await freshNamespace(k, 'live-forged');
    const svc = await createService(k, ns, 'frontend', { selector: { app: 'web' } });
    await createRealPod(k, ns, 'web-1', { app: 'web' });
    for (const rv of ['999999999999', 'not-a-version']) {
      const listed = await kube$.listPods(ns, 'app=web', rv);
      expect(listed.items.map((p) => p.metadata?.name)).toEqual(['web-1']);
      expect(BigInt(listed.resourceVersion)).toBeLessThan(999999999999n);
      expect((await kube$.readService(ns, 'frontend', rv))?.metadata?.uid).toBe(svc.metadata?.uid);
      expect(await kube$.readService(ns, 'absent', rv)).toBeUndefined();
    }
  });

  it("a Service selecting more pods than one page holds: the live check reads every page, at the state's version or as a consistent read", async () => {
    const ns = await freshNamespace(k, 'live-pages');
    // Held before scheduling (a scheduling gate): no node starts them, no controller removes them.
    const held = (i: number) => ({
      metadata: { name: `held-${String(i).padStart(4, '0')}`, labels: { app: 'many' } },
      spec: { schedulingGates: [{ name: 'critsvc.test/hold' }], containers: [{ name: 'app', image: 'nginx:1.27' }] },
    });
    const total = LIVE_PAGE + 20;
    for (let i = 0; i < total; i += 50) {
      await Promise.all(
        Array.from({ length: Math.min(50, total - i) }, (_, j) =>
          requestJson(k.kc, 'POST', `/api/v1/namespaces/${ns}/pods`, { body: held(i + j) }),
        ),
      );
    }
    for (const rv of [undefined, (await kube$.listPods(ns, 'app=many')).resourceVersion]) {
      const listed = await kube$.listPods(ns, 'app=many', rv);
      expect(listed.items).toHaveLength(total);
      expect(new Set(listed.items.map((p) => p.metadata?.name)).size).toBe(total);
    }
  }, 120_000);
});
