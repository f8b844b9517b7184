// The maintenance page really served (issue 33): on a cluster of its own with a real node
// (CRITSVC_NODE=real: containerd, kubelet, CNI bridge, kube-proxy; scripts/cluster/node.ts),
// deploy/'s PodTemplate starts a real default pod when the real app's last pod goes, and a client
// of the Service's ClusterIP gets the page's 503, Retry-After: 120 and the CriticalService's
// message; once the app is back and handed back, the same client gets the app's answer.
// Skipped, with the reason printed, where this machine cannot run containers (no root, no
// containerd/CNI plugins, network namespaces refused).
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { V1Pod, V1PodSpec, V1PodTemplate } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { APP_IMAGE, ON_REAL_NODE, REAL_NODE, realNodeUnsupported } from '../../scripts/cluster/node.ts';
import { readState } from '../../scripts/cluster/state.ts';
import { ensureNamespace, freshNamespace, kube, statusOf, suffix, type Kube } from '../support/kube.ts';
import { createCrit, deleteCrit } from '../support/objects.ts';
import { ensureCrd, Pipeline } from '../support/pipeline.ts';
import { TestRedis } from '../support/redis.ts';
import { eventually } from '../support/wait.ts';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const clusterDir = join(root, '.cluster-node');
const cli = join(root, 'scripts/cluster/cluster.ts');
const unsupported = realNodeUnsupported();
if (unsupported) console.warn(`real-node.test.ts skipped: this machine cannot run the real node: ${unsupported}`);

interface Answer {
  status: number;
  retryAfter?: string;
  body: string;
}

/** One GET on a new connection (what a client opening a connection per request sees). */
function get(host: string, port: number, timeoutMs = 1000): Promise<Answer> {
  return new Promise((resolveAnswer, reject) => {
    const req = request({ host, port, path: '/', agent: false, timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () =>
        resolveAnswer({
          status: res.statusCode ?? 0,
          retryAfter: res.headers['retry-after'] as string | undefined,
          body,
        }),
      );
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

function appPod(name: string): V1Pod {
  return {
    metadata: { name, labels: { app: 'web' } },
    spec: {
      ...ON_REAL_NODE,
      terminationGracePeriodSeconds: 2,
      automountServiceAccountToken: false,
      containers: [
        {
          name: 'app',
          image: APP_IMAGE,
          imagePullPolicy: 'Never',
          ports: [{ containerPort: 8080 }],
          readinessProbe: { httpGet: { path: '/', port: 8080 }, periodSeconds: 1, failureThreshold: 1 },
        },
      ],
    },
  };
}

const ready = (p: V1Pod | undefined): boolean =>
  Boolean(p?.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'));

describe.skipIf(Boolean(unsupported))(
  "the maintenance page on a real node, seen through the Service's ClusterIP",
  () => {
    let k: Kube;
    let redis: TestRedis | undefined;
    let pipeline: Pipeline | undefined;
    let wasUp = false;
    let kubeconfig = '';
    const crit = `real-node-${suffix()}`;

    beforeAll(async () => {
      const env = { ...process.env, CRITSVC_CLUSTER_DIR: clusterDir, CRITSVC_NODE: 'real' };
      wasUp = spawnSync(process.execPath, [cli, 'status'], { env, stdio: 'ignore' }).status === 0;
      if (!wasUp) {
        const up = spawnSync(process.execPath, [cli, 'up'], { env, stdio: 'inherit', timeout: 600_000 });
        if (up.status !== 0)
          throw new Error(`CRITSVC_NODE=real pnpm cluster up failed (exit ${up.status}); logs in ${clusterDir}`);
      }
      const state = readState(clusterDir);
      if (!state?.node) throw new Error(`the cluster in ${clusterDir} has no real node`);
      kubeconfig = state.kubeconfig;
      k = kube(kubeconfig);
      await ensureCrd(k);
      await ensureNamespace(k, 'linux-mag');
      // deploy/'s template as it is, plus what it takes to land on the real node.
      const tmpl = parse(readFileSync(join(root, 'deploy/pod-template.yaml'), 'utf8')) as V1PodTemplate & {
        template: { spec: V1PodSpec };
      };
      tmpl.template.spec = { ...tmpl.template.spec, ...ON_REAL_NODE };
      try {
        await k.core.createNamespacedPodTemplate({ namespace: 'linux-mag', body: tmpl });
      } catch (err) {
        if (statusOf(err) !== 409) throw err;
      }
      redis = await TestRedis.start();
    }, 600_000);

    afterAll(async () => {
      await pipeline?.stop();
      if (k) await deleteCrit(k, crit).catch(() => undefined);
      await redis?.stop();
      if (!wasUp && process.env.CRITSVC_KEEP_CLUSTER !== '1') {
        spawnSync(process.execPath, [cli, 'down'], {
          env: { ...process.env, CRITSVC_CLUSTER_DIR: clusterDir },
          stdio: 'inherit',
        });
      }
    }, 120_000);

    it('an outage answers 503 with Retry-After: 120 and the message; after the hand-back, the app answers again', async () => {
      const ns = await freshNamespace(k, 'real-node');
      await k.core.createNamespacedPod({ namespace: ns, body: appPod('web-1') });
      const svc = await k.core.createNamespacedService({
        namespace: ns,
        body: {
          metadata: { name: 'web', labels: { tier: 'gold' } },
          spec: { selector: { app: 'web' }, ports: [{ port: 80, targetPort: 8080 }] },
        },
      });
      const ip = svc.spec?.clusterIP ?? '';
      expect(ip).toMatch(/^10\.0\./);
      const first = await eventually(
        'the app on the ClusterIP',
        async () => (await get(ip, 80).catch(() => undefined))?.status === 200 && get(ip, 80),
        90_000,
        200,
      );
      expect(first.body).toBe('app web-1\n');
      const pod = await k.core.readNamespacedPod({ namespace: ns, name: 'web-1' });
      expect(pod.spec?.nodeName).toBe(REAL_NODE);
      expect(pod.status?.podIP).toMatch(/^10\.250\.0\./);

      pipeline = await Pipeline.start({
        namespaces: [ns],
        redisUrl: redis?.url ?? '',
        templateNamespace: 'linux-mag',
        env: { KUBECONFIG: kubeconfig },
      });
      const message = 'The shop is being restocked, back at 10:00';
      await createCrit(k, crit, {
        namespace: ns,
        matchLabels: [{ key: 'tier', value: 'gold' }],
        defaultPod: { message },
      });

      // The real app's last pod goes: the client sees refusals, then the page.
      await k.core.deleteNamespacedPod({ namespace: ns, name: 'web-1' });
      const page = await eventually(
        'the page on the ClusterIP',
        async () => {
          const a = await get(ip, 80).catch(() => undefined);
          return a?.status === 503 && a;
        },
        90_000,
        50,
      );
      expect(page.retryAfter).toBe('120');
      expect(page.body).toContain('<h1 id="service">web is under maintenance</h1>');
      expect(page.body).toContain(`<p id="message">${message}</p>`);
      const standIn = (await k.core.listNamespacedPod({ namespace: ns })).items.find(
        (p) => p.metadata?.annotations?.['service-watcher'] === 'owned',
      );
      expect(standIn?.spec?.nodeName).toBe(REAL_NODE);
      expect(standIn?.spec?.containers[0]?.image).toBe('nginxinc/nginx-unprivileged:1.27-alpine');

      // The app is back: once it is Ready and the default pod handed back, the same client gets the app.
      await k.core.createNamespacedPod({ namespace: ns, body: appPod('web-2') });
      await eventually(
        'web-2 Ready',
        async () => ready(await k.core.readNamespacedPod({ namespace: ns, name: 'web-2' })),
        90_000,
        200,
      );
      await eventually(
        'the default pod handed back (deleted)',
        async () =>
          !(await k.core.listNamespacedPod({ namespace: ns })).items.some(
            (p) => p.metadata?.annotations?.['service-watcher'] === 'owned',
          ),
        60_000,
        200,
      );
      const back = await eventually(
        'the app on the ClusterIP again',
        async () => {
          const a = await get(ip, 80).catch(() => undefined);
          return a?.status === 200 && a;
        },
        30_000,
        50,
      );
      expect(back.body).toBe('app web-2\n');
      // And it stays the app: no page answer left behind.
      for (let i = 0; i < 20; i++) expect((await get(ip, 80)).body).toBe('app web-2\n');
    }, 300_000);
  },
);
