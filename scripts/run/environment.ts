// Where `pnpm start` and `pnpm demo` run: the user's cluster (KUBECONFIG or ~/.kube/config),
// else the local control plane; the user's Redis (REDIS_URL), else a local redis-server.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig, KubernetesObjectApi, loadAllYaml, type KubernetesObject } from '@kubernetes/client-node';
import { readState } from '../cluster/state.ts';
import { freePort, redisPing } from '../cluster/up.ts';

export interface RunEnv {
  kubeconfig: string;
  redisUrl: string;
  /** The local cluster's Redis: each process's own ACL user (redisUrl is the admin's). */
  redisUrls?: Partial<Record<string, string>>;
  local: boolean;
  cleanup: () => Promise<void>;
}

/** Supervisor's envFor: each process's own REDIS_URL when the run has them. */
export function redisEnvFor(run: RunEnv): (app: string) => Record<string, string> {
  return (app): Record<string, string> => {
    const url = run.redisUrls?.[app];
    return url ? { REDIS_URL: url } : {};
  };
}

function clusterCli(root: string, cmd: string): void {
  const res = spawnSync(process.execPath, [join(root, 'scripts/cluster/cluster.ts'), cmd], { stdio: 'inherit' });
  if (res.status !== 0) throw new Error(`pnpm cluster ${cmd} failed`);
}

async function localRedis(): Promise<{ url: string; proc: ChildProcess }> {
  if (spawnSync('sh', ['-c', 'command -v redis-server'], { stdio: 'ignore' }).status !== 0) {
    throw new Error(
      'REDIS_URL is not set and redis-server is not installed (apt-get install redis-server, or run ./dev.sh start)',
    );
  }
  const port = await freePort();
  const proc = spawn(
    'redis-server',
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      '--dir',
      mkdtempSync(join(tmpdir(), 'critsvc-redis-')),
    ],
    { stdio: 'ignore' },
  );
  for (let i = 0; i < 100 && !(await redisPing(port)); i++) await new Promise((r) => setTimeout(r, 50));
  return { url: `redis://127.0.0.1:${port}`, proc };
}

export async function resolveEnv(
  root: string,
  env: Record<string, string | undefined>,
  forceLocal = false,
): Promise<RunEnv> {
  const given = env.KUBECONFIG || (existsSync(join(homedir(), '.kube/config')) ? join(homedir(), '.kube/config') : '');
  if (given && !forceLocal) {
    let proc: ChildProcess | undefined;
    let redisUrl = env.REDIS_URL ?? '';
    if (!redisUrl) ({ url: redisUrl, proc } = await localRedis());
    return { kubeconfig: given, redisUrl, local: false, cleanup: async () => void proc?.kill('SIGTERM') };
  }
  clusterCli(root, 'up');
  const state = readState(env.CRITSVC_CLUSTER_DIR ?? join(root, '.cluster'));
  if (!state) throw new Error('the local control plane did not record its state');
  await installBasics(state.kubeconfig, root);
  // A REDIS_URL given is the one every process uses; else each its own user of the local Redis.
  return {
    kubeconfig: state.kubeconfig,
    redisUrl: env.REDIS_URL || state.redisUrl,
    ...(env.REDIS_URL ? {} : { redisUrls: state.redisUrls }),
    local: true,
    cleanup: async () => undefined,
  };
}

async function createOrReplace(api: KubernetesObjectApi, obj: KubernetesObject): Promise<void> {
  try {
    const existing = await api.read({
      apiVersion: obj.apiVersion,
      kind: obj.kind,
      metadata: { name: obj.metadata?.name ?? '', namespace: obj.metadata?.namespace },
    });
    await api.replace({ ...obj, metadata: { ...obj.metadata, resourceVersion: existing.metadata?.resourceVersion } });
  } catch (err) {
    if ((err as { code?: number }).code !== 404) throw err;
    await api.create(obj);
  }
}

/** Creates or replaces the objects of deploy/<file> for each file given. */
export async function applyManifests(kc: KubeConfig, root: string, files: string[]): Promise<void> {
  const api = KubernetesObjectApi.makeApiClient(kc);
  const objects = files.flatMap(
    (file) => loadAllYaml(readFileSync(join(root, 'deploy', file), 'utf8')) as KubernetesObject[],
  );
  for (const obj of objects) await createOrReplace(api, obj);
}

/** The namespace, CRD and PodTemplate from deploy/ (what the processes need to do anything). */
export async function installBasics(kubeconfig: string, root: string): Promise<void> {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfig);
  await applyManifests(kc, root, ['namespace.yaml', 'crd.yaml', 'pod-template.yaml']);
  const api = KubernetesObjectApi.makeApiClient(kc);
  // The CRD must be served before the watcher lists it.
  for (let i = 0; i < 100; i++) {
    try {
      await api.list('mycrd.com/v1', 'CriticalService');
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}
