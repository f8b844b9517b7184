// `pnpm demo`: the article's scenario on a local control plane, narrated. Exit 0 on success.
//   Service frontend lame → default pod → real pod back → default pod gone.
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CoreV1Api, CustomObjectsApi, KubeConfig, type V1Pod } from '@kubernetes/client-node';
import { redisEnvFor, resolveEnv } from './run/environment.ts';
import { Supervisor } from './run/supervisor.ts';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const NS = 'default';
const CRD = { group: 'mycrd.com', version: 'v1', plural: 'criticalservices' };
const started = Date.now();
const say = (msg: string): void =>
  console.log(`\x1b[1m[demo +${((Date.now() - started) / 1000).toFixed(1)}s]\x1b[0m ${msg}`);

async function until<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

const ignore404 = (err: unknown): void => {
  if ((err as { code?: number }).code !== 404) throw err;
};

async function scenario(core: CoreV1Api, custom: CustomObjectsApi): Promise<void> {
  const defaultPods = async (): Promise<V1Pod[]> =>
    (await core.listNamespacedPod({ namespace: NS })).items.filter(
      (p) => p.metadata?.annotations?.['service-watcher'] === 'owned' && !p.metadata.deletionTimestamp,
    );

  say('Service "frontend" (selector role=frontend) with no pod behind it: it is lame');
  await core.createNamespacedService({
    namespace: NS,
    body: {
      metadata: { name: 'frontend', labels: { role: 'frontend' } },
      spec: { selector: { role: 'frontend' }, ports: [{ port: 80, targetPort: 80 }] },
    },
  });
  say('CriticalService "frontend": Services labelled role=frontend in "default" are critical');
  await custom.createClusterCustomObject({
    ...CRD,
    body: {
      apiVersion: 'mycrd.com/v1',
      kind: 'CriticalService',
      metadata: { name: 'frontend' },
      spec: { namespace: NS, matchLabels: [{ key: 'role', value: 'frontend' }] },
    },
  });
  const [pod] = await until('the default pod', async () =>
    (await defaultPods()).length ? await defaultPods() : undefined,
  );
  say(
    `critsvc created default pod "${pod?.metadata?.name}" (labels ${JSON.stringify(pod?.metadata?.labels)}): the Service selects it`,
  );
  const status = await until('the status', async () => {
    const s = (
      (await custom.getClusterCustomObject({ ...CRD, name: 'frontend' })) as {
        status?: { lameServices?: string[]; defaultPods?: string[] };
      }
    ).status;
    return s?.defaultPods?.length ? s : undefined;
  });
  say(
    `kubectl get crisvc frontend → lame: ${status.lameServices?.join(', ')}; default pods: ${status.defaultPods?.join(', ')}`,
  );

  say('A real pod "nginx" (role=frontend) is created: kube-scheduler binds it, kwok starts it (Running, Ready)');
  await core.createNamespacedPod({
    namespace: NS,
    body: {
      metadata: { name: 'nginx', labels: { role: 'frontend' } },
      spec: { terminationGracePeriodSeconds: 1, containers: [{ name: 'nginx', image: 'nginx:1.27' }] },
    },
  });
  const real = await until('nginx Ready', async () => {
    const p = await core.readNamespacedPod({ namespace: NS, name: 'nginx' });
    return p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ? p : undefined;
  });
  say(
    `nginx is Ready on ${real.spec?.nodeName}; the default pod stays until nginx has been Ready for HEALTHY_GRACE_SECONDS (5 s): make before break`,
  );
  await until('the default pod to go', async () => ((await defaultPods()).length === 0 ? true : undefined));
  say('critsvc deleted the default pod: the Service is served by its real pod again');

  say('The real pod is deleted: its endpoint is not ready from that moment, the Service is lame again…');
  await core.deleteNamespacedPod({ namespace: NS, name: 'nginx' });
  await until('a new default pod', async () => ((await defaultPods()).length === 1 ? true : undefined));
  say('…and critsvc stood a default pod up again. Demo passed.');
}

async function cleanup(core: CoreV1Api, custom: CustomObjectsApi): Promise<void> {
  await custom.deleteClusterCustomObject({ ...CRD, name: 'frontend' }).catch(ignore404);
  await core.deleteNamespacedService({ namespace: NS, name: 'frontend' }).catch(ignore404);
  await core.deleteNamespacedPod({ namespace: NS, name: 'nginx', gracePeriodSeconds: 0 }).catch(ignore404);
}

async function main(): Promise<number> {
  say(
    "bringing up the local cluster (etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kwok's Nodes) and redis-server",
  );
  const run = await resolveEnv(root, process.env, true);
  const kc = new KubeConfig();
  kc.loadFromFile(run.kubeconfig);
  const core = kc.makeApiClient(CoreV1Api);
  const custom = kc.makeApiClient(CustomObjectsApi);
  await cleanup(core, custom);
  const env = {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '',
    KUBECONFIG: run.kubeconfig,
    REDIS_URL: run.redisUrl,
    QUEUE_NAME: `critsvc-demo-${Date.now()}`,
    NAMESPACES: NS,
    LOG_LEVEL: 'info',
    HTTP_PORT: '0',
    HTTP_HOST: '127.0.0.1',
    DASHBOARD_PORT: '0',
    DASHBOARD_HOST: '127.0.0.1',
  };
  const sup = new Supervisor({ root, env, envFor: redisEnvFor(run), out: (l) => console.log(`  ${l}`) });
  let ready = false;
  sup.onLog((app, obj) => {
    if (app === 'handler' && obj.msg === 'state complete; deciding') ready = true;
  });
  say('starting watcher-services, watcher-pods, watcher-crds, handler and the dashboard');
  sup.start();
  try {
    await until('the handler to be ready', async () => (ready ? true : undefined));
    await scenario(core, custom);
    return 0;
  } catch (err) {
    say(`FAILED: ${err instanceof Error ? err.message : String(err)}`);
    return 1;
  } finally {
    await cleanup(core, custom);
    await sup.stop();
    await run.cleanup();
    say(
      `local control plane left running for you: export KUBECONFIG=${run.kubeconfig}  (stop it with: pnpm cluster down)`,
    );
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(`demo: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  },
);
