// Starts etcd, kube-apiserver (RBAC on, ServiceAccount tokens signed) and redis-server on free
// loopback ports, writes an admin kubeconfig, and records everything in state.json. In the full
// mode (the default) it adds kube-controller-manager, kube-scheduler and kwok with a few fake
// Nodes, so pods are scheduled, become Running and Ready, EndpointSlices follow, the garbage
// collector collects and namespaces finish deleting: a small real cluster.
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  REDIS_ADMIN_USER,
  REDIS_USERS,
  redisAclFile,
  redisUserUrl,
  type RedisProcess,
} from '../../packages/shared/src/redis-acl.ts';
import {
  apiserverReady,
  httpsRequest,
  procAlive,
  sleep,
  startProc,
  writeState,
  type ClusterState,
  type ProcRecord,
} from './state.ts';
import { startRealNode, type RealNodeBinaries } from './node.ts';

/** full: a small real cluster; bare: kube-apiserver + etcd only (tests that play every other part). */
export type ClusterMode = 'full' | 'bare';

export interface UpOptions {
  dir: string;
  apiserver: string;
  etcd: string;
  /** Present in the full mode. */
  controllerManager?: string;
  scheduler?: string;
  kwok?: string;
  mode?: ClusterMode;
  /** Fake Nodes kwok manages (full mode). */
  nodes?: number;
  /** Pending → Running and Ready after this long (full mode; a pod's annotation may override it). */
  podReadyDelayMs?: number;
  /** CRITSVC_NODE=real (full mode): a real node besides kwok's (scripts/cluster/node.ts). */
  realNode?: RealNodeBinaries;
  /** e.g. --watch-cache=false for a test that needs watches served by etcd itself. */
  extraApiserverArgs?: string[];
}

function which(cmd: string): string {
  const res = spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' });
  const path = res.stdout.trim();
  if (res.status !== 0 || !path)
    throw new Error(`${cmd} is not installed (run scripts/setup.sh, or apt-get install ${cmd})`);
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
  openssl(
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '3650',
      '-subj',
      '/CN=critsvc-local-ca',
      '-keyout',
      'ca.key',
      '-out',
      'ca.crt',
    ],
    pki,
  );
  writeFileSync(
    join(pki, 'san.ext'),
    'subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes.default.svc\n' + 'extendedKeyUsage=serverAuth\n',
  );
  openssl(
    [
      'req',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-subj',
      '/CN=kube-apiserver',
      '-keyout',
      'server.key',
      '-out',
      'server.csr',
    ],
    pki,
  );
  openssl(
    [
      'x509',
      '-req',
      '-in',
      'server.csr',
      '-CA',
      'ca.crt',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-days',
      '3650',
      '-extfile',
      'san.ext',
      '-out',
      'server.crt',
    ],
    pki,
  );
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

async function waitFor(
  what: string,
  proc: ProcRecord,
  check: () => Promise<boolean>,
  timeoutMs: number,
): Promise<void> {
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

/**
 * The ACL users of deploy/ (packages/shared/src/redis-acl.ts) for every queue name, since tests and
 * the demo use a queue each: written to <dir>/users.acl (passwords hashed), read by redis-server
 * on every start (a restarted one has the same users); the default user is off.
 * @returns the ACL file and each user's URL (admin: everything; one per process)
 */
export function localRedisUsers(
  dir: string,
  hostPort: string,
): { aclFile: string; adminUrl: string; urls: Record<RedisProcess, string> } {
  const procs = Object.keys(REDIS_USERS) as RedisProcess[];
  const passwords = Object.fromEntries(['admin', ...procs].map((p) => [p, randomBytes(24).toString('hex')])) as Record<
    RedisProcess | 'admin',
    string
  >;
  const aclFile = join(dir, 'users.acl');
  writeFileSync(
    aclFile,
    redisAclFile('*', passwords, (pw) => createHash('sha256').update(pw).digest('hex')),
    { mode: 0o600 },
  );
  const urls = Object.fromEntries(
    procs.map((p) => [p, redisUserUrl(hostPort, REDIS_USERS[p].user, passwords[p])]),
  ) as Record<RedisProcess, string>;
  return { aclFile, adminUrl: redisUserUrl(hostPort, REDIS_ADMIN_USER, passwords.admin), urls };
}

function etcdArgv(bin: string, dataDir: string, clientPort: number, peerPort: number): string[] {
  const client = `http://127.0.0.1:${clientPort}`;
  const peer = `http://127.0.0.1:${peerPort}`;
  return [
    bin,
    '--name=critsvc',
    `--data-dir=${dataDir}`,
    `--listen-client-urls=${client}`,
    `--advertise-client-urls=${client}`,
    `--listen-peer-urls=${peer}`,
    `--initial-advertise-peer-urls=${peer}`,
    `--initial-cluster=critsvc=${peer}`,
    '--unsafe-no-fsync',
    '--log-level=warn',
  ];
}

function apiserverArgv(bin: string, pki: string, etcdUrl: string, port: number, mode: ClusterMode): string[] {
  const p = (f: string): string => join(pki, f);
  // Without kube-controller-manager nothing creates `default` ServiceAccounts, so pods could not
  // be admitted: the bare mode turns the ServiceAccount admission plugin off.
  const admission = mode === 'bare' ? ['--disable-admission-plugins=ServiceAccount'] : [];
  return [
    bin,
    `--etcd-servers=${etcdUrl}`,
    '--bind-address=127.0.0.1',
    '--advertise-address=127.0.0.1',
    `--secure-port=${port}`,
    `--tls-cert-file=${p('server.crt')}`,
    `--tls-private-key-file=${p('server.key')}`,
    `--client-ca-file=${p('ca.crt')}`,
    `--token-auth-file=${p('tokens.csv')}`,
    '--authorization-mode=RBAC',
    '--service-cluster-ip-range=10.0.0.0/16',
    '--service-account-issuer=https://kubernetes.default.svc',
    `--service-account-key-file=${p('sa.pub')}`,
    `--service-account-signing-key-file=${p('sa.key')}`,
    ...admission,
    '--endpoint-reconciler-type=none',
    '--allow-privileged=true',
    '--max-requests-inflight=3000',
    '--max-mutating-requests-inflight=1000',
    '--v=0',
  ];
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
  const users = localRedisUsers(dir, `127.0.0.1:${redisPort}`);
  const state: ClusterState = {
    server,
    kubeconfig: join(dir, 'kubeconfig'),
    redisUrl: users.adminUrl,
    redisUrls: users.urls,
    etcdUrl,
    etcdDataDir,
    caFile,
    token,
    procs: [],
  };
  const record = (p: ProcRecord): ProcRecord => {
    state.procs.push(p);
    writeState(dir, state); // recorded at once, so `down` can stop it even if start-up fails
    return p;
  };

  const etcd = record(startProc('etcd', etcdArgv(opts.etcd, etcdDataDir, etcdPort, peerPort), join(dir, 'etcd.log')));
  await waitFor(
    `etcd (port ${etcdPort})`,
    etcd,
    async () => {
      try {
        return (await fetch(`${etcdUrl}/health`)).ok;
      } catch {
        return false;
      }
    },
    30_000,
  );

  const mode = opts.mode ?? 'full';
  const api = record(
    startProc(
      'kube-apiserver',
      [...apiserverArgv(opts.apiserver, pki, etcdUrl, apiPort, mode), ...(opts.extraApiserverArgs ?? [])],
      join(dir, 'kube-apiserver.log'),
    ),
  );
  await waitFor(`kube-apiserver (port ${apiPort})`, api, () => apiserverReady(state), 90_000);

  const redis = record(
    startProc(
      'redis-server',
      [
        which('redis-server'),
        '--port',
        String(redisPort),
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        '--appendonly',
        'no',
        '--dir',
        dir,
        '--aclfile',
        users.aclFile,
      ],
      join(dir, 'redis.log'),
    ),
  );
  // The default user is off: PING without logging in says -NOAUTH.
  await waitFor(`redis-server (port ${redisPort})`, redis, () => redisPing(redisPort, /^-NOAUTH/), 15_000);

  writeFileSync(state.kubeconfig, kubeconfigYaml(server, caFile, token), { mode: 0o600 });
  state.mode = mode;
  writeState(dir, state);
  if (mode === 'full') await startClusterParts(opts, state, record);
  if (opts.realNode) {
    if (mode !== 'full')
      throw new Error('CRITSVC_NODE=real needs the full mode (kube-controller-manager, kube-scheduler)');
    await startRealNode({ dir, state, bins: opts.realNode, record, waitFor, freePort, admin: adminClient(state) });
    writeState(dir, state);
  }
  return state;
}

const NODE_LABEL = 'critsvc.test/kwok';

/**
 * The rest of a cluster, each step failing with the component's name: kube-controller-manager
 * (garbage collector, EndpointSlices, workloads, namespaces, ServiceAccounts, node lifecycle,
 * pod GC), kube-scheduler and kwok playing the kubelet of `nodes` fake Nodes.
 */
async function startClusterParts(
  opts: UpOptions,
  state: ClusterState,
  record: (p: ProcRecord) => ProcRecord,
): Promise<void> {
  const { dir } = opts;
  const need = (what: string, bin: string | undefined): string => {
    if (!bin)
      throw new Error(
        `full mode needs ${what}: build it with scripts/cluster/build-binaries.sh (or set CRITSVC_CLUSTER=bare)`,
      );
    return bin;
  };
  const kcm = record(
    startProc(
      'kube-controller-manager',
      controllerManagerArgv(need('kube-controller-manager', opts.controllerManager), state.kubeconfig),
      join(dir, 'kube-controller-manager.log'),
    ),
  );
  const scheduler = record(
    startProc(
      'kube-scheduler',
      [
        need('kube-scheduler', opts.scheduler),
        `--kubeconfig=${state.kubeconfig}`,
        '--leader-elect=false',
        '--secure-port=0',
        '--v=0',
      ],
      join(dir, 'kube-scheduler.log'),
    ),
  );
  const stages = join(dir, 'kwok-stages.yaml');
  writeFileSync(
    stages,
    readFileSync(join(dirname(fileURLToPath(import.meta.url)), 'kwok/stages.yaml'), 'utf8').replaceAll(
      '__POD_READY_MS__',
      String(opts.podReadyDelayMs ?? 0),
    ),
  );
  const kwok = record(
    startProc(
      'kwok',
      [
        need('kwok', opts.kwok),
        `--kubeconfig=${state.kubeconfig}`,
        `--config=${stages}`,
        `--manage-nodes-with-label-selector=${NODE_LABEL}=managed`,
        '--cidr=10.244.0.0/16',
        '--node-ip=10.96.0.1',
        '--node-lease-duration-seconds=40',
        '--v=WARN',
      ],
      join(dir, 'kwok.log'),
    ),
  );
  const admin = adminClient(state);
  await waitFor(
    'kube-controller-manager (the default ServiceAccount of namespace default)',
    kcm,
    async () => (await admin('GET', '/api/v1/namespaces/default/serviceaccounts/default')).status === 200,
    60_000,
  );
  for (let i = 0; i < (opts.nodes ?? 3); i++) await createNode(admin, `kwok-node-${i}`);
  await waitFor(
    'kwok (fake Nodes Ready)',
    kwok,
    async () => {
      const res = await admin('GET', `/api/v1/nodes?labelSelector=${NODE_LABEL}%3Dmanaged`);
      const items =
        (JSON.parse(res.body) as { items?: { status?: { conditions?: { type: string; status: string }[] } }[] })
          .items ?? [];
      return (
        items.length > 0 &&
        items.every((n) => n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'))
      );
    },
    60_000,
  );
  await probePod(admin, scheduler, kwok);
}

function controllerManagerArgv(bin: string, kubeconfig: string): string[] {
  const controllers = [
    'garbage-collector-controller',
    'endpoints-controller',
    'endpointslice-controller',
    'endpointslice-mirroring-controller',
    'replicaset-controller',
    'deployment-controller',
    'statefulset-controller',
    'daemonset-controller',
    'job-controller',
    'namespace-controller',
    'serviceaccount-controller',
    'node-lifecycle-controller',
    'taint-eviction-controller',
    'pod-garbage-collector-controller',
    'disruption-controller',
    'resourcequota-controller',
    'root-ca-certificate-publisher-controller',
  ];
  // QPS 20 (the default) serialises a Deployment's scale-up at ~21 pods/s; a test cluster wants more.
  return [
    bin,
    `--kubeconfig=${kubeconfig}`,
    '--leader-elect=false',
    '--secure-port=0',
    `--controllers=${controllers.join(',')}`,
    '--kube-api-qps=200',
    '--kube-api-burst=400',
    '--concurrent-gc-syncs=20',
    '--v=0',
  ];
}

type Admin = (method: string, path: string, body?: object) => Promise<{ status: number; body: string }>;

function adminClient(state: ClusterState): Admin {
  const ca = readFileSync(state.caFile, 'utf8');
  return (method, path, body) => httpsRequest(`${state.server}${path}`, ca, state.token, method, body);
}

async function createNode(admin: Admin, name: string): Promise<void> {
  const res = await admin('POST', '/api/v1/nodes', {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name,
      labels: { [NODE_LABEL]: 'managed', 'kubernetes.io/hostname': name, 'kubernetes.io/os': 'linux', type: 'kwok' },
      annotations: { 'kwok.x-k8s.io/node': 'fake', 'node.alpha.kubernetes.io/ttl': '0' },
    },
    spec: {},
  });
  if (res.status !== 201 && res.status !== 409)
    throw new Error(`creating Node ${name} failed: HTTP ${res.status} ${res.body.slice(0, 300)}`);
}

/** One pod through the whole path: scheduled by kube-scheduler, started by kwok, deleted. */
async function probePod(admin: Admin, scheduler: ProcRecord, kwok: ProcRecord): Promise<void> {
  const path = '/api/v1/namespaces/default/pods';
  const name = `critsvc-probe-${randomBytes(3).toString('hex')}`;
  const created = await admin('POST', path, {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name },
    spec: { containers: [{ name: 'probe', image: 'probe' }], terminationGracePeriodSeconds: 0 },
  });
  if (created.status !== 201)
    throw new Error(`probe pod refused: HTTP ${created.status} ${created.body.slice(0, 300)}`);
  const pod = async (): Promise<{ spec?: { nodeName?: string }; status?: { phase?: string } }> =>
    JSON.parse((await admin('GET', `${path}/${name}`)).body);
  await waitFor(
    'kube-scheduler (the probe pod bound to a Node)',
    scheduler,
    async () => Boolean((await pod()).spec?.nodeName),
    60_000,
  );
  await waitFor('kwok (the probe pod Running)', kwok, async () => (await pod()).status?.phase === 'Running', 60_000);
  await admin('DELETE', `${path}/${name}`, { gracePeriodSeconds: 0 });
}
