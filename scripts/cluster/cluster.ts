// `pnpm cluster up | env | down | status`: a local control plane built from the Go module proxy
// and a redis-server, all on free loopback ports, as envtest does. By default a small real
// cluster (etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kwok's fake Nodes);
// CRITSVC_CLUSTER=bare starts kube-apiserver + etcd only. CRITSVC_POD_READY_DELAY_MS sets how
// long kwok takes to start a pod (default 0), CRITSVC_NODES how many Nodes (default 3).
// CRITSVC_NODE=real adds a real node (containerd, kubelet, CNI bridge, kube-proxy; scripts/cluster/node.ts).
// Node built-ins only: this runs before the workspace is installed.
import { spawnSync } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { clusterUp, type ClusterMode, type UpOptions } from './up.ts';
import { clusterDown } from './down.ts';
import { readState, stateIsLive } from './state.ts';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

export function stateDir(): string {
  return process.env.CRITSVC_CLUSTER_DIR ?? join(repoRoot, '.cluster');
}

export function clusterMode(env: Record<string, string | undefined> = process.env): ClusterMode {
  const m = env.CRITSVC_CLUSTER ?? 'full';
  if (m !== 'full' && m !== 'bare') throw new Error(`CRITSVC_CLUSTER=${m}: expected full (default) or bare`);
  return m;
}

/** A Redis URL without its password (`pnpm cluster env` prints it whole). */
function redactUrl(url: string): string {
  return url.replace(/(\/\/[^:@/]*:)[^@/]*@/, '$1***@');
}

/** CRITSVC_NODE=real: a real node besides kwok's fake ones (the full mode only). */
export function realNodeWanted(env: Record<string, string | undefined> = process.env): boolean {
  const v = env.CRITSVC_NODE ?? '';
  if (v !== '' && v !== 'real' && v !== 'kwok')
    throw new Error(`CRITSVC_NODE=${v}: expected real, or kwok (default: kwok's Nodes only)`);
  return v === 'real';
}

function intEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!/^\d+$/.test(raw)) throw new Error(`${name}=${raw}: expected a whole number`);
  return Number(raw);
}

/** Builds what is missing (cached by version) and gives the binaries' paths for that mode. */
export function binaries(
  mode: ClusterMode = clusterMode(),
  realNode = realNodeWanted(),
): Pick<UpOptions, 'apiserver' | 'etcd' | 'controllerManager' | 'scheduler' | 'kwok' | 'mode' | 'realNode'> {
  const res = spawnSync('bash', [join(repoRoot, 'scripts/cluster/build-binaries.sh')], {
    stdio: ['ignore', 'pipe', 'inherit'],
    encoding: 'utf8',
    env: { ...process.env, CRITSVC_CLUSTER: mode, CRITSVC_NODE: realNode ? 'real' : '' },
  });
  if (res.status !== 0) throw new Error("could not build the control plane's components (see the lines above)");
  const get = (key: string): string => {
    const line = res.stdout.split('\n').find((l) => l.startsWith(`${key}=`));
    if (!line) throw new Error(`build-binaries.sh printed no ${key}= line`);
    return line.slice(key.length + 1);
  };
  const base = { apiserver: get('KUBE_APISERVER'), etcd: get('ETCD'), mode };
  if (mode === 'bare') return base;
  const full = {
    ...base,
    controllerManager: get('KUBE_CONTROLLER_MANAGER'),
    scheduler: get('KUBE_SCHEDULER'),
    kwok: get('KWOK'),
  };
  return realNode ? { ...full, realNode: { kubelet: get('KUBELET'), kubeProxy: get('KUBE_PROXY') } } : full;
}

async function main(cmd: string | undefined): Promise<number> {
  const dir = stateDir();
  switch (cmd) {
    case 'up':
      return up(dir);
    case 'env':
      return env(dir);
    case 'down':
      return down(dir);
    case 'status':
      return status(dir);
    default:
      console.error('usage: pnpm cluster up | env | down | status');
      return 2;
  }
}

async function up(dir: string): Promise<number> {
  const state = readState(dir);
  if (state && (await stateIsLive(state))) {
    console.error(`cluster: already up (kubeconfig ${state.kubeconfig}, redis ${redactUrl(state.redisUrl)})`);
    return 0;
  }
  // Left over from a cluster that died: its processes and files would be in the way.
  if (state) await clusterDown(dir);
  const opts: UpOptions = {
    dir,
    ...binaries(),
    nodes: intEnv('CRITSVC_NODES', 3),
    podReadyDelayMs: intEnv('CRITSVC_POD_READY_DELAY_MS', 0),
  };
  const t0 = Date.now();
  const started = await clusterUp(opts);
  const parts = started.procs.map((p) => p.name).join(', ');
  console.error(
    `cluster: up in ${((Date.now() - t0) / 1000).toFixed(1)} s (${started.mode} mode: ${parts}) — kube-apiserver ${started.server}, redis ${redactUrl(started.redisUrl)}`,
  );
  console.error(`cluster: kubeconfig written to ${started.kubeconfig}; run: eval "$(pnpm -s cluster env)"`);
  return 0;
}

async function env(dir: string): Promise<number> {
  const state = readState(dir);
  if (!state || !(await stateIsLive(state))) {
    console.error('cluster: not up; run `pnpm cluster up` first');
    return 1;
  }
  console.log(`export KUBECONFIG=${state.kubeconfig}`);
  // The admin's (every right); a process started by hand should get its own user's URL.
  console.log(`export REDIS_URL=${state.redisUrl}`);
  for (const [proc, url] of Object.entries(state.redisUrls ?? {}))
    console.log(`export REDIS_URL_${proc.toUpperCase().replace(/-/g, '_')}=${url}`);
  return 0;
}

async function down(dir: string): Promise<number> {
  const stopped = await clusterDown(dir);
  console.error(stopped.length ? `cluster: stopped ${stopped.join(', ')}` : 'cluster: nothing was running');
  return 0;
}

async function status(dir: string): Promise<number> {
  const state = readState(dir);
  const live = state ? await stateIsLive(state) : false;
  console.log(
    live
      ? `up ${state?.mode ?? 'bare'}${state?.node ? '+real-node' : ''} ${state?.server} ${redactUrl(state?.redisUrl ?? '')}`
      : 'down',
  );
  return live ? 0 : 1;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv[2]).then(
    (code) => process.exit(code),
    (err: unknown) => {
      console.error(`cluster: ${err instanceof Error ? err.message : String(err)}`);
      process.exit(1);
    },
  );
}
