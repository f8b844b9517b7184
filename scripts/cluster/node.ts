// The local cluster's real node (CRITSVC_NODE=real): containerd with its CRI plugin on a private
// socket, a kubelet (cgroupfs, no swap check, its own root dir), a CNI bridge with host-local IPAM
// on a private subnet, and kube-proxy in iptables mode, so that a Service's ClusterIP really
// answers from the host. Pods land on it only when they tolerate its taint (kwok's Nodes stay
// the default for every other test). `realNodeDown` undoes all of it: pods' sandboxes and their
// network namespaces, mounts under the kubelet's root, the bridge, kube-proxy's iptables chains.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  procAlive,
  sleep,
  startProc,
  stopProc,
  type ClusterState,
  type ProcRecord,
  type RealNodeState,
} from './state.ts';

/** The Node's name, label and taint: tests and the bench select it, ordinary pods stay off it. */
export const REAL_NODE = 'critsvc-node';
export const REAL_NODE_LABEL = { key: 'critsvc.test/node', value: 'real' } as const;
export const REAL_NODE_TAINT = { key: 'critsvc.test/real-node', value: 'true', effect: 'NoSchedule' } as const;
/** What a pod spec needs to run there. */
export const ON_REAL_NODE = {
  nodeSelector: { [REAL_NODE_LABEL.key]: REAL_NODE_LABEL.value },
  tolerations: [
    { key: REAL_NODE_TAINT.key, operator: 'Equal', value: REAL_NODE_TAINT.value, effect: REAL_NODE_TAINT.effect },
  ],
};
/** Pod subnet: outside the Service range (10.0.0.0/16), kwok's fake pod IPs (10.244.0.0/16) and podman's (10.88.0.0/16). */
export const POD_SUBNET = '10.250.0.0/24';
/** kube-apiserver's --service-cluster-ip-range (scripts/cluster/up.ts). */
export const SERVICE_CIDR = '10.0.0.0/16';
/** Drops ClusterIP traffic kube-proxy did not translate (see serviceSink). */
const SINK_CHAIN = 'CRITSVC-SERVICE-SINK';
const BRIDGE = 'critsvc0';
const CNI_NETWORK = 'critsvc-node';
const CNI_BIN = '/usr/lib/cni';
export const PAUSE_IMAGE = 'critsvc.local/pause:1';
export const APP_IMAGE = 'critsvc.local/app:1';

export interface RealNodeBinaries {
  kubelet: string;
  kubeProxy: string;
}

const here = dirname(fileURLToPath(import.meta.url));

function run(cmd: string, args: string[], input?: string): { status: number; out: string; err: string } {
  const res = spawnSync(cmd, args, {
    encoding: 'utf8',
    input,
    env: { ...process.env, PATH: `${process.env.PATH ?? ''}:/usr/sbin:/sbin` },
  });
  if (res.error) return { status: 127, out: '', err: res.error.message };
  return { status: res.status ?? 1, out: res.stdout, err: res.stderr };
}

/** Why this machine cannot run the real node, or undefined when it can (checked before anything starts). */
export function realNodeUnsupported(bins?: Partial<RealNodeBinaries>): string | undefined {
  if (process.getuid?.() !== 0) return 'the real node needs root (containerd, runc, network namespaces, iptables)';
  for (const t of ['containerd', 'ctr', 'runc', 'iptables', 'iptables-save', 'conntrack', 'ip', 'podman']) {
    if (run('sh', ['-c', `PATH="$PATH:/usr/sbin:/sbin" command -v ${t}`]).status !== 0)
      return `${t} is not installed (scripts/setup.sh test installs it)`;
  }
  for (const p of ['bridge', 'host-local', 'loopback'])
    if (!existsSync(join(CNI_BIN, p)))
      return `the CNI plugin ${CNI_BIN}/${p} is missing (apt-get install containernetworking-plugins)`;
  if (bins && (!bins.kubelet || !bins.kubeProxy))
    return 'kubelet and kube-proxy are not built (CRITSVC_NODE=real bash scripts/cluster/build-binaries.sh)';
  const ns = run('unshare', ['-n', 'true']);
  if (ns.status !== 0) return `network namespaces are refused here: unshare -n true: ${ns.err.trim()}`;
  return undefined;
}

function hostIp(): string {
  const route = run('ip', ['-4', 'route', 'get', '192.0.2.255']).out;
  const src = /\bsrc (\d+\.\d+\.\d+\.\d+)/.exec(route)?.[1];
  if (src && !src.startsWith('127.')) return src;
  const addrs = run('ip', ['-4', '-o', 'addr', 'show', 'scope', 'global']).out;
  const any = /inet (\d+\.\d+\.\d+\.\d+)/.exec(addrs)?.[1];
  if (!any) throw new Error("real node: no global IPv4 address on this host for the kubelet's --node-ip");
  return any;
}

function sysctl(key: string, value: string): void {
  const path = `/proc/sys/${key.replaceAll('.', '/')}`;
  try {
    if (existsSync(path)) writeFileSync(path, value);
  } catch (err) {
    throw new Error(`real node: cannot set ${key}=${value}: ${err instanceof Error ? err.message : String(err)}`, {
      cause: err,
    });
  }
}

function containerdConfig(d: RealNodeState): string {
  return [
    'version = 2',
    `root = "${join(d.dir, 'containerd/root')}"`,
    `state = "${join(d.dir, 'containerd/state')}"`,
    '[grpc]',
    `  address = "${d.containerdSock}"`,
    '[ttrpc]',
    `  address = "${d.containerdSock}.ttrpc"`,
    '[debug]',
    '  level = "info"',
    '[plugins."io.containerd.grpc.v1.cri"]',
    `  sandbox_image = "${PAUSE_IMAGE}"`,
    '  netns_mounts_under_state_dir = true',
    '  stream_server_address = "127.0.0.1"',
    '  enable_selinux = false',
    // The sandbox refuses to lower oom_score_adj (the kubelet asks -998 for sandboxes): no lower than containerd's own.
    '  restrict_oom_score_adj = true',
    '  [plugins."io.containerd.grpc.v1.cri".containerd]',
    '    snapshotter = "overlayfs"',
    '    default_runtime_name = "runc"',
    '    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]',
    '      runtime_type = "io.containerd.runc.v2"',
    '      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]',
    '        SystemdCgroup = false',
    '  [plugins."io.containerd.grpc.v1.cri".cni]',
    `    bin_dir = "${CNI_BIN}"`,
    `    conf_dir = "${join(d.dir, 'cni/net.d')}"`,
    '    max_conf_num = 1',
    '',
  ].join('\n');
}

function cniConfig(d: RealNodeState): object {
  return {
    cniVersion: '1.0.0',
    name: CNI_NETWORK,
    plugins: [
      {
        type: 'bridge',
        bridge: d.bridge,
        isGateway: true,
        ipMasq: true,
        hairpinMode: true,
        ipam: {
          type: 'host-local',
          ranges: [[{ subnet: d.podSubnet }]],
          routes: [{ dst: '0.0.0.0/0' }],
          dataDir: join(d.dir, 'cni/ipam'),
        },
      },
    ],
  };
}

function kubeletConfig(d: RealNodeState, port: number, healthzPort: number): string {
  // A sandbox kubelet: no QoS cgroups or node allocatable enforcement (the machine's cgroup v1
  // layout is not its own), no eviction or image GC to surprise a test, nothing on the network.
  return JSON.stringify(
    {
      apiVersion: 'kubelet.config.k8s.io/v1beta1',
      kind: 'KubeletConfiguration',
      address: '127.0.0.1',
      port,
      readOnlyPort: 0,
      healthzBindAddress: '127.0.0.1',
      healthzPort,
      authentication: { anonymous: { enabled: false }, webhook: { enabled: false } },
      authorization: { mode: 'AlwaysAllow' },
      cgroupDriver: 'cgroupfs',
      cgroupsPerQOS: false,
      enforceNodeAllocatable: [],
      failSwapOn: false,
      failCgroupV1: false,
      containerRuntimeEndpoint: `unix://${d.containerdSock}`,
      resolvConf: '/etc/resolv.conf',
      registerWithTaints: [REAL_NODE_TAINT],
      evictionHard: {
        'memory.available': '1Mi',
        'nodefs.available': '0%',
        'nodefs.inodesFree': '0%',
        'imagefs.available': '0%',
      },
      imageGCHighThresholdPercent: 100,
      imageGCLowThresholdPercent: 99,
      imageMinimumGCAge: '87600h',
      serializeImagePulls: false,
      nodeStatusUpdateFrequency: '10s',
      syncFrequency: '30s',
      maxPods: 30,
      localStorageCapacityIsolation: false,
      protectKernelDefaults: false,
      shutdownGracePeriod: '0s',
    },
    null,
    2,
  );
}

function kubeProxyConfig(d: RealNodeState, kubeconfig: string, healthz: number, metrics: number): string {
  // minSyncPeriod 1ms: rules follow each EndpointSlice change at once. The default (1 s) held a
  // change up to 1 s behind the previous sync; 0 in the file means "unset", hence the default.
  // conntrack limits 0: kube-proxy leaves the host's sysctls alone.
  return JSON.stringify(
    {
      apiVersion: 'kubeproxy.config.k8s.io/v1alpha1',
      kind: 'KubeProxyConfiguration',
      clientConnection: { kubeconfig },
      hostnameOverride: d.name,
      mode: 'iptables',
      clusterCIDR: d.podSubnet,
      healthzBindAddress: `127.0.0.1:${healthz}`,
      metricsBindAddress: `127.0.0.1:${metrics}`,
      iptables: { minSyncPeriod: '1ms', syncPeriod: '30s', localhostNodePorts: false, masqueradeAll: false },
      conntrack: { maxPerCore: 0, min: 0, tcpEstablishedTimeout: '0s', tcpCloseWaitTimeout: '0s' },
      nodePortAddresses: [`${hostIp()}/32`],
    },
    null,
    2,
  );
}

export interface RealNodeDeps {
  dir: string;
  state: ClusterState;
  bins: RealNodeBinaries;
  record: (p: ProcRecord) => ProcRecord;
  waitFor: (what: string, proc: ProcRecord, check: () => Promise<boolean>, timeoutMs: number) => Promise<void>;
  freePort: () => Promise<number>;
  admin: (method: string, path: string, body?: object) => Promise<{ status: number; body: string }>;
}

/** Starts containerd, imports the local images, then the kubelet and kube-proxy; resolves once the Node is Ready. */
export async function startRealNode(deps: RealNodeDeps): Promise<RealNodeState> {
  const why = realNodeUnsupported(deps.bins);
  if (why) throw new Error(`real node: ${why}`);
  const { dir, state, record, waitFor } = deps;
  const base = join(dir, 'node');
  const d: RealNodeState = {
    name: REAL_NODE,
    dir: base,
    containerdSock: join(base, 'containerd.sock'),
    kubeletRoot: join(base, 'kubelet'),
    kubeProxyConfig: join(base, 'kube-proxy.json'),
    kubeProxyBin: deps.bins.kubeProxy,
    podSubnet: POD_SUBNET,
    bridge: BRIDGE,
  };
  for (const sub of ['containerd', 'cni/net.d', 'cni/ipam', 'kubelet']) mkdirSync(join(base, sub), { recursive: true });
  state.node = d;
  sysctl('net.ipv4.ip_forward', '1');
  // Pod → ClusterIP → a pod on the same bridge goes through iptables only with br_netfilter on.
  sysctl('net.bridge.bridge-nf-call-iptables', '1');
  serviceSink();

  writeFileSync(join(base, 'containerd.toml'), containerdConfig(d));
  const containerd = record(
    startProc(
      'containerd',
      [which('containerd'), `--config=${join(base, 'containerd.toml')}`],
      join(dir, 'containerd.log'),
    ),
  );
  await waitFor(
    `containerd (socket ${d.containerdSock})`,
    containerd,
    async () => run('ctr', ['--address', d.containerdSock, 'version']).status === 0,
    30_000,
  );

  const images = spawnSync('bash', [join(here, 'node/images.sh'), d.containerdSock], {
    stdio: ['ignore', 'pipe', 'inherit'],
    encoding: 'utf8',
  });
  if (images.status !== 0) throw new Error('real node: building or importing its images failed (see the lines above)');

  writeFileSync(join(base, 'cni/net.d/10-critsvc.conflist'), JSON.stringify(cniConfig(d), null, 2));
  const [kubeletPort, healthzPort, proxyHealthz, proxyMetrics] = await Promise.all([
    deps.freePort(),
    deps.freePort(),
    deps.freePort(),
    deps.freePort(),
  ]);
  writeFileSync(join(base, 'kubelet.json'), kubeletConfig(d, kubeletPort, healthzPort));
  const kubelet = record(
    startProc(
      'kubelet',
      [
        deps.bins.kubelet,
        `--kubeconfig=${state.kubeconfig}`,
        `--config=${join(base, 'kubelet.json')}`,
        `--root-dir=${d.kubeletRoot}`,
        `--hostname-override=${d.name}`,
        `--node-ip=${hostIp()}`,
        `--node-labels=${REAL_NODE_LABEL.key}=${REAL_NODE_LABEL.value}`,
        '--v=2',
      ],
      join(dir, 'kubelet.log'),
    ),
  );

  writeFileSync(d.kubeProxyConfig, kubeProxyConfig(d, state.kubeconfig, proxyHealthz, proxyMetrics));
  const proxy = record(
    startProc(
      'kube-proxy',
      [deps.bins.kubeProxy, `--config=${d.kubeProxyConfig}`, '--v=2'],
      join(dir, 'kube-proxy.log'),
    ),
  );

  await waitFor(
    `kubelet (Node ${d.name} Ready)`,
    kubelet,
    async () => {
      const res = await deps.admin('GET', `/api/v1/nodes/${d.name}`);
      if (res.status !== 200) return false;
      const node = JSON.parse(res.body) as { status?: { conditions?: { type: string; status: string }[] } };
      return node.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
    },
    90_000,
  );
  await waitFor(
    `kube-proxy (healthz on 127.0.0.1:${proxyHealthz})`,
    proxy,
    async () => {
      try {
        return (await fetch(`http://127.0.0.1:${proxyHealthz}/healthz`)).ok;
      } catch {
        return false;
      }
    },
    60_000,
  );
  return d;
}

function which(cmd: string): string {
  const res = run('sh', ['-c', `PATH="$PATH:/usr/sbin:/sbin" command -v ${cmd}`]);
  const path = res.out.trim();
  if (res.status !== 0 || !path)
    throw new Error(`real node: ${cmd} is not installed (scripts/setup.sh test installs it)`);
  return path;
}

interface SandboxInfo {
  id: string;
  netns?: string;
}

/** The CRI's pod sandboxes, read from containerd (the kubelet is gone by then). */
function sandboxes(sock: string): SandboxInfo[] {
  const ids = run('ctr', ['--address', sock, '-n', 'k8s.io', 'containers', 'ls', '-q']).out.split('\n').filter(Boolean);
  const out: SandboxInfo[] = [];
  for (const id of ids) {
    const info = run('ctr', ['--address', sock, '-n', 'k8s.io', 'containers', 'info', id]);
    try {
      const c = JSON.parse(info.out) as {
        Labels?: Record<string, string>;
        Spec?: { linux?: { namespaces?: { type: string; path?: string }[] } };
      };
      if (c.Labels?.['io.cri-containerd.kind'] !== 'sandbox') continue;
      out.push({ id, netns: c.Spec?.linux?.namespaces?.find((n) => n.type === 'network')?.path });
    } catch {
      // not readable: its task is killed below all the same
    }
  }
  return out;
}

/** Mount points under `dir`, deepest first. */
function mountsUnder(dir: string): string[] {
  const lines = readFileSync('/proc/self/mountinfo', 'utf8').split('\n');
  const points = lines.map((l) => l.split(' ')[4] ?? '').filter((p) => p === dir || p.startsWith(`${dir}/`));
  return [...new Set(points)].sort((a, b) => b.length - a.length);
}

/**
 * A ClusterIP packet kube-proxy did not translate (no DNAT: a new connection in the instant
 * between its filter and nat tables' commits, say) follows the default route. On a real node it
 * is lost at the gateway and the client times out; in this sandbox the egress proxy on the
 * default route answers any port 80 with `HTTP 404` (`server: keryx`) and keeps the connection,
 * which held the bench's keep-alive client for the rest of its trials. Such packets are dropped
 * here, as the gateway would: `-d SERVICE_CIDR -m conntrack ! --ctstate DNAT -j DROP`, from the
 * host (OUTPUT) and from pods (FORWARD).
 */
function serviceSink(): void {
  cleanServiceSink();
  const must = (...args: string[]): void => {
    const res = run('iptables', args);
    if (res.status !== 0) throw new Error(`real node: iptables ${args.join(' ')}: ${res.err.trim()}`);
  };
  must('-N', SINK_CHAIN);
  must('-A', SINK_CHAIN, '-d', SERVICE_CIDR, '-m', 'conntrack', '!', '--ctstate', 'DNAT', '-j', 'DROP');
  for (const hook of ['OUTPUT', 'FORWARD']) must('-A', hook, '-j', SINK_CHAIN);
}

function cleanServiceSink(): void {
  for (const hook of ['OUTPUT', 'FORWARD']) while (run('iptables', ['-D', hook, '-j', SINK_CHAIN]).status === 0);
  run('iptables', ['-F', SINK_CHAIN]);
  run('iptables', ['-X', SINK_CHAIN]);
}

/** Removes kube-proxy's chains, the bridge plugin's masquerade rules for our network, the kubelet's chains, the service sink. */
function cleanIptables(d: RealNodeState): string[] {
  const notes: string[] = [];
  const cleanup = run(d.kubeProxyBin, ['--cleanup', `--config=${d.kubeProxyConfig}`]);
  if (cleanup.status !== 0) notes.push(`kube-proxy --cleanup: ${cleanup.err.trim().split('\n').at(-1) ?? ''}`);
  cleanBridgeMasquerade();
  cleanKubeletChains();
  cleanServiceSink();
  return notes;
}

/** Only the nat rules the bridge plugin tagged with our network's name (left when a CNI DEL could not run). */
function cleanBridgeMasquerade(): void {
  const rules = run('iptables-save', ['-t', 'nat'])
    .out.split('\n')
    .filter((l) => l.startsWith('-A POSTROUTING') && l.includes(`name: \\"${CNI_NETWORK}\\"`));
  for (const rule of rules) {
    const chain = / -j (CNI-[0-9a-f]+)/.exec(rule)?.[1];
    const args =
      rule
        .replace(/^-A /, '-D ')
        .match(/"(?:[^"\\]|\\.)*"|\S+/g)
        ?.map((a) => (a.startsWith('"') ? a.slice(1, -1).replaceAll('\\"', '"') : a)) ?? [];
    run('iptables', ['-t', 'nat', ...args]);
    if (!chain) continue;
    run('iptables', ['-t', 'nat', '-F', chain]);
    run('iptables', ['-t', 'nat', '-X', chain]);
  }
}

/** The kubelet's own chains (it makes them at start whatever its configuration says). */
function cleanKubeletChains(): void {
  const tables = ['iptables', 'ip6tables'].flatMap((cmd) =>
    ['filter', 'nat', 'mangle'].map((table) => [cmd, table] as const),
  );
  for (const [cmd, table] of tables) {
    for (const hook of ['INPUT', 'OUTPUT'])
      while (run(cmd, ['-t', table, '-D', hook, '-j', 'KUBE-FIREWALL']).status === 0);
    for (const chain of ['KUBE-FIREWALL', 'KUBE-KUBELET-CANARY', 'KUBE-IPTABLES-HINT']) {
      run(cmd, ['-t', table, '-F', chain]);
      run(cmd, ['-t', table, '-X', chain]);
    }
  }
}

const ctr = (sock: string, ...args: string[]): ReturnType<typeof run> =>
  run('ctr', ['--address', sock, '-n', 'k8s.io', ...args]);

/** Every container killed and removed, then CNI DEL for each sandbox as the CRI would (the veth and its masquerade rules go). */
async function removePods(d: RealNodeState): Promise<void> {
  const confFile = join(d.dir, 'cni/net.d/10-critsvc.conflist');
  const plugin = existsSync(confFile)
    ? (JSON.parse(readFileSync(confFile, 'utf8')) as { plugins: object[]; cniVersion: string; name: string })
    : undefined;
  const sbs = sandboxes(d.containerdSock);
  const ids = ctr(d.containerdSock, 'containers', 'ls', '-q').out.split('\n').filter(Boolean);
  for (const id of ids) ctr(d.containerdSock, 'tasks', 'kill', '-s', 'SIGKILL', id);
  await sleep(300);
  for (const id of ids) {
    ctr(d.containerdSock, 'tasks', 'delete', '-f', id);
    ctr(d.containerdSock, 'containers', 'delete', id);
  }
  for (const sb of sbs) {
    if (!plugin || !sb.netns) continue;
    const net = { cniVersion: plugin.cniVersion, name: plugin.name, ...plugin.plugins[0] };
    spawnSync(join(CNI_BIN, 'bridge'), [], {
      input: JSON.stringify(net),
      env: {
        CNI_COMMAND: 'DEL',
        CNI_CONTAINERID: sb.id,
        CNI_NETNS: sb.netns,
        CNI_IFNAME: 'eth0',
        CNI_PATH: CNI_BIN,
        PATH: '/usr/sbin:/usr/bin:/sbin:/bin',
      },
    });
  }
}

/** Shims outlive containerd: ours are the ones started with our socket. */
function killShims(sock: string): void {
  for (const pid of readdirSync('/proc').filter((x) => /^\d+$/.test(x))) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      if (cmd.includes('containerd-shim') && cmd.includes(sock)) process.kill(Number(pid), 'SIGKILL');
    } catch {
      // gone already
    }
  }
}

/**
 * Stops kube-proxy and the kubelet, tears down every pod sandbox (CNI DEL, its network namespace),
 * stops containerd and its shims, unmounts what is left under the node's directory and removes it,
 * the bridge and the iptables chains. Each step runs even when one before it failed.
 */
export async function realNodeDown(state: ClusterState): Promise<string[]> {
  const d = state.node;
  if (!d) return [];
  const stopped: string[] = [];
  const proc = (name: ProcRecord['name']): ProcRecord | undefined => state.procs.find((p) => p.name === name);
  for (const name of ['kube-proxy', 'kubelet'] as const) {
    const p = proc(name);
    if (p && (await stopProc(p))) stopped.push(`${name} (pid ${p.pid})`);
  }
  const containerd = proc('containerd');
  if (containerd && procAlive(containerd)) {
    await removePods(d).catch((err: unknown) => stopped.push(`(removing pods failed: ${String(err)})`));
    if (await stopProc(containerd)) stopped.push(`containerd (pid ${containerd.pid})`);
  }
  killShims(d.containerdSock);
  for (const m of mountsUnder(d.dir)) run('umount', ['-l', m]);
  stopped.push(...cleanIptables(d));
  run('ip', ['link', 'delete', d.bridge]);
  rmSync(d.dir, { recursive: true, force: true });
  return stopped;
}
