// What `cluster up` started, recorded so that `down` stops exactly those processes and a test
// can restart one of them (same command line, same port).
import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, readlinkSync, realpathSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';

/** The real node `up` started (CRITSVC_NODE=real; scripts/cluster/node.ts). */
export interface RealNodeState {
  name: string;
  /** containerd's root and state, the kubelet's root, CNI's configuration and IPAM data. */
  dir: string;
  containerdSock: string;
  kubeletRoot: string;
  kubeProxyConfig: string;
  kubeProxyBin: string;
  podSubnet: string;
  bridge: string;
}

export interface ProcRecord {
  name:
    | 'etcd'
    | 'kube-apiserver'
    | 'redis-server'
    | 'kube-controller-manager'
    | 'kube-scheduler'
    | 'kwok'
    | 'containerd'
    | 'kubelet'
    | 'kube-proxy';
  pid: number;
  argv: string[];
  log: string;
}

export interface ClusterState {
  server: string;
  kubeconfig: string;
  /** Redis as its admin user (critsvc-admin: everything); redisUrls: each process's own user (deploy/'s rights, any queue). */
  redisUrl: string;
  redisUrls?: Partial<Record<'watcher-services' | 'watcher-pods' | 'watcher-crds' | 'handler' | 'dashboard', string>>;
  etcdUrl: string;
  etcdDataDir: string;
  caFile: string;
  token: string;
  /** full: controllers, scheduler and kwok's Nodes too; bare: kube-apiserver + etcd. */
  mode?: 'full' | 'bare';
  /** CRITSVC_NODE=real: the real node's directories and socket (scripts/cluster/node.ts). */
  node?: RealNodeState;
  procs: ProcRecord[];
}

export function statePath(dir: string): string {
  return join(dir, 'state.json');
}

export function readState(dir: string): ClusterState | undefined {
  const p = statePath(dir);
  if (!existsSync(p)) return undefined;
  try {
    return JSON.parse(readFileSync(p, 'utf8')) as ClusterState;
  } catch {
    return undefined;
  }
}

export function writeState(dir: string, state: ClusterState): void {
  writeFileSync(statePath(dir), JSON.stringify(state, null, 2));
}

/** Starts a process detached from us (it outlives `cluster up`), output appended to its log. */
export function startProc(name: ProcRecord['name'], argv: string[], log: string): ProcRecord {
  const fd = openSync(log, 'a');
  const [exe, ...args] = argv;
  if (!exe) throw new Error(`no command for ${name}`);
  const child = spawn(exe, args, { detached: true, stdio: ['ignore', fd, fd] });
  closeSync(fd);
  if (child.pid === undefined) throw new Error(`could not start ${name} (${exe})`);
  child.unref();
  return { name, pid: child.pid, argv, log };
}

/** True only for our own process: a recycled pid running something else is not ours. */
export function procAlive(p: ProcRecord): boolean {
  try {
    // The executable, not the command line: redis-server rewrites its process title.
    const exe = readlinkSync(`/proc/${p.pid}/exe`);
    const stat = readFileSync(`/proc/${p.pid}/stat`, 'utf8');
    const zombie = stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
    return !zombie && exe === realpathSync(p.argv[0] ?? '');
  } catch {
    return false;
  }
}

export async function stopProc(p: ProcRecord, graceMs = 10_000): Promise<boolean> {
  if (!procAlive(p)) return false;
  try {
    process.kill(p.pid, 'SIGTERM');
  } catch {
    return false;
  }
  const deadline = Date.now() + graceMs;
  while (procAlive(p) && Date.now() < deadline) await sleep(100);
  if (procAlive(p)) {
    try {
      process.kill(p.pid, 'SIGKILL');
    } catch {
      // already gone
    }
    while (procAlive(p)) await sleep(50);
  }
  return true;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export function httpsGet(
  url: string,
  ca: string,
  token: string,
  timeoutMs = 2000,
): Promise<{ status: number; body: string }> {
  return httpsRequest(url, ca, token, 'GET', undefined, timeoutMs);
}

export function httpsRequest(
  url: string,
  ca: string,
  token: string,
  method: string,
  body?: object,
  timeoutMs = 5000,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { authorization: `Bearer ${token}` };
    if (body) headers['content-type'] = 'application/json';
    const req = request(url, { ca, method, headers, timeout: timeoutMs }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end(body ? JSON.stringify(body) : undefined);
  });
}

export async function apiserverReady(state: Pick<ClusterState, 'server' | 'caFile' | 'token'>): Promise<boolean> {
  try {
    const res = await httpsGet(`${state.server}/readyz`, readFileSync(state.caFile, 'utf8'), state.token);
    return res.status === 200;
  } catch {
    return false;
  }
}

export async function stateIsLive(state: ClusterState): Promise<boolean> {
  return state.procs.every(procAlive) && (await apiserverReady(state));
}

/** Stops one recorded process and starts it again with the same command line (same port). */
export async function restartProc(dir: string, name: ProcRecord['name'], downMs = 0): Promise<ProcRecord> {
  const state = readState(dir);
  const old = state?.procs.find((p) => p.name === name);
  if (!state || !old) throw new Error(`no ${name} recorded in ${dir}`);
  await stopProc(old);
  if (downMs) await sleep(downMs);
  const fresh = startProc(name, old.argv, old.log);
  state.procs = state.procs.map((p) => (p.name === name ? fresh : p));
  writeState(dir, state);
  return fresh;
}
