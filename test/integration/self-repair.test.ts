// Issue 10: the handler repairs itself when queue data is lost or coalesced, rather than waiting
// for its 300 s resync. Each test runs the four processes as OS processes on the local cluster.
import { RbacAuthorizationV1Api } from '@kubernetes/client-node';
import { Queue } from 'bullmq';
import { describe, expect, it } from 'vitest';
import { freshNamespace, kube, suffix } from '../support/kube.ts';
import {
  createCrit,
  createRealPod,
  createService,
  createTemplate,
  critStatus,
  defaultPods,
  events,
  pods,
} from '../support/objects.ts';
import { pipelineHarness } from '../support/harness.ts';
import { Pipeline } from '../support/pipeline.ts';
import { serviceAccountKubeconfig } from '../support/service-account.ts';
import { TestRedis } from '../support/redis.ts';
import { eventually, stays } from '../support/wait.ts';

const k = kube();
const h = pipelineHarness(k, 30);

/** A namespace with the template and a CriticalService covering role=frontend, and the h.pipeline. */
async function setUp(
  prefix: string,
  env: Record<string, string> = {},
): Promise<{ ns: string; p: Pipeline; crit: string }> {
  const ns = await freshNamespace(k, prefix);
  await createTemplate(k, ns);
  const crit = `${prefix}-${suffix()}`;
  h.crits.push(crit);
  await createCrit(k, crit, { namespace: ns, matchLabels: [{ key: 'role', value: 'frontend' }] });
  h.pipeline = await Pipeline.start({ namespaces: [ns], redisUrl: h.redis.url, templateNamespace: ns, env });
  return { ns, p: h.pipeline, crit };
}

describe('expectations', () => {
  it('a default pod seen only as DELETED (its ADDED coalesced away) is created again at once, not after the resync', async () => {
    const { ns, p } = await setUp('coalesced');
    // The pods watcher is frozen: the handler hears of pods only through what the test pushes.
    p.freeze('watcher-pods', true);
    await createService(k, ns, 'frontend', { labels: { role: 'frontend' }, selector: { app: 'web' } });
    const [first] = await eventually(
      'a default pod',
      async () => {
        const d = await defaultPods(k, ns);
        return d.length ? d : undefined;
      },
      15_000,
    );
    await k.core.deleteNamespacedPod({ namespace: ns, name: first!.metadata!.name!, gracePeriodSeconds: 0 });
    // What the outbox sends when ADDED and DELETED of one pod were pending together.
    const queue = new Queue(p.queue, { connection: { host: '127.0.0.1', port: h.redis.port } });
    try {
      await queue.add('Pod:DELETED', {
        kind: 'Pod',
        type: 'DELETED',
        seenAt: Date.now(),
        object: {
          ...first,
          metadata: { ...first!.metadata, resourceVersion: String(Number(first!.metadata!.resourceVersion) + 1) },
        },
      });
    } finally {
      await queue.close();
    }
    // Well inside the 30 s the expectation would otherwise block the Service for.
    const again = await eventually(
      'the default pod created again',
      async () => {
        const d = await defaultPods(k, ns);
        return d.find((x) => x.metadata?.uid !== first!.metadata?.uid && !x.metadata?.deletionTimestamp);
      },
      10_000,
    );
    expect(again.metadata?.name).toBe(first!.metadata?.name);
  });
});

const createsIn = (metrics: string): number =>
  Number(/critsvc_default_pod_actions_total\{action="create",result="created"\} (\d+)/.exec(metrics)?.[1] ?? 0);

describe('Services critsvc cannot serve', () => {
  it('a selector requiring app.kubernetes.io/managed-by=helm: no create/delete loop, one Warning, the reason in status', async () => {
    const { ns, p, crit } = await setUp('managed-by');
    await createService(k, ns, 'frontend', {
      labels: { role: 'frontend' },
      selector: { app: 'web', 'app.kubernetes.io/managed-by': 'helm' },
    });
    await eventually(
      'a SelectorConflictsWithMarks Event',
      async () =>
        (await events(k, ns)).find((e) => e.reason === 'SelectorConflictsWithMarks' && e.object === 'frontend'),
      15_000,
    );
    const status = await eventually(
      'the blocked Service in status',
      async () => {
        const st = (await critStatus(k, crit)) as
          | { blockedServices?: { service: string; reason: string }[]; conditions?: { type: string; reason: string }[] }
          | undefined;
        return st?.blockedServices?.length ? st : undefined;
      },
      10_000,
    );
    expect(status.blockedServices).toEqual([
      expect.objectContaining({ service: `${ns}/frontend`, reason: 'SelectorConflictsWithMarks' }),
    ]);
    expect(status.conditions?.find((c) => c.type === 'Ready')?.reason).toBe('DefaultPodsBlocked');
    // Past the healthy hold-off (5 s) and a few decisions: still nothing created, one Event.
    await stays('no pod created', async () => (await pods(k, ns)).length === 0, 6_000);
    expect(createsIn(await p.metrics())).toBe(0);
    expect((await events(k, ns)).filter((e) => e.reason === 'SelectorConflictsWithMarks')).toHaveLength(1);
  });
});

describe('status', () => {
  it('lastTransitionTime survives a handler restart', async () => {
    const { ns, p, crit } = await setUp('transition');
    await createService(k, ns, 'frontend', { labels: { role: 'frontend' }, selector: { app: 'web' } });
    await eventually('a default pod', async () => (await defaultPods(k, ns)).length > 0, 15_000);
    const readyOf = async (): Promise<{ status: string; lastTransitionTime?: string } | undefined> =>
      (
        (await critStatus(k, crit))?.conditions as
          { type: string; status: string; lastTransitionTime?: string }[] | undefined
      )?.find((c) => c.type === 'Ready');
    const before = await eventually('Ready=True', async () => {
      const r = await readyOf();
      return r?.status === 'True' ? r : undefined;
    });
    await new Promise((r) => setTimeout(r, 1_500));
    await p.restart('handler');
    await p.waitReady(['handler']);
    // The restarted handler has written the status once (its first flush after the start-up list).
    await eventually(
      'a status write',
      async () => Number(/critsvc_status_writes_total (\d+)/.exec(await p.metrics())?.[1] ?? 0) > 0,
      10_000,
    );
    expect((await readyOf())?.lastTransitionTime).toBe(before.lastTransitionTime);
  });
});

describe('lost queue data', () => {
  it('Redis restarted empty while the handler was behind: the handler notices, lists again, and the lame Service gets its default pod', async () => {
    // Without the fast path: its message for the deletion would wait in the frozen handler's
    // socket and be applied on thaw, before the handler notices the loss (this is about the queue).
    const { ns, p } = await setUp('redis-lost', { FAST_PATH: 'false' });
    // The real pod first: the Service is never lame before the test makes it so.
    await createRealPod(k, ns, 'web-1', { app: 'web' });
    await createService(k, ns, 'frontend', { labels: { role: 'frontend' }, selector: { app: 'web' } });
    await stays('no default pod for the healthy Service', async () => (await defaultPods(k, ns)).length === 0, 1_500);
    // The handler falls behind; the pod's deletion reaches Redis only.
    p.freeze('handler', true);
    await k.core.deleteNamespacedPod({ namespace: ns, name: 'web-1', gracePeriodSeconds: 0 });
    const queue = new Queue(p.queue, { connection: { host: '127.0.0.1', port: h.redis.port } });
    try {
      await eventually(
        'the deletion queued',
        async () => {
          const gone = !(await pods(k, ns)).some((x) => x.metadata?.name === 'web-1');
          const waiting = await queue.getWaitingCount();
          return gone && waiting > 0;
        },
        10_000,
      );
      await new Promise((r) => setTimeout(r, 1_000));
    } finally {
      await queue.close();
    }
    // …and Redis comes back empty: the jobs are lost.
    await h.redis.restart();
    p.freeze('handler', false);
    await eventually('a default pod for the lame Service', async () => (await defaultPods(k, ns)).length > 0, 20_000);
    expect(p.logs('handler').some((l) => l.msg.startsWith("Redis lost the queue's data"))).toBe(true);
    expect(Number(/critsvc_relist_drift_total\{kind="Pod"\} (\d+)/.exec(await p.metrics())?.[1] ?? 0)).toBeGreaterThan(
      0,
    );
    // Its queue worker and work loops came through the Redis restart: alive.
    const live = await fetch(`http://127.0.0.1:${p.procs.handler.port}/healthz`);
    expect([live.status, await live.text()]).toEqual([200, 'ok\n']);
  });
});

/** A ServiceAccount for the handler with rights on pods, Services, templates and Events in `ns` only. */
async function limitedHandler(
  ns: string,
  o: { statusPatch?: boolean } = {},
): Promise<{ sa: string; rbac: RbacAuthorizationV1Api }> {
  const sa = `handler-${suffix()}`;
  await k.core.createNamespacedServiceAccount({ namespace: ns, body: { metadata: { name: sa } } });
  const rbac = k.kc.makeApiClient(RbacAuthorizationV1Api);
  await rbac.createClusterRole({
    body: {
      metadata: { name: sa },
      rules: [
        { apiGroups: ['mycrd.com'], resources: ['criticalservices'], verbs: ['get', 'list', 'watch'] },
        ...(o.statusPatch === false
          ? []
          : [{ apiGroups: ['mycrd.com'], resources: ['criticalservices/status'], verbs: ['patch'] }]),
      ],
    },
  });
  await rbac.createClusterRoleBinding({
    body: {
      metadata: { name: sa },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: sa },
      subjects: [{ kind: 'ServiceAccount', name: sa, namespace: ns }],
    },
  });
  await rbac.createNamespacedRole({
    namespace: ns,
    body: {
      metadata: { name: sa },
      rules: [
        { apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'create', 'delete', 'patch'] },
        { apiGroups: [''], resources: ['services', 'podtemplates'], verbs: ['get', 'list'] },
        { apiGroups: [''], resources: ['events'], verbs: ['create'] },
      ],
    },
  });
  await rbac.createNamespacedRoleBinding({
    namespace: ns,
    body: {
      metadata: { name: sa },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: sa },
      subjects: [{ kind: 'ServiceAccount', name: sa, namespace: ns }],
    },
  });
  return { sa, rbac };
}

describe('a namespace the handler may not read', () => {
  it('does not hold the others back: they are protected, and the CriticalService says which namespace is not', async () => {
    const good = await freshNamespace(k, 'listable');
    const denied = await freshNamespace(k, 'denied');
    await createTemplate(k, good);
    // The handler's ServiceAccount may read CriticalServices everywhere but pods and Services only in `good`.
    const { sa, rbac } = await limitedHandler(good);
    const crit = `listable-${suffix()}`;
    h.crits.push(crit);
    await createCrit(k, crit, { matchLabels: [{ key: 'role', value: 'frontend' }] });
    try {
      h.pipeline = await Pipeline.start({
        namespaces: [good, denied],
        redisUrl: h.redis.url,
        templateNamespace: good,
        kubeconfigs: { handler: await serviceAccountKubeconfig(k, good, sa) },
      });
      await createService(k, good, 'frontend', { labels: { role: 'frontend' }, selector: { app: 'web' } });
      await eventually(
        'a default pod in the listable namespace',
        async () => (await defaultPods(k, good)).length > 0,
        15_000,
      );
      const watched = await eventually(
        'NamespaceWatched=False',
        async () => {
          const c = ((await critStatus(k, crit))?.conditions ?? []).find((x) => x.type === 'NamespaceWatched');
          return c?.status === 'False' ? c : undefined;
        },
        10_000,
      );
      expect(watched.reason).toBe('NamespaceNotListed');
      expect(watched.message).toContain(`namespace ${denied}`);
      expect(watched.message).toMatch(/forbidden/i);
    } finally {
      await rbac.deleteClusterRoleBinding({ name: sa }).catch(() => undefined);
      await rbac.deleteClusterRole({ name: sa }).catch(() => undefined);
    }
  });
});

describe('Events during a template outage', () => {
  it('35 lame Services without a template: one Warning on the PodTemplate, at most 25 on the Services, the rest counted', async () => {
    const ns = await freshNamespace(k, 'no-template');
    const crit = `no-template-${suffix()}`;
    h.crits.push(crit);
    await createCrit(k, crit, { namespace: ns, matchLabels: [{ key: 'role', value: 'frontend' }] });
    h.pipeline = await Pipeline.start({
      namespaces: [ns],
      redisUrl: h.redis.url,
      templateNamespace: ns,
      templateName: 'missing',
    });
    for (let i = 0; i < 35; i++)
      await createService(k, ns, `svc-${i}`, { labels: { role: 'frontend' }, selector: { app: `web-${i}` } });
    const suppressed = (m: string): number =>
      Number(/critsvc_events_suppressed_total\{reason="PodTemplateUnusable"\} (\d+)/.exec(m)?.[1] ?? 0);
    await eventually(
      'the Warnings past the limit counted',
      async () => suppressed(await h.pipeline!.metrics()) >= 10,
      20_000,
    );
    const warnings = (await events(k, ns)).filter((e) => e.reason === 'PodTemplateUnusable');
    expect(warnings.filter((e) => e.object === 'missing')).toHaveLength(1);
    expect(warnings.filter((e) => e.object.startsWith('svc-')).length).toBeLessThanOrEqual(25);
  });
});

describe('Redis full', () => {
  it('Redis at maxmemory (noeviction) while the handler is away: the handler frees it by itself and acts again', async () => {
    const small = await TestRedis.start(['--maxmemory', '4mb', '--maxmemory-policy', 'noeviction']);
    try {
      const ns = await freshNamespace(k, 'redis-full');
      await createTemplate(k, ns);
      const crit = `redis-full-${suffix()}`;
      h.crits.push(crit);
      await createCrit(k, crit, { namespace: ns, matchLabels: [{ key: 'role', value: 'frontend' }] });
      h.pipeline = await Pipeline.start({ namespaces: [ns], redisUrl: small.url, templateNamespace: ns });
      const p = h.pipeline;
      // The real pod first: the Service is never lame before the test makes it so.
      await createRealPod(k, ns, 'web-1', { app: 'web' });
      await createService(k, ns, 'frontend', { labels: { role: 'frontend' }, selector: { app: 'web' } });
      await stays('no default pod for the healthy Service', async () => (await defaultPods(k, ns)).length === 0, 1_500);
      // The handler is away; a pod with many labels changes until Redis is full.
      await p.procs.handler.kill('SIGKILL');
      const labels = Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`filler-${i}`, 'x'.repeat(60)]));
      await k.core.createNamespacedPod({
        namespace: ns,
        body: { metadata: { name: 'filler', labels }, spec: { containers: [{ name: 'c', image: 'busybox' }] } },
      });
      const oom = (): boolean => p.logs('watcher-pods').some((l) => /OOM/.test(JSON.stringify(l.err ?? '')));
      for (let i = 0; i < 5_000 && !oom(); i++) {
        await k.core.patchNamespacedPod({
          namespace: ns,
          name: 'filler',
          body: [{ op: 'replace', path: '/metadata/labels/filler-0', value: `${i}`.padEnd(60, 'y') }],
        });
      }
      expect(oom()).toBe(true);
      // The handler comes back to a full Redis; the Service then loses its pod.
      p.procs.handler.start();
      await p.waitReady(['handler']);
      await k.core.deleteNamespacedPod({ namespace: ns, name: 'web-1', gracePeriodSeconds: 0 });
      await eventually('a default pod for the lame Service', async () => (await defaultPods(k, ns)).length > 0, 45_000);
      expect(p.logs('handler').some((l) => l.msg.startsWith('Redis is full'))).toBe(true);
    } catch (err) {
      if (h.pipeline) console.error(h.pipeline.tail(40));
      throw err;
    } finally {
      await h.pipeline?.stop();
      h.pipeline = undefined;
      await small.stop();
    }
  });
});

describe('a bounded backlog', () => {
  it('with the handler away, 300 changes of one pod leave a bounded backlog in Redis, and the newest state still arrives', async () => {
    const { ns, p } = await setUp('backlog', { QUEUE_BACKLOG_MAX: '50' });
    await createRealPod(k, ns, 'web-1', { app: 'web' });
    await createService(k, ns, 'frontend', { labels: { role: 'frontend' }, selector: { app: 'web' } });
    await stays('no default pod for the healthy Service', async () => (await defaultPods(k, ns)).length === 0, 1_500);
    await p.procs.handler.kill('SIGKILL');
    for (let i = 0; i < 300; i++) {
      await k.core.patchNamespacedPod({
        namespace: ns,
        name: 'web-1',
        body: [
          { op: 'replace', path: '/metadata/labels/app', value: i === 299 ? 'gone' : 'web' },
          { op: 'add', path: '/metadata/labels/n', value: String(i) },
        ],
      });
    }
    const queue = new Queue(p.queue, { connection: { host: '127.0.0.1', port: h.redis.port } });
    try {
      await eventually(
        'the watchers holding back',
        async () => p.logs('watcher-pods').some((l) => l.msg.startsWith('queue backlog full')),
        10_000,
      );
      // The gate is checked before each batch: at most the limit plus what was in flight.
      expect(await queue.getWaitingCount()).toBeLessThan(150);
    } finally {
      await queue.close();
    }
    // The restarted handler acts on the newest state (the pod no longer selected): the Service is lame.
    p.procs.handler.start();
    await eventually('a default pod', async () => (await defaultPods(k, ns)).length > 0, 20_000);
    // Cumulative counts are Counters named *_total.
    const m = await p.metrics('watcher-pods');
    for (const name of ['critsvc_outbox_sent_total', 'critsvc_watch_lists_total', 'critsvc_watch_requests_total']) {
      expect(m).toContain(`# TYPE ${name} counter`);
      expect(Number(new RegExp(`^${name} (\\d+)`, 'm').exec(m)?.[1] ?? 0)).toBeGreaterThan(0);
    }
  });
});

describe('status writes refused', () => {
  it('are retried with backoff, not every STATUS_FLUSH_MS; the handler keeps acting', async () => {
    const ns = await freshNamespace(k, 'status-denied');
    await createTemplate(k, ns);
    const { sa, rbac } = await limitedHandler(ns, { statusPatch: false });
    const crit = `status-denied-${suffix()}`;
    h.crits.push(crit);
    await createCrit(k, crit, { namespace: ns, matchLabels: [{ key: 'role', value: 'frontend' }] });
    try {
      h.pipeline = await Pipeline.start({
        namespaces: [ns],
        redisUrl: h.redis.url,
        templateNamespace: ns,
        env: { STATUS_FLUSH_MS: '200' },
        kubeconfigs: { handler: await serviceAccountKubeconfig(k, ns, sa) },
      });
      await createService(k, ns, 'frontend', { labels: { role: 'frontend' }, selector: { app: 'web' } });
      await eventually('a default pod', async () => (await defaultPods(k, ns)).length > 0, 15_000);
      const failures = async (): Promise<number> =>
        Number(/critsvc_api_errors_total\{op="status"\} (\d+)/.exec(await h.pipeline!.metrics())?.[1] ?? 0);
      const before = await failures();
      await new Promise((r) => setTimeout(r, 8_000));
      // Every 200 ms would be 40 attempts; with backoff from 200 ms doubling, about 5.
      expect((await failures()) - before).toBeLessThanOrEqual(8);
    } finally {
      await rbac.deleteClusterRoleBinding({ name: sa }).catch(() => undefined);
      await rbac.deleteClusterRole({ name: sa }).catch(() => undefined);
    }
  });
});
