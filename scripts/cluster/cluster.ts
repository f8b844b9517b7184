// `pnpm cluster up | env | down | status`: a local control plane (etcd + kube-apiserver built
// from the Go module proxy) and a redis-server, all on free loopback ports, as envtest does.
// Node built-ins only: this runs before the workspace is installed.
import { spawnSync } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { clusterUp, type UpOptions } from './up.ts';
import { clusterDown, readState, stateIsLive } from './state.ts';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

export function stateDir(): string {
  return process.env.CRITSVC_CLUSTER_DIR ?? join(repoRoot, '.cluster');
}

export function binaries(): { apiserver: string; etcd: string } {
  const res = spawnSync('bash', [join(repoRoot, 'scripts/cluster/build-binaries.sh')], {
    stdio: ['ignore', 'pipe', 'inherit'],
    encoding: 'utf8',
  });
  if (res.status !== 0) throw new Error('could not build kube-apiserver/etcd (see the lines above)');
  const get = (key: string): string => {
    const line = res.stdout.split('\n').find((l) => l.startsWith(`${key}=`));
    if (!line) throw new Error(`build-binaries.sh printed no ${key}= line`);
    return line.slice(key.length + 1);
  };
  return { apiserver: get('KUBE_APISERVER'), etcd: get('ETCD') };
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
    console.error(`cluster: already up (kubeconfig ${state.kubeconfig}, redis ${state.redisUrl})`);
    return 0;
  }
  // Left over from a cluster that died: its processes and files would be in the way.
  if (state) await clusterDown(dir);
  const opts: UpOptions = { dir, ...binaries() };
  const started = await clusterUp(opts);
  console.error(`cluster: up — kube-apiserver ${started.server}, redis ${started.redisUrl}`);
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
  console.log(`export REDIS_URL=${state.redisUrl}`);
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
  console.log(live ? `up ${state?.server} ${state?.redisUrl}` : 'down');
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
