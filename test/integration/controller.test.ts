// The Controller in-process, with its parts handed in, against the real API server: the test
// plays the watchers (it feeds handleJob) and the work loop (it calls reconcile), as
// sample-controller's tests drive its syncHandler, but with a real kube-apiserver, not a fake.
import { createLogger, loadHandlerConfig, stripObject, type QueueJob } from '../../packages/shared/src/index.ts';
import type { V1Pod } from '@kubernetes/client-node';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Controller } from '../../apps/handler/src/control/controller.ts';
import { DecisionQueue } from '../../apps/handler/src/control/decision-queue.ts';
import { kubeActions } from '../../apps/handler/src/kube/kube-client.ts';
import { handlerMetrics, type HandlerMetrics } from '../../apps/handler/src/metrics/metrics.ts';
import { Store } from '../../apps/handler/src/model/store.ts';
import { freshNamespace, kube, suffix } from '../support/kube.ts';
import {
  createCrit,
  createRealPod,
  createService,
  createTemplate,
  defaultPods,
  deleteCrit,
  pods,
} from '../support/objects.ts';
import { ensureCrd } from '../support/pipeline.ts';

const k = kube();
const running: { c?: Controller; crit?: string } = {};

beforeAll(async () => {
  await ensureCrd(k);
});
afterEach(async () => {
  await running.c?.stop();
  if (running.crit) await deleteCrit(k, running.crit);
  running.c = undefined;
  running.crit = undefined;
});

/** A namespace with the template, a CriticalService covering role=frontend, and a synced Controller. */
async function setUp(prefix: string): Promise<{ ns: string; c: Controller; store: Store; metrics: HandlerMetrics }> {
  const ns = await freshNamespace(k, prefix);
  await createTemplate(k, ns);
  running.crit = `${prefix}-${suffix()}`;
  await createCrit(k, running.crit, { namespace: ns, matchLabels: [{ key: 'role', value: 'frontend' }] });
  const cfg = loadHandlerConfig({
    NAMESPACES: ns,
    POD_TEMPLATE_NAMESPACE: ns,
    HEALTHY_GRACE_SECONDS: '0',
    STATUS_FLUSH_MS: '200',
  });
  const store = new Store();
  // Never run: the test decides when a Service is reconciled.
  const queue = new DecisionQueue();
  const metrics = handlerMetrics();
  const c = new Controller(cfg, kubeActions(k.kc), createLogger('silent', 'handler'), metrics, { store, queue });
  running.c = c;
  return { ns, c, store, metrics };
}

/** The value of a counter with these labels, as /metrics would show it. */
async function counter(metrics: HandlerMetrics, name: string, labels: string): Promise<number> {
  const text = await metrics.registry.getSingleMetricAsString(name);
  return Number(new RegExp(`${name}\\{${labels}\\} (\\d+)`).exec(text)?.[1] ?? 0);
}

const podEvent = (type: 'ADDED' | 'MODIFIED' | 'DELETED', pod: V1Pod): QueueJob => ({
  kind: 'Pod',
  type,
  object: stripObject('Pod', JSON.parse(JSON.stringify(pod))),
  seenAt: Date.now(),
});

describe('Controller.reconcile against the API server', () => {
  it('a lame critical Service: the default pod is created; once a real pod is seen, it is deleted', async () => {
    const { ns, c, store, metrics } = await setUp('ctl-lame');
    await createService(k, ns, 'frontend', { labels: { role: 'frontend' }, selector: { app: 'web' } });
    await c.sync(AbortSignal.timeout(30_000));
    expect(store.services.has(`${ns}/frontend`)).toBe(true);
    await c.reconcile(`${ns}/frontend`);
    const [created] = await defaultPods(k, ns);
    expect(created?.metadata?.name).toBe('service-watcher-frontend');
    expect(created?.metadata?.labels).toMatchObject({
      app: 'web',
      'app.kubernetes.io/managed-by': 'critsvc',
      'critsvc.mycrd.com/service': 'frontend',
    });

    // The watchers would bring these: our pod, then a real one.
    c.handleJob(podEvent('ADDED', created!));
    const real = await createRealPod(k, ns, 'web-1', { app: 'web' });
    c.handleJob(podEvent('ADDED', real));
    await c.reconcile(`${ns}/frontend`);
    expect(await defaultPods(k, ns)).toEqual([]);
    // Every decision counted, by whether it wanted a default pod.
    expect([
      await counter(metrics, 'critsvc_decisions_total', 'wanted="true"'),
      await counter(metrics, 'critsvc_decisions_total', 'wanted="false"'),
    ]).toEqual([1, 1]);
  });

  it("a queue job dressing a user's pod as ours: reconcile deletes nothing and repairs the state", async () => {
    const { ns, c, store } = await setUp('ctl-forged');
    await createService(k, ns, 'frontend', { labels: { role: 'frontend' }, selector: { app: 'web' } });
    const real = await createRealPod(k, ns, 'web-1', { app: 'web' });
    const victim = await createRealPod(k, ns, 'victim', { app: 'db' });
    await c.sync(AbortSignal.timeout(30_000));
    // A second "default pod" of frontend, which decide() would delete as a duplicate.
    c.handleJob({
      kind: 'Pod',
      type: 'ADDED',
      seenAt: Date.now(),
      object: {
        metadata: {
          name: 'victim',
          namespace: ns,
          uid: victim.metadata?.uid,
          resourceVersion: '999999999',
          labels: { app: 'web', 'app.kubernetes.io/managed-by': 'critsvc', 'critsvc.mycrd.com/service': 'frontend' },
          annotations: { 'service-watcher': 'owned' },
        },
        status: { phase: 'Running' },
      },
    });
    expect(store.get('Pod', `${ns}/victim`)).toMatchObject({ owned: true });
    await c.reconcile(`${ns}/frontend`);
    const after = await pods(k, ns);
    expect(after.map((p) => `${p.metadata?.name}/${p.metadata?.resourceVersion}`).sort()).toEqual(
      [real, victim].map((p) => `${p.metadata?.name}/${p.metadata?.resourceVersion}`).sort(),
    );
    // The live object said otherwise: the state holds what the API server holds.
    expect(store.get('Pod', `${ns}/victim`)).toMatchObject({
      owned: false,
      resourceVersion: victim.metadata?.resourceVersion,
    });
  });

  it("a fast-path message, then its job: the failover is decided on the message, the job finds nothing new; a list's job or marker on the fast path is refused", async () => {
    const { ns, c, store, metrics } = await setUp('ctl-fast');
    await createService(k, ns, 'frontend', { labels: { role: 'frontend' }, selector: { app: 'web' } });
    const real = await createRealPod(k, ns, 'web-1', { app: 'web' });
    await createRealPod(k, ns, 'other', { app: 'db' });
    await c.sync(AbortSignal.timeout(30_000));
    // A marker that would remove every pod listed before it, and a listed ADDED: the fast path
    // never takes them (a marker counts a list's jobs in order; a forged one would empty the state).
    const asOf = String(BigInt(store.podsAsOf(ns) ?? '0') + 1000n);
    expect(
      c.handleFastPath({ kind: 'Pod', type: 'SYNCED', scope: ns, resourceVersion: asOf, keys: [], seenAt: Date.now() }),
    ).toBe('invalid');
    expect(c.handleFastPath({ ...podEvent('ADDED', real), list: 'abcdefgh' })).toBe('invalid');
    expect(store.get('Pod', `${ns}/other`)).toBeDefined();

    await k.core.deleteNamespacedPod({ namespace: ns, name: 'web-1', gracePeriodSeconds: 0 });
    const gone = podEvent('DELETED', real);
    expect(c.handleFastPath(gone)).toBe('applied');
    expect(store.get('Pod', `${ns}/web-1`)).toBeUndefined();
    expect(c.handleFastPath(gone)).toBe('known');
    c.handleJob(gone);
    expect(
      await counter(metrics, 'critsvc_events_processed_total', 'kind="Pod",type="DELETED",outcome="unchanged"'),
    ).toBe(1);
    await c.reconcile(`${ns}/frontend`);
    expect((await defaultPods(k, ns)).map((p) => p.metadata?.name)).toEqual(['service-watcher-frontend']);
  });

  it("a pod job with a resourceVersion from the future: the live check falls back to a quorum read, the lame Service gets its default pod, and the next read is at the API server's version", async () => {
    const { ns, c, store } = await setUp('ctl-future');
    await createService(k, ns, 'frontend', { labels: { role: 'frontend' }, selector: { app: 'web' } });
    const real = await createRealPod(k, ns, 'web-1', { app: 'web' });
    await c.sync(AbortSignal.timeout(30_000));
    await k.core.deleteNamespacedPod({ namespace: ns, name: 'web-1', gracePeriodSeconds: 0 });
    const forged = JSON.parse(JSON.stringify(real)) as V1Pod;
    forged.metadata!.resourceVersion = '999999999999';
    c.handleJob(podEvent('DELETED', forged));
    expect(store.podsAsOf(ns)).toBe('999999999999');
    await c.reconcile(`${ns}/frontend`);
    expect((await defaultPods(k, ns)).map((p) => p.metadata?.name)).toEqual(['service-watcher-frontend']);
    expect(BigInt(store.podsAsOf(ns) ?? '0')).toBeLessThan(999999999999n);
  });

  it('a relist is the truth: objects only the queue told of, whatever version they claim (future, not a number), are gone after it', async () => {
    const { ns, c, store } = await setUp('ctl-relist');
    await createService(k, ns, 'frontend', { labels: { role: 'frontend' }, selector: { app: 'web' } });
    await c.sync(AbortSignal.timeout(30_000));
    const ghost = (name: string, rv: string): QueueJob => ({
      kind: 'Pod',
      type: 'ADDED',
      seenAt: Date.now(),
      object: {
        metadata: { name, namespace: ns, uid: `u-${name}`, resourceVersion: rv, labels: { app: 'web' } },
        status: { phase: 'Running', podIP: '10.0.0.9', conditions: [{ type: 'Ready', status: 'True' }] },
      },
    });
    c.handleJob(ghost('ghost-future', '999999999999'));
    c.handleJob(ghost('ghost-nan', 'not-a-version'));
    c.handleJob({
      kind: 'Service',
      type: 'ADDED',
      seenAt: Date.now(),
      object: {
        metadata: {
          name: 'ghost-svc',
          namespace: ns,
          uid: 'u-g',
          resourceVersion: 'not-a-version',
          labels: { role: 'frontend' },
        },
        spec: { selector: { app: 'x' } },
      },
    });
    expect(store.get('Pod', `${ns}/ghost-nan`)).toBeDefined();
    await c.relist('periodic');
    expect(store.get('Pod', `${ns}/ghost-future`)).toBeUndefined();
    expect(store.get('Pod', `${ns}/ghost-nan`)).toBeUndefined();
    expect(store.get('Service', `${ns}/ghost-svc`)).toBeUndefined();
    expect(store.get('Service', `${ns}/frontend`)).toBeDefined();
  });
});
