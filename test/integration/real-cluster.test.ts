// What clients of a critical Service see on a small real cluster (kube-controller-manager,
// kube-scheduler, kwok's Nodes): Deployments, readiness, rollouts, a lost node, garbage
// collection and flapping. kwok plays the kubelet; an independent EndpointSlice watch is the
// judge of "no ready endpoint". Figures are printed as `[real-cluster] ...` lines.
import type { V1Deployment, V1Pod } from '@kubernetes/client-node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { EndpointWatch } from '../support/endpoint-watch.ts';
import { freshNamespace, kube, MANUAL, NEVER_READY, setPodStatus, statusOf, suffix } from '../support/kube.ts';
import {
  createCrit,
  createRealPod,
  createService,
  createTemplate,
  critStatus,
  defaultPods,
  deleteCrit,
  pods,
} from '../support/objects.ts';
import { ensureCrd, Pipeline } from '../support/pipeline.ts';
import { PodWatch } from '../support/pod-watch.ts';
import { TestRedis } from '../support/redis.ts';
import { eventually, stays } from '../support/wait.ts';

const k = kube();
let redis: TestRedis;
let pipeline: Pipeline | undefined;
const crits: string[] = [];
const watches: { stop(): void }[] = [];
const DEFAULT_POD = 'service-watcher-frontend';

beforeAll(async () => {
  await ensureCrd(k);
  redis = await TestRedis.start();
});
afterEach(async (ctx) => {
  if (ctx.task.result?.state === 'fail' && pipeline) console.error(pipeline.tail());
  for (const w of watches.splice(0)) w.stop();
  await pipeline?.stop();
  pipeline = undefined;
  for (const c of crits.splice(0)) await deleteCrit(k, c);
});
afterAll(async () => {
  await redis?.stop();
});

function report(line: string): void {
  console.log(`[real-cluster] ${line}`);
}

/**
 * A namespace with the PodTemplate, a Service `frontend` selecting app=web, the pipeline, and a
 * CriticalService covering the Service, created after `before` (which starts the real pods, so
 * that the Service is healthy from the moment it is critical).
 */
async function setup(
  prefix: string,
  before?: (ns: string) => Promise<void>,
  templateNamespace?: string,
): Promise<{ ns: string; crit: string }> {
  const ns = await freshNamespace(k, prefix);
  await createTemplate(k, templateNamespace ?? ns);
  pipeline = await Pipeline.start({
    namespaces: [ns],
    redisUrl: redis.url,
    templateNamespace: templateNamespace ?? ns,
  });
  await createService(k, ns, 'frontend', { labels: { role: 'frontend' }, selector: { app: 'web' }, targetPort: 80 });
  await before?.(ns);
  const crit = `${prefix}-${suffix()}`;
  crits.push(crit);
  await createCrit(k, crit, { namespace: ns, matchLabels: [{ key: 'role', value: 'frontend' }] });
  return { ns, crit };
}

interface DeploymentOpts {
  replicas: number;
  /** Pod annotations (e.g. NEVER_READY, or a kwok start delay). */
  annotations?: Record<string, string>;
  maxUnavailable?: string;
  nodeName?: string;
}

function deployment(name: string, o: DeploymentOpts): V1Deployment {
  return {
    metadata: { name },
    spec: {
      replicas: o.replicas,
      selector: { matchLabels: { app: 'web' } },
      ...(o.maxUnavailable
        ? { strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: o.maxUnavailable, maxSurge: 0 } } }
        : {}),
      template: {
        metadata: { labels: { app: 'web' }, annotations: o.annotations ?? {} },
        spec: {
          terminationGracePeriodSeconds: 2,
          containers: [{ name: 'web', image: 'nginx:1.27', ports: [{ containerPort: 80 }] }],
          ...(o.nodeName ? { nodeSelector: { 'kubernetes.io/hostname': o.nodeName } } : {}),
        },
      },
    },
  };
}

const isReady = (p: V1Pod): boolean =>
  p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
const realPods = async (ns: string): Promise<V1Pod[]> =>
  (await pods(k, ns)).filter(
    (p) => p.metadata?.labels?.app === 'web' && !p.metadata.labels['app.kubernetes.io/managed-by'],
  );

async function readyDefaultPod(ns: string): Promise<V1Pod> {
  return eventually('the default pod Ready', async () => (await defaultPods(k, ns)).find(isReady));
}

async function scale(ns: string, replicas: number): Promise<void> {
  await k.apps.patchNamespacedDeploymentScale({
    namespace: ns,
    name: 'web',
    body: [{ op: 'replace', path: '/spec/replicas', value: replicas }],
  });
}

async function patchPodTemplateAnnotations(ns: string, annotations: Record<string, string>): Promise<void> {
  await k.apps.patchNamespacedDeployment({
    namespace: ns,
    name: 'web',
    body: [{ op: 'replace', path: '/spec/template/metadata/annotations', value: annotations }],
  });
}

const ms = (n: number | undefined): string => (n === undefined ? 'n/a' : `${Math.round(n)} ms`);

describe('lame means "no ready endpoint"; make before break', () => {
  it('a Deployment scaled 1 → 0 → 1: default pod while none is Ready, handed back with no zero-endpoint gap', async () => {
    // Every pod takes 2 s to start (kwok): the default pod must outlive the replacement's start.
    const { ns } = await setup('deploy', async (n) => {
      await k.apps.createNamespacedDeployment({
        namespace: n,
        body: deployment('web', { replicas: 1, annotations: { 'critsvc.test/start-delay': '2s' } }),
      });
      await eventually("the Deployment's pod Ready", async () => (await realPods(n)).some(isReady), 30_000);
    });
    const ep = await EndpointWatch.start(k.kc, ns, 'frontend');
    watches.push(ep);
    await eventually(
      "the Deployment's pod as the ready endpoint",
      async () => ep.readyNow.length === 1 && !ep.readyNow[0]?.startsWith('service-watcher'),
      30_000,
    );
    await stays(
      'no default pod while the Service is healthy',
      async () => (await defaultPods(k, ns)).length === 0,
      1_000,
    );

    const scaledDown = Date.now();
    await scale(ns, 0);
    await readyDefaultPod(ns);
    const lostAt = ep.firstAt((r) => r.length === 0, scaledDown);
    const backAt = await eventually('the default pod as the ready endpoint', async () =>
      ep.firstAt((r) => r.includes(DEFAULT_POD), scaledDown),
    );
    report(
      `scale 1→0: outage window (last ready endpoint gone → default pod's endpoint ready) ${ms(lostAt === undefined ? undefined : backAt - lostAt)}`,
    );

    const scaledUp = Date.now();
    await scale(ns, 1);
    // While the new pod is Pending or starting, the default pod stays.
    const starting = await eventually('the new pod, not Ready yet', async () =>
      (await realPods(ns)).find((p) => !isReady(p)),
    );
    expect(starting).toBeDefined();
    expect((await defaultPods(k, ns)).map((p) => p.metadata?.name)).toEqual([DEFAULT_POD]);
    await eventually('the new pod Ready', async () => (await realPods(ns)).some(isReady), 30_000);
    await eventually(
      'the default pod deleted after the new pod is Ready',
      async () => (await defaultPods(k, ns)).length === 0,
      30_000,
    );
    await eventually(
      "the default pod's endpoint gone",
      async () => ep.readyNow.length === 1 && !ep.readyNow.includes(DEFAULT_POD),
      30_000,
    );
    const both = ep.firstAt((r) => r.length === 2, scaledUp);
    report(
      `scale 0→1: both endpoints ready for ${ms(both === undefined ? undefined : (ep.firstAt((r) => !r.includes(DEFAULT_POD), both) ?? Date.now()) - both)} before the default pod left`,
    );
    expect(ep.zeroWindows(backAt), 'zero-endpoint windows during the hand-back').toEqual([]);
  });

  it('a crash loop (pods Running, never Ready) gets a default pod', async () => {
    const { ns, crit } = await setup('crashloop');
    await k.apps.createNamespacedDeployment({
      namespace: ns,
      body: deployment('web', { replicas: 2, annotations: NEVER_READY }),
    });
    await eventually('two pods Running but not Ready', async () => {
      const ps = await realPods(ns);
      return ps.length === 2 && ps.every((p) => p.status?.phase === 'Running' && !isReady(p));
    });
    await readyDefaultPod(ns);
    const status = await eventually('status: 1 lame Service with its default pod', async () => {
      const s = await critStatus(k, crit);
      return s?.defaultPodCount === 1 && s.lameCount === 1 ? s : undefined;
    });
    expect(status.lameServices).toEqual([`${ns}/frontend`]);
  });

  it('a rollout to a version that never becomes Ready (maxUnavailable 100%): default pod the whole time; rollback hands back with no gap', async () => {
    const { ns } = await setup('rollout', async (n) => {
      await k.apps.createNamespacedDeployment({
        namespace: n,
        body: deployment('web', { replicas: 2, maxUnavailable: '100%' }),
      });
      await eventually('two pods Ready', async () => (await realPods(n)).filter(isReady).length === 2, 30_000);
    });
    const ep = await EndpointWatch.start(k.kc, ns, 'frontend');
    watches.push(ep);
    await eventually('two ready endpoints', async () => ep.readyNow.length === 2, 30_000);

    const rolled = Date.now();
    await patchPodTemplateAnnotations(ns, NEVER_READY);
    const dp = await readyDefaultPod(ns);
    const backAt = await eventually('the default pod as the ready endpoint', async () =>
      ep.firstAt((r) => r.includes(DEFAULT_POD), rolled),
    );
    const lostAt = ep.firstAt((r) => r.length === 0, rolled);
    report(`rollout to never-Ready: outage window ${ms(lostAt === undefined ? undefined : backAt - lostAt)}`);
    await eventually("the new version's pods Running, not Ready", async () => {
      const ps = (await realPods(ns)).filter((p) => !p.metadata?.deletionTimestamp);
      return ps.length === 2 && ps.every((p) => p.status?.phase === 'Running' && !isReady(p));
    });
    await stays(
      'the same default pod, throughout the stuck rollout',
      async () => (await defaultPods(k, ns)).map((p) => p.metadata?.uid).join() === dp.metadata?.uid,
      6_000,
    );

    await patchPodTemplateAnnotations(ns, {}); // rollback
    await eventually(
      'two ready real pods again',
      async () => (await realPods(ns)).filter((p) => isReady(p) && !p.metadata?.deletionTimestamp).length === 2,
      30_000,
    );
    await eventually('the default pod deleted', async () => (await defaultPods(k, ns)).length === 0, 30_000);
    await eventually(
      "the default pod's endpoint gone",
      async () => !ep.readyNow.includes(DEFAULT_POD) && ep.readyNow.length === 2,
      30_000,
    );
    expect(ep.zeroWindows(backAt), 'zero-endpoint windows from the fallback to the end of the rollback').toEqual([]);
  });

  it('readiness flapping 20 times in 10 s: one default pod, created once and deleted once', async () => {
    const { ns } = await setup('flap', async (n) => {
      // MANUAL: the test flips readiness itself, at exact times kwok would not give.
      await k.core.createNamespacedPod({
        namespace: n,
        body: {
          metadata: { name: 'flappy', labels: { app: 'web' }, annotations: MANUAL },
          spec: { containers: [{ name: 'web', image: 'nginx:1.27' }], terminationGracePeriodSeconds: 0 },
        },
      });
      await setPodStatus(k, n, 'flappy', { ready: true });
    });
    await stays('no default pod while the pod is Ready', async () => (await defaultPods(k, ns)).length === 0, 1_500);
    const watch = await PodWatch.start(k, ns);
    watches.push(watch);
    for (let i = 0; i < 20; i++) {
      await setPodStatus(k, ns, 'flappy', { ready: i % 2 === 1 });
      await new Promise((r) => setTimeout(r, 500));
    }
    // Ends Ready; the default pod leaves once the pod has stayed Ready for HEALTHY_GRACE_SECONDS (5 s).
    await eventually(
      'the default pod gone after the flapping',
      async () => (await defaultPods(k, ns)).length === 0,
      30_000,
    );
    await new Promise((r) => setTimeout(r, 1_000));
    const created = watch.seen.filter((e) => e.owned && e.type === 'ADDED').length;
    const deleted = new Set(
      watch.seen.filter((e) => e.owned && (e.terminating || e.type === 'DELETED')).map((e) => e.uid),
    ).size;
    report(`flapping x20 in 10 s: ${created} create(s), ${deleted} delete(s)`);
    expect({ created, deleted }).toEqual({ created: 1, deleted: 1 });
  });
});

describe("the default pod's name", () => {
  it('lame again while the previous default pod is in its grace period (30 s): a new default pod at once, not after the grace period', async () => {
    const { ns } = await setup('reuse', (n) => createTemplate(k, n, 'critical-service-pod-template', 80, 30));
    const first = await readyDefaultPod(ns);
    await createRealPod(k, ns, 'web-1', { app: 'web' });
    await eventually(
      'the default pod terminating (handed back)',
      async () =>
        (await pods(k, ns)).find((p) => p.metadata?.uid === first.metadata?.uid)?.metadata?.deletionTimestamp !==
        undefined,
      30_000,
    );
    const t0 = Date.now();
    await k.core.deleteNamespacedPod({ namespace: ns, name: 'web-1' });
    const second = await eventually(
      'a new default pod Ready',
      async () => (await defaultPods(k, ns)).find((p) => isReady(p) && p.metadata?.uid !== first.metadata?.uid),
      5_000,
    );
    report(
      `lame again during the old default pod's 30 s grace period: new default pod Ready after ${ms(Date.now() - t0)}`,
    );
    expect(second.metadata?.name).toBe(DEFAULT_POD);
    expect(first.spec?.terminationGracePeriodSeconds).toBe(30);
  });
});

describe('owners the garbage collector agrees with', () => {
  async function ownersOf(ns: string): Promise<string> {
    const [p] = await defaultPods(k, ns);
    return (p?.metadata?.ownerReferences ?? [])
      .map((o) => `${o.name}${o.controller ? '*' : ''}`)
      .sort()
      .join();
  }

  it.each([
    ['first', 'the controller owner'],
    ['second', 'the other owner'],
  ])(
    'two CriticalServices cover one Service; deleting the %s (%s) leaves the default pod alone; deleting the last removes it',
    async (which) => {
      const { ns, crit: a } = await setup(`gc-${which}`);
      const dp = await readyDefaultPod(ns);
      const b = `${a}-b`;
      crits.push(b);
      await createCrit(k, b, { namespace: ns, matchLabels: [{ key: 'role', value: 'frontend' }] });
      await eventually(
        'both CriticalServices among the owners',
        async () => (await ownersOf(ns)) === [`${a}*`, b].sort().join(),
      );
      const [gone, last] = which === 'first' ? [a, b] : [b, a];
      await deleteCrit(k, gone);
      await eventually(
        `the remaining CriticalService the only owner, and controller`,
        async () => (await ownersOf(ns)) === `${last}*`,
      );
      await stays(
        'the same default pod (same UID), never terminating',
        async () => {
          const all = (await pods(k, ns)).filter((p) => p.metadata?.name === DEFAULT_POD);
          return all.length === 1 && all[0]?.metadata?.uid === dp.metadata?.uid && !all[0]?.metadata?.deletionTimestamp;
        },
        3_000,
      );
      await deleteCrit(k, last);
      await eventually(
        'the default pod gone',
        async () => (await pods(k, ns)).every((p) => p.metadata?.name !== DEFAULT_POD),
        30_000,
      );
      await stays(
        'and not created again',
        async () => (await pods(k, ns)).every((p) => p.metadata?.name !== DEFAULT_POD),
        3_000,
      );
    },
  );

  it('a namespace holding a default pod finishes deleting', async () => {
    // The template elsewhere: deleting the namespace must not be mistaken for a template problem.
    const { ns } = await setup('nsdel', undefined, await freshNamespace(k, 'nsdel-tmpl'));
    await readyDefaultPod(ns);
    const t0 = Date.now();
    await k.core.deleteNamespace({ name: ns });
    await eventually(
      'the namespace gone',
      async () => {
        try {
          await k.core.readNamespace({ name: ns });
          return false;
        } catch (err) {
          return statusOf(err) === 404;
        }
      },
      90_000,
      500,
    );
    report(`namespace with a default pod deleted in ${ms(Date.now() - t0)}`);
    const blamed = pipeline?.logs('handler').filter((l) => l.reason === 'PodTemplateUnusable') ?? [];
    expect(blamed, "a refusal in a terminating namespace is not the template's fault").toEqual([]);
  });
});

describe('a node lost', () => {
  const node = 'kwok-node-2';
  const label = (value: string | null): Promise<unknown> =>
    k.core.patchNode({
      name: node,
      body: [
        {
          op: value === null ? 'remove' : 'add',
          path: '/metadata/labels/critsvc.test~1kwok',
          ...(value === null ? {} : { value }),
        },
      ],
    });
  afterEach(async () => {
    await label('managed').catch(() => undefined);
  });

  it('its kubelet stops heartbeating → its pods turn not Ready → default pod', async () => {
    const { ns } = await setup('nodelost', async (n) => {
      await k.apps.createNamespacedDeployment({
        namespace: n,
        body: deployment('web', { replicas: 1, nodeName: node }),
      });
      await eventually('the pod Ready on the node', async () => (await realPods(n)).some(isReady), 30_000);
    });
    const ep = await EndpointWatch.start(k.kc, ns, 'frontend');
    watches.push(ep);
    await eventually('the pod on the node as the ready endpoint', async () => ep.readyNow.length === 1, 30_000);
    const stopped = Date.now();
    await label(null); // kwok stops playing this node's kubelet: no more Lease renewals or status
    const notReady = await eventually(
      'the node lifecycle controller marks the pod not Ready',
      async () => {
        const p = (await realPods(ns))[0];
        return p && !isReady(p) ? Date.now() : undefined;
      },
      120_000,
      250,
    );
    const dp = await readyDefaultPod(ns);
    const dpReady = Date.now();
    expect(dp.spec?.nodeName).not.toBe(node);
    await eventually('the default pod as a ready endpoint', async () => ep.readyNow.includes(DEFAULT_POD), 30_000);
    const lostAt = ep.firstAt((r) => !r.some((p) => p.startsWith('web-')), stopped);
    const backAt = ep.firstAt((r) => r.includes(DEFAULT_POD), stopped);
    report(
      `node lost: heartbeat stop → pod not Ready ${ms(notReady - stopped)} (Kubernetes' node-monitor-grace-period, 50 s), → default pod Ready ${ms(dpReady - stopped)}; outage window ${ms(lostAt === undefined || backAt === undefined ? undefined : backAt - lostAt)}; endpoints: ${ep.timeline
        .filter((p) => p.at >= stopped)
        .map((p) => `+${p.at - stopped} ms [${p.ready.join(' ')}]`)
        .join(', ')}`,
    );
  }, 180_000);
});
