// Starts etcd, kube-apiserver (RBAC on, ServiceAccount tokens signed) and redis-server on free
// loopback ports, writes an admin kubeconfig, and records everything in state.json.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  apiserverReady,
  procAlive,
  sleep,
  startProc,
  writeState,
  type ClusterState,
  type ProcRecord,
} from './state.ts';

export interface UpOptions {
  dir: string;
  apiserver: string;
  etcd: string;
  /** e.g. --watch-cache=false for a test that needs watches served by etcd itself. */
  extraApiserverArgs?: string[];
}

function which(cmd: string): string {
  const res = spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' });
  const path = res.stdout.trim();
  if (res.status !== 0 || !path) throw new Error(`${cmd} is not installed (run scripts/setup.sh, or apt-get install ${cmd})`);
  return path;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

function openssl(args: string[], cwd: string): void {
  const res = spawnSync('openssl', args, { cwd, encoding: 'utf8' });
  if (res.error) throw new Error(`openssl is needed to make the cluster's certificates: ${res.error.message}`);
  if (res.status !== 0) throw new Error(`openssl ${args[0]} failed: ${res.stderr.trim()}`);
}

/** A throwaway CA, a serving cert for 127.0.0.1/localhost, and the ServiceAccount signing key. */
function makeCerts(pki: string): void {
  mkdirSync(pki, { recursive: true });
  openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '3650', '-subj', '/CN=critsvc-local-ca',
    '-keyout', 'ca.key', '-out', 'ca.crt'], pki);
  writeFileSync(join(pki, 'san.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes.default.svc\n' +
    'extendedKeyUsage=serverAuth\n');
  openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=kube-apiserver', '-keyout', 'server.key',
    '-out', 'server.csr'], pki);
  openssl(['x509', '-req', '-in', 'server.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-days',
    '3650', '-extfile', 'san.ext', '-out', 'server.crt'], pki);
  openssl(['genrsa', '-out', 'sa.key', '2048'], pki);
  openssl(['rsa', '-in', 'sa.key', '-pubout', '-out', 'sa.pub'], pki);
}

function kubeconfigYaml(server: string, caFile: string, token: string): string {
  const ca = readFileSync(caFile).toString('base64');
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    '- name: critsvc-local',
    '  cluster:',
    `    server: ${server}`,
    `    certificate-authority-data: ${ca}`,
    'users:',
    '- name: admin',
    '  user:',
    `    token: ${token}`,
    'contexts:',
    '- name: critsvc-local',
    '  context: {cluster: critsvc-local, user: admin, namespace: default}',
    'current-context: critsvc-local',
    '',
  ].join('\n');
}

async function waitFor(what: string, proc: ProcRecord, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    if (!procAlive(proc)) throw new Error(`${what} exited during start-up; last log lines:\n${tail(proc.log)}`);
    await sleep(200);
  }
  throw new Error(`${what} not ready after ${timeoutMs / 1000}s; last log lines:\n${tail(proc.log)}`);
}

function tail(file: string, n = 15): string {
  if (!existsSync(file)) return '(no log)';
  return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-n).join('\n');
}

/** True when a Redis on the port answers PING as `accept` wants (with requirepass it says -NOAUTH). */
export function redisPing(port: number, accept: RegExp = /^\+PONG/): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = createConnection({ host: '127.0.0.1', port }, () => sock.write('PING\r\n'));
    sock.setTimeout(1000, () => {
      sock.destroy();
      resolve(false);
    });
    sock.on('data', (d) => {
      sock.destroy();
      resolve(accept.test(d.toString()));
    });
    sock.on('error', () => resolve(false));
  });
}

function etcdArgv(bin: string, dataDir: string, clientPort: number, peerPort: number): string[] {
  const client = `http://127.0.0.1:${clientPort}`;
  const peer = `http://127.0.0.1:${peerPort}`;
  return [bin, '--name=critsvc', `--data-dir=${dataDir}`, `--listen-client-urls=${client}`,
    `--advertise-client-urls=${client}`, `--listen-peer-urls=${peer}`, `--initial-advertise-peer-urls=${peer}`,
    `--initial-cluster=critsvc=${peer}`, '--unsafe-no-fsync', '--log-level=warn'];
}

function apiserverArgv(bin: string, pki: string, etcdUrl: string, port: number): string[] {
  const p = (f: string): string => join(pki, f);
  return [bin, `--etcd-servers=${etcdUrl}`, '--bind-address=127.0.0.1', '--advertise-address=127.0.0.1',
    `--secure-port=${port}`, `--tls-cert-file=${p('server.crt')}`, `--tls-private-key-file=${p('server.key')}`,
    `--client-ca-file=${p('ca.crt')}`, `--token-auth-file=${p('tokens.csv')}`, '--authorization-mode=RBAC',
    '--service-cluster-ip-range=10.0.0.0/16', '--service-account-issuer=https://kubernetes.default.svc',
    `--service-account-key-file=${p('sa.pub')}`, `--service-account-signing-key-file=${p('sa.key')}`,
    '--disable-admission-plugins=ServiceAccount', '--endpoint-reconciler-type=none', '--allow-privileged=true',
    '--max-requests-inflight=3000', '--max-mutating-requests-inflight=1000', '--v=0'];
}

export async function clusterUp(opts: UpOptions): Promise<ClusterState> {
  const { dir } = opts;
  mkdirSync(dir, { recursive: true });
  const pki = join(dir, 'pki');
  makeCerts(pki);
  const token = randomBytes(24).toString('hex');
  writeFileSync(join(pki, 'tokens.csv'), `${token},admin,admin-uid,"system:masters"\n`);

  // etcd's data lives on tmpfs when there is one: tests need speed, not durability.
  const shm = existsSync('/dev/shm') ? '/dev/shm' : tmpdir();
  const etcdDataDir = mkdtempSync(join(shm, 'critsvc-etcd-'));
  const [etcdPort, peerPort, apiPort, redisPort] = await Promise.all([freePort(), freePort(), freePort(), freePort()]);
  const etcdUrl = `http://127.0.0.1:${etcdPort}`;
  const server = `https://127.0.0.1:${apiPort}`;
  const caFile = join(pki, 'ca.crt');
  const state: ClusterState = {
    server, kubeconfig: join(dir, 'kubeconfig'), redisUrl: `redis://127.0.0.1:${redisPort}`,
    etcdUrl, etcdDataDir, caFile, token, procs: [],
  };
  const record = (p: ProcRecord): ProcRecord => {
    state.procs.push(p);
    writeState(dir, state); // recorded at once, so `down` can stop it even if start-up fails
    return p;
  };

  const etcd = record(startProc('etcd', etcdArgv(opts.etcd, etcdDataDir, etcdPort, peerPort), join(dir, 'etcd.log')));
  await waitFor(`etcd (port ${etcdPort})`, etcd, async () => {
    try {
      return (await fetch(`${etcdUrl}/health`)).ok;
    } catch {
      return false;
    }
  }, 30_000);

  const api = record(startProc('kube-apiserver', [...apiserverArgv(opts.apiserver, pki, etcdUrl, apiPort), ...(opts.extraApiserverArgs ?? [])],
    join(dir, 'kube-apiserver.log')));
  await waitFor(`kube-apiserver (port ${apiPort})`, api, () => apiserverReady(state), 90_000);

  const redis = record(startProc('redis-server', [which('redis-server'), '--port', String(redisPort), '--bind',
    '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], join(dir, 'redis.log')));
  await waitFor(`redis-server (port ${redisPort})`, redis, () => redisPing(redisPort), 15_000);

  writeFileSync(state.kubeconfig, kubeconfigYaml(server, caFile, token), { mode: 0o600 });
  writeState(dir, state);
  return state;
}
