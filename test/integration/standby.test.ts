// Hot standby (spec.defaultPod.hotStandby): a warm pod waits, Ready, outside the Service's
// selector; when the Service turns lame it is relabelled into it (one PATCH, no pod start) and a
// new warm pod is started behind it. On the full local cluster, every default pod taking 2 s to
// start (kwok), judged by an independent EndpointSlice watch.
import { PatchStrategy, setHeaderOptions, type V1Pod } from '@kubernetes/client-node';
import { Queue } from 'bullmq';
import { describe, expect, it } from 'vitest';
import { EndpointWatch } from '../support/endpoint-watch.ts';
import { freshNamespace, kube, suffix } from '../support/kube.ts';
import { createCrit, createRealPod, createService, critStatus, defaultPods, events, pods } from '../support/objects.ts';
import { pipelineHarness } from '../support/harness.ts';
import { Pipeline } from '../support/pipeline.ts';
import { eventually, stays } from '../support/wait.ts';

const k = kube();
const h = pipelineHarness(k);
const STANDBY = 'critsvc.mycrd.com/standby';
const OWNED_LABELS = { 'app.kubernetes.io/managed-by': 'critsvc', 'critsvc.mycrd.com/service': 'frontend' };

const isReady = (p: V1Pod): boolean =>
  p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
const warmPods = async (ns: string): Promise<V1Pod[]> =>
  (await defaultPods(k, ns)).filter((p) => p.metadata?.labels?.[STANDBY] === 'true');
const servingPods = async (ns: string): Promise<V1Pod[]> =>
  (await defaultPods(k, ns)).filter((p) => p.metadata?.labels?.[STANDBY] === undefined);

/** The template of the default pods, each taking `startDelay` to become Ready (kwok reads the pod annotation). */
async function slowTemplate(ns: string, startDelay: string): Promise<void> {
  await k.core.createNamespacedPodTemplate({
    namespace: ns,
    body: {
      metadata: { name: 'critical-service-pod-template' },
      template: {
        metadata: { labels: { from: 'template', app: 'web' }, annotations: { 'critsvc.test/start-delay': startDelay } },
        spec: {
          terminationGracePeriodSeconds: 1,
          containers: [{ name: 'maintenance', image: 'nginx:1.27-alpine', ports: [{ containerPort: 80 }] }],
        },
      },
    },
  });
}

async function setup(prefix: string, hotStandby: boolean): Promise<{ ns: string; crit: string; ep: EndpointWatch }> {
  const ns = await freshNamespace(k, prefix);
  await slowTemplate(ns, '2s');
  h.pipeline = await Pipeline.start({
    namespaces: [ns],
    redisUrl: h.redis.url,
    templateNamespace: ns,
    env: { HEALTHY_GRACE_SECONDS: '1' },
  });
  await createService(k, ns, 'frontend', { labels: { role: 'frontend' }, selector: { app: 'web' }, targetPort: 80 });
  await createRealPod(k, ns, 'web-1', { app: 'web' });
  const ep = await EndpointWatch.start(k.kc, ns, 'frontend');
  const crit = `${prefix}-${suffix()}`;
  h.crits.push(crit);
  await createCrit(k, crit, {
    namespace: ns,
    matchLabels: [{ key: 'role', value: 'frontend' }],
    defaultPod: { hotStandby },
  });
  return { ns, crit, ep };
}

describe('hot standby', () => {
  it('a warm pod waits Ready outside the selector; on lameness that very pod serves (no start on the path), and a new one waits behind it', async () => {
    const { ns, crit, ep } = await setup('standby', true);
    try {
      const warm = await eventually('a warm pod, Ready', async () => (await warmPods(ns)).find(isReady), 30_000);
      // The template's app=web would put it in the Service: it must stay out until promoted.
      expect(warm.metadata?.labels?.app).toBeUndefined();
      expect(warm.metadata?.name).toMatch(/^service-watcher-frontend-standby-[a-z0-9]{5}$/);
      await stays('the warm pod serves nobody while real pods do', async () => ep.readyNow.join() === 'web-1', 1_500);
      const status = await eventually('status counts the warm pod apart', async () => {
        const s = await critStatus(k, crit);
        return s?.standbyPodCount === 1 ? s : undefined;
      });
      expect({ defaults: status.defaultPodCount, standbys: status.standbyPods }).toEqual({
        defaults: 0,
        standbys: [`${ns}/${warm.metadata?.name}`],
      });

      const deleted = Date.now();
      await k.core.deleteNamespacedPod({ namespace: ns, name: 'web-1', gracePeriodSeconds: 0 });
      const back = await eventually(
        'the warm pod as the ready endpoint',
        async () => ep.firstAt((r) => r.includes(warm.metadata?.name ?? '?'), deleted),
        30_000,
      );
      const lost = ep.firstAt((r) => r.length === 0, deleted);
      console.log(
        `[standby] outage window with hot standby (default pods start in 2 s): ${lost === undefined ? 'none' : `${back - lost} ms`}`,
      );
      const serving = await servingPods(ns);
      // The same pod (uid), started before the outage: promoted, not created.
      expect(serving.map((p) => p.metadata?.uid)).toEqual([warm.metadata?.uid]);
      expect(serving[0]?.metadata?.labels?.app).toBe('web');
      const next = await eventually(
        'a new warm pod behind it, Ready',
        async () => (await warmPods(ns)).find((p) => isReady(p) && p.metadata?.uid !== warm.metadata?.uid),
        30_000,
      );
      expect(ep.readyNow).toEqual([warm.metadata?.name]);
      expect((await events(k, ns)).some((e) => e.reason === 'DefaultPodPromoted' && e.object === 'frontend')).toBe(
        true,
      );

      // Real pods back: the promoted pod goes (it is a default pod now), the new warm pod stays.
      await createRealPod(k, ns, 'web-2', { app: 'web' });
      await eventually('the promoted pod deleted', async () => (await servingPods(ns)).length === 0, 30_000);
      expect((await warmPods(ns)).map((p) => p.metadata?.uid)).toEqual([next.metadata?.uid]);
      expect(ep.zeroWindows(back), 'zero-endpoint windows during the hand-back').toEqual([]);
    } finally {
      ep.stop();
    }
  });

  it('turned off: the warm pod goes; a lame Service then waits for a cold create', async () => {
    const { ns, crit, ep } = await setup('standby-off', true);
    ep.stop();
    await eventually('a warm pod', async () => (await warmPods(ns)).length === 1, 30_000);
    await k.custom.patchClusterCustomObject(
      {
        group: 'mycrd.com',
        version: 'v1',
        plural: 'criticalservices',
        name: crit,
        body: { spec: { defaultPod: { hotStandby: false } } },
      },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    await eventually('the warm pod deleted', async () => (await warmPods(ns)).length === 0, 30_000);
    await k.core.deleteNamespacedPod({ namespace: ns, name: 'web-1', gracePeriodSeconds: 0 });
    const cold = await eventually('a default pod created', async () => (await servingPods(ns))[0], 30_000);
    expect(cold.metadata?.name).toBe('service-watcher-frontend');
    await stays('no warm pod', async () => (await warmPods(ns)).length === 0, 1_500);
  });

  it("a forged job saying a foreign pod is our warm pod: the promotion's live checks refuse it, the pod is untouched", async () => {
    // No template: the lame Service cannot get a cold default pod, so a promotion is all the handler could do.
    const ns = await freshNamespace(k, 'standby-forged');
    h.pipeline = await Pipeline.start({ namespaces: [ns], redisUrl: h.redis.url, templateNamespace: ns });
    await createService(k, ns, 'frontend', { labels: { role: 'frontend' }, selector: { app: 'web' } });
    const victim = await createRealPod(k, ns, 'victim', { app: 'db', ...OWNED_LABELS, [STANDBY]: 'true' });
    const crit = `standby-forged-${suffix()}`;
    h.crits.push(crit);
    await createCrit(k, crit, {
      namespace: ns,
      matchLabels: [{ key: 'role', value: 'frontend' }],
      defaultPod: { hotStandby: true },
    });
    await eventually('the Service seen lame', async () => (await critStatus(k, crit))?.lameCount === 1, 15_000);
    const before = (await pods(k, ns)).map((p) => `${p.metadata?.name}/${p.metadata?.resourceVersion}`);

    const queue = new Queue(h.pipeline.queue, { connection: { host: '127.0.0.1', port: h.redis.port } });
    try {
      // The victim carries the labels but not the annotation: dressed up here as our warm pod.
      await queue.add('Pod:MODIFIED', {
        kind: 'Pod',
        type: 'MODIFIED',
        seenAt: Date.now(),
        object: {
          metadata: {
            name: 'victim',
            namespace: ns,
            uid: victim.metadata?.uid,
            resourceVersion: '999999999',
            labels: victim.metadata?.labels,
            annotations: { 'service-watcher': 'owned' },
          },
          status: { phase: 'Running', podIP: '10.0.0.9', conditions: [{ type: 'Ready', status: 'True' }] },
        },
      });
    } finally {
      await queue.close();
    }
    await eventually(
      'the promotion refused',
      async () =>
        h.pipeline
          ?.logs('handler')
          .some(
            (l) => l.msg === 'warm pod not promoted; the state takes the live pod and the Service is decided again',
          ),
      15_000,
    );
    expect(h.pipeline.logs('handler').find((l) => l.msg.startsWith('warm pod not promoted'))?.result).toBe('refused');
    await stays(
      'the victim untouched',
      async () =>
        (await pods(k, ns)).map((p) => `${p.metadata?.name}/${p.metadata?.resourceVersion}`).join() === before.join(),
      3_000,
    );
  });
});
