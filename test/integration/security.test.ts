// Trust boundaries: the queue (whoever reaches Redis can push jobs) and the PodTemplate (whoever
// can edit it chooses what the handler creates in every namespace).
import { spawnSync } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Queue } from 'bullmq';
import { describe, expect, inject, it } from 'vitest';
import { ensureNamespace, freshNamespace, kube, suffix } from '../support/kube.ts';
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
import { eventually, stays } from '../support/wait.ts';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const k = kube();
const h = pipelineHarness(k);

const OWNED_LABELS = { 'app.kubernetes.io/managed-by': 'critsvc', 'critsvc.mycrd.com/service': 'frontend' };
const OWNED_ANNOTATIONS = { 'service-watcher': 'owned' };

describe('forged queue jobs', () => {
  it('a job claiming a foreign pod is ours, or that a real pod is gone, or inventing a Service or CriticalService (served, then lame): nothing is deleted, changed or created', async () => {
    const ns = await freshNamespace(k, 'forged');
    await createTemplate(k, ns);
    h.pipeline = await Pipeline.start({ namespaces: [ns], redisUrl: h.redis.url, templateNamespace: ns });
    // A healthy critical Service, and a non-critical lame one.
    await createService(k, ns, 'frontend', { labels: { role: 'frontend' }, selector: { app: 'web' } });
    await createService(k, ns, 'plain', { labels: { role: 'plain' }, selector: { app: 'plain' } });
    const real = await createRealPod(k, ns, 'web-1', { app: 'web' });
    const victim = await createRealPod(k, ns, 'victim', { app: 'db' });
    const crit = `forged-${suffix()}`;
    h.crits.push(crit);
    await createCrit(k, crit, { namespace: ns, matchLabels: [{ key: 'role', value: 'frontend' }] });
    await stays('no default pod for the healthy Service', async () => (await defaultPods(k, ns)).length === 0, 1_500);
    const before = (await pods(k, ns))
      .map((p) => `${p.metadata?.name}/${p.metadata?.uid}/${p.metadata?.resourceVersion}`)
      .sort();

    const queue = new Queue(h.pipeline.queue, { connection: { host: '127.0.0.1', port: h.redis.port } });
    const now = Date.now();
    const huge = '999999999';
    const meta = (name: string, o: object): object => ({ name, namespace: ns, resourceVersion: huge, ...o });
    try {
      await queue.addBulk([
        // The victim dressed up as our default pod of "frontend", and as a duplicate of it.
        {
          name: 'Pod:ADDED',
          data: {
            kind: 'Pod',
            type: 'ADDED',
            seenAt: now,
            object: {
              metadata: meta('victim', {
                uid: victim.metadata?.uid,
                labels: { app: 'web', ...OWNED_LABELS },
                annotations: OWNED_ANNOTATIONS,
              }),
              status: { phase: 'Running' },
            },
          },
        },
        {
          name: 'Pod:ADDED',
          data: {
            kind: 'Pod',
            type: 'ADDED',
            seenAt: now,
            object: {
              metadata: meta('service-watcher-frontend', {
                uid: victim.metadata?.uid,
                labels: { app: 'web', ...OWNED_LABELS },
                annotations: OWNED_ANNOTATIONS,
              }),
              status: { phase: 'Running' },
            },
          },
        },
        // The real pod of the critical Service "gone".
        {
          name: 'Pod:DELETED',
          data: {
            kind: 'Pod',
            type: 'DELETED',
            seenAt: now,
            object: { metadata: meta('web-1', { uid: real.metadata?.uid, labels: { app: 'web' } }) },
          },
        },
        // A CriticalService that does not exist, covering the lame "plain".
        {
          name: 'CriticalService:ADDED',
          data: {
            kind: 'CriticalService',
            type: 'ADDED',
            seenAt: now,
            object: {
              metadata: { name: `ghost-${suffix()}`, uid: 'ghost-uid', resourceVersion: huge, generation: 1 },
              spec: { namespace: ns, matchLabels: [{ key: 'role', value: 'plain' }] },
            },
          },
        },
        // A Service that does not exist, covered by the real CriticalService, served by a pod that does not exist either.
        {
          name: 'Service:ADDED',
          data: {
            kind: 'Service',
            type: 'ADDED',
            seenAt: now,
            object: {
              metadata: meta('ghost', { uid: 'ghost-svc', labels: { role: 'frontend' } }),
              spec: { selector: { app: 'nothing' } },
            },
          },
        },
        {
          name: 'Pod:ADDED',
          data: {
            kind: 'Pod',
            type: 'ADDED',
            seenAt: now,
            object: {
              metadata: meta('ghost-pod', { uid: 'ghost-pod', labels: { app: 'nothing' } }),
              status: { phase: 'Running', podIP: '10.0.0.9', conditions: [{ type: 'Ready', status: 'True' }] },
            },
          },
        },
      ]);
      // Decided as served first, then "losing" its pod: a failover, but of a Service the API server never gave.
      await new Promise((r) => setTimeout(r, 500));
      await queue.add('Pod:DELETED', {
        kind: 'Pod',
        type: 'DELETED',
        seenAt: Date.now(),
        object: {
          metadata: meta('ghost-pod', { uid: 'ghost-pod', resourceVersion: '999999999', labels: { app: 'nothing' } }),
        },
      });
    } finally {
      await queue.close();
    }
    await eventually(
      'the handler to refuse',
      async () => h.pipeline?.logs('handler').some((l) => l.msg.startsWith('the API server disagrees with the state')),
      15_000,
    );
    const snapshot = async (): Promise<string> =>
      (await pods(k, ns))
        .map((p) => `${p.metadata?.name}/${p.metadata?.uid}/${p.metadata?.resourceVersion}`)
        .sort()
        .join();
    // Longer than the healthy hold-off (5 s) after which the "default pod" of a healthy Service would go.
    await stays('no pod deleted, changed or created', async () => (await snapshot()) === before.join(), 7_000);
    expect(h.pipeline.logs('handler').filter((l) => l.msg.startsWith('default pod created'))).toEqual([]);
    const refused = h.pipeline.logs('handler').filter((l) => /lacks critsvc's ownership marks/.test(l.msg));
    expect(refused.length).toBeGreaterThan(0);
    const metrics = await h.pipeline.metrics();
    expect(Number(/critsvc_live_check_disagreements_total (\d+)/.exec(metrics)?.[1] ?? 0)).toBeGreaterThan(0);
    // The state was repaired from the API server: a real change still works.
    await k.core.deleteNamespacedPod({ namespace: ns, name: 'web-1' });
    await eventually(
      'a default pod once the real pod is really gone',
      async () => (await defaultPods(k, ns)).length === 1,
      30_000,
    );
  });

  it('a job saying the last real pod of a served critical Service is gone: the default pod, created before the live check answered, is deleted at once; the same lie again creates nothing', async () => {
    const ns = await freshNamespace(k, 'forged-gone');
    await createTemplate(k, ns);
    // Known from the handler's own start-up list: the Service and CriticalService as the API server has them.
    await createService(k, ns, 'frontend', { labels: { role: 'frontend' }, selector: { app: 'web' } });
    const real = await createRealPod(k, ns, 'web-1', { app: 'web' });
    const crit = `forged-gone-${suffix()}`;
    h.crits.push(crit);
    await createCrit(k, crit, { namespace: ns, matchLabels: [{ key: 'role', value: 'frontend' }] });
    h.pipeline = await Pipeline.start({ namespaces: [ns], redisUrl: h.redis.url, templateNamespace: ns });
    await eventually('the CriticalService to cover the served Service', async () => {
      const st = await critStatus(k, crit);
      return st?.coveredServices === 1 && st.lameCount === 0;
    });
    await stays('no default pod for the served Service', async () => (await defaultPods(k, ns)).length === 0, 1_000);
    const snapshot = async (): Promise<string> =>
      (await pods(k, ns))
        .map((p) => `${p.metadata?.name}/${p.metadata?.uid}/${p.metadata?.resourceVersion}`)
        .sort()
        .join();
    const before = await snapshot();
    const lie = (rv: string): { name: string; data: object } => ({
      name: 'Pod:DELETED',
      data: {
        kind: 'Pod',
        type: 'DELETED',
        seenAt: Date.now(),
        object: {
          metadata: {
            name: 'web-1',
            namespace: ns,
            uid: real.metadata?.uid,
            resourceVersion: rv,
            labels: { app: 'web' },
          },
        },
      },
    });
    const said = (prefix: string): number => h.pipeline!.logs('handler').filter((l) => l.msg.startsWith(prefix)).length;
    const creates = async (): Promise<number> =>
      metricSum(await h.pipeline!.metrics(), 'critsvc_default_pod_actions_total', 'action="create"');
    const queue = new Queue(h.pipeline.queue, { connection: { host: '127.0.0.1', port: h.redis.port } });
    try {
      await queue.add(lie('999999999').name, lie('999999999').data);
      await eventually(
        'the default pod created on the lie deleted again',
        async () => said('default pod created while the live check ran deleted again') === 1,
        15_000,
      );
      expect(metricSum(await h.pipeline.metrics(), 'critsvc_default_pod_actions_total', 'action="undo"')).toBe(1);
      await eventually('the pods as they were', async () => (await snapshot()) === before, 10_000);
      await stays('nothing else deleted, changed or created', async () => (await snapshot()) === before, 3_000);

      // The same lie again: the create now waits for the check, which refuses it.
      const created = await creates();
      const disagreed = said('the API server disagrees with the state');
      await queue.add(lie('999999999').name, lie('999999999').data);
      await eventually(
        'the handler to refuse again',
        async () => said('the API server disagrees with the state') > disagreed,
        15_000,
      );
      await stays('nothing created', async () => (await snapshot()) === before, 2_000);
      expect(await creates()).toBe(created);
      expect(said('default pod created while the live check ran deleted again')).toBe(1);
    } finally {
      await queue.close();
    }
    // A real outage is still met: checked first, confirmed, created.
    await k.core.deleteNamespacedPod({ namespace: ns, name: 'web-1' });
    await eventually(
      'a default pod once the real pod is really gone',
      async () => (await defaultPods(k, ns)).length === 1,
      30_000,
    );
  });
});

describe('the PodTemplate is not a way to privilege', () => {
  it('a template asking for hostNetwork, a privileged container or a ServiceAccount is refused with a clear condition and Event', async () => {
    const ns = await freshNamespace(k, 'unsafe');
    await k.core.createNamespacedPodTemplate({
      namespace: ns,
      body: {
        metadata: { name: 'critical-service-pod-template' },
        template: {
          spec: {
            hostNetwork: true,
            serviceAccountName: 'admin',
            containers: [{ name: 'x', image: 'nginx', securityContext: { privileged: true } }],
          },
        },
      },
    });
    h.pipeline = await Pipeline.start({ namespaces: [ns], redisUrl: h.redis.url, templateNamespace: ns });
    await createService(k, ns, 'frontend');
    const crit = `unsafe-${suffix()}`;
    h.crits.push(crit);
    await createCrit(k, crit, { namespace: ns, matchLabels: [{ key: 'role', value: 'frontend' }] });
    const cond = await eventually('TemplateAvailable=False', async () =>
      (await critStatus(k, crit))?.conditions?.find((c) => c.type === 'TemplateAvailable' && c.status === 'False'),
    );
    expect(cond.message).toContain('template.spec.hostNetwork: true');
    expect(cond.message).toContain('template.spec.serviceAccountName: admin');
    expect(cond.message).toContain('template.spec.containers[x].securityContext.privileged: true');
    await eventually('a PodTemplateUnusable Event', async () =>
      (await events(k, ns)).some((e) => e.reason === 'PodTemplateUnusable' && e.message.includes('unprivileged')),
    );
    expect(await defaultPods(k, ns)).toEqual([]);
  });

  it("a template mounting a Secret is refused, the field named in TemplateAvailable=False and the Event; opted in, it still gives no other namespace's default pod the Secret, only its own (issue 30, finding 4)", async () => {
    const tmplNs = await freshNamespace(k, 'tmplsec');
    const ns = await freshNamespace(k, 'secret');
    const field = 'template.spec.volumes[creds].secret';
    // The Secret the template names, in the Service's namespace: where the default pod would find it.
    await k.core.createNamespacedSecret({
      namespace: ns,
      body: { metadata: { name: 'db' }, stringData: { password: 'hunter2' } },
    });
    const name = 'critical-service-pod-template';
    await k.core.createNamespacedPodTemplate({
      namespace: tmplNs,
      body: {
        metadata: { name },
        template: {
          spec: {
            terminationGracePeriodSeconds: 1,
            volumes: [{ name: 'creds', secret: { secretName: 'db' } }],
            containers: [{ name: 'x', image: 'nginx', volumeMounts: [{ name: 'creds', mountPath: '/creds' }] }],
          },
        },
      },
    });
    h.pipeline = await Pipeline.start({ namespaces: [ns, tmplNs], redisUrl: h.redis.url, templateNamespace: tmplNs });
    await createService(k, ns, 'frontend');
    const crit = `secret-${suffix()}`;
    h.crits.push(crit);
    await createCrit(k, crit, { namespace: ns, matchLabels: [{ key: 'role', value: 'frontend' }] });
    const refused = await eventually('TemplateAvailable=False', async () =>
      (await critStatus(k, crit))?.conditions?.find((c) => c.type === 'TemplateAvailable' && c.status === 'False'),
    );
    expect(refused.message).toContain(field);
    await eventually('a PodTemplateUnusable Event naming the field', async () =>
      (await events(k, ns)).some(
        (e) => e.reason === 'PodTemplateUnusable' && e.object === 'frontend' && e.message.includes(field),
      ),
    );
    const mountsSecret = (p: { spec?: { volumes?: { secret?: unknown }[] } }): boolean =>
      (p.spec?.volumes ?? []).some((v) => v.secret !== undefined);
    expect(await defaultPods(k, ns)).toEqual([]);

    // Its namespace's admins opt in: for default pods in that namespace, not in the Service's.
    const live = await k.core.readNamespacedPodTemplate({ namespace: tmplNs, name });
    await k.core.replaceNamespacedPodTemplate({
      namespace: tmplNs,
      name,
      body: { ...live, metadata: { ...live.metadata, annotations: { 'critsvc.mycrd.com/allow-credentials': 'true' } } },
    });
    const elsewhere = await eventually('TemplateAvailable=False for the other namespace', async () =>
      (await critStatus(k, crit))?.conditions?.find(
        (c) =>
          c.type === 'TemplateAvailable' &&
          c.status === 'False' &&
          c.message.includes('only for default pods in its own namespace'),
      ),
    );
    expect(elsewhere.message).toContain(field);
    await eventually('a PodTemplateUnusable Event saying so', async () =>
      (await events(k, ns)).some(
        (e) => e.reason === 'PodTemplateUnusable' && e.message.includes(`its own namespace ${tmplNs}`),
      ),
    );
    await stays(
      "no pod in the Service's namespace mounts a Secret",
      async () => !(await pods(k, ns)).some(mountsSecret),
      2_000,
    );

    // A Service in the template's own namespace gets its default pod, Secret volume and all.
    await createService(k, tmplNs, 'frontend');
    const own = `secret-own-${suffix()}`;
    h.crits.push(own);
    await createCrit(k, own, { namespace: tmplNs, matchLabels: [{ key: 'role', value: 'frontend' }] });
    const [pod] = await eventually("the default pod in the template's namespace", async () =>
      (await defaultPods(k, tmplNs)).length ? defaultPods(k, tmplNs) : undefined,
    );
    expect(pod && mountsSecret(pod)).toBe(true);
    expect((await critStatus(k, own))?.conditions?.find((c) => c.type === 'TemplateAvailable')).toBeUndefined();
    expect(await defaultPods(k, ns)).toEqual([]);
  });

  it('a default pod has no ServiceAccount token; ConfigMaps the template names are reported in other namespaces', async () => {
    const tmplNs = await freshNamespace(k, 'tmpl');
    await k.core.createNamespacedPodTemplate({
      namespace: tmplNs,
      body: {
        metadata: { name: 'critical-service-pod-template' },
        template: {
          spec: {
            containers: [{ name: 'x', image: 'nginx', envFrom: [{ configMapRef: { name: 'page' } }] }],
          },
        },
      },
    });
    const ns = await freshNamespace(k, 'refs');
    h.pipeline = await Pipeline.start({ namespaces: [ns], redisUrl: h.redis.url, templateNamespace: tmplNs });
    await createService(k, ns, 'frontend');
    const crit = `refs-${suffix()}`;
    h.crits.push(crit);
    await createCrit(k, crit, { namespace: ns, matchLabels: [{ key: 'role', value: 'frontend' }] });
    const [pod] = await eventually('the default pod', async () =>
      (await defaultPods(k, ns)).length ? defaultPods(k, ns) : undefined,
    );
    expect(pod?.spec?.automountServiceAccountToken).toBe(false);
    expect(pod?.spec?.volumes ?? []).not.toContainEqual(expect.objectContaining({ projected: expect.anything() }));
    await eventually('a PodTemplateReferences Event naming them', async () =>
      (await events(k, ns)).some((e) => e.reason === 'PodTemplateReferences' && e.message.includes('ConfigMap page')),
    );
  });
});

describe('Pod Security Admission', () => {
  it("deploy/'s template passes `restricted`; a template that does not is refused by the API, reported as such (not as a broken template)", async () => {
    await ensureNamespace(k, 'linux-mag');
    spawnSync('bash', [join(root, 'deploy/make-secrets.sh')], { stdio: 'ignore' });
    const applied = spawnSync('kubectl', ['apply', '-f', join(root, 'deploy/pod-template.yaml')], {
      env: { ...process.env, KUBECONFIG: inject('kubeconfig') },
      encoding: 'utf8',
    });
    expect(applied.status, applied.stderr).toBe(0);
    const restricted = async (prefix: string): Promise<string> => {
      const ns = `${prefix}-${suffix()}`;
      await k.core.createNamespace({
        body: {
          metadata: {
            name: ns,
            labels: { 'critsvc-test': 'true', 'pod-security.kubernetes.io/enforce': 'restricted' },
          },
        },
      });
      return ns;
    };
    const good = await restricted('psa-ok');
    const bad = await restricted('psa-no');
    await createTemplate(k, bad); // plain nginx: root, no securityContext
    h.pipeline = await Pipeline.start({ namespaces: [good], redisUrl: h.redis.url, templateNamespace: 'linux-mag' });
    await createService(k, good, 'frontend');
    const crit = `psa-${suffix()}`;
    h.crits.push(crit);
    await createCrit(k, crit, { namespace: good, matchLabels: [{ key: 'role', value: 'frontend' }] });
    await eventually(
      'the default pod admitted under restricted',
      async () => (await defaultPods(k, good)).length === 1,
    );
    await h.pipeline.stop();

    h.pipeline = await Pipeline.start({ namespaces: [bad], redisUrl: h.redis.url, templateNamespace: bad });
    await createService(k, bad, 'frontend');
    const crit2 = `psa-no-${suffix()}`;
    h.crits.push(crit2);
    await createCrit(k, crit2, { namespace: bad, matchLabels: [{ key: 'role', value: 'frontend' }] });
    const refused = await eventually("a DefaultPodRefused Event with the API's message", async () =>
      (await events(k, bad)).find((e) => e.reason === 'DefaultPodRefused'),
    );
    expect(refused.message).toMatch(/violates PodSecurity "restricted/);
    const status = await critStatus(k, crit2);
    expect(status?.conditions?.find((c) => c.type === 'TemplateAvailable')).toBeUndefined();
  });
});

/** The sum of a counter's series whose labels include `match`. */
function metricSum(text: string, name: string, match: string): number {
  return text
    .split('\n')
    .filter((l) => l.startsWith(`${name}{`) && l.includes(match))
    .reduce((n, l) => n + Number(l.split(' ').at(-1)), 0);
}
