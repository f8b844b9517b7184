// `node bench/protobuf-reader.ts [--runs N] [--json FILE]` (or `--steady`): pod-protobuf.ts's hand wire reader against
// @bufbuild/protobuf's BinaryReader (bench/lib/pod-protobuf-bufbuild.ts, the same field tables),
// on a 150,000-pod list in the API server's protobuf envelope, in pages of POD_LIST_PAGE.
// Checks both decode every page and the unit tests' fixtures alike, then runs each reader in
// fresh Node processes, in turn (A B, B A, ...): decode time of all pages, and RSS / heapUsed
// after a global.gc() with the decoded pods still held, as a watcher holds its list.
// Report: bench/results/2026-12-08-protobuf-reader.md.
import { deepStrictEqual } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, freemem, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import * as hand from '../packages/shared/src/pod-protobuf.ts';
import * as bufbuild from './lib/pod-protobuf-bufbuild.ts';
import { ProtobufError } from '../packages/shared/src/protobuf-wire.ts';
import { median } from './lib/stats.ts';

const PODS = 150_000;
/** kube.ts's POD_LIST_PAGE (checked in main): not imported here, kube.ts loads client-node into the measured processes. */
const POD_LIST_PAGE = 2_000;
const BUFBUILD_VERSION = '2.17.0';
/**
 * The children's V8 settings: watcher-pods' young generation (scripts/run/supervisor.ts,
 * localNodeOptions), and V8's defaults. Not watcher-pods' 128 MB old space: 150,000 held pods are
 * ~120 MB of heap, and at that cap the decode measures GC thrash (10 s instead of 3-6 s).
 * watcher-pods itself hands each page on to the outbox; it holds none of them.
 */
const CONFIGS = [
  { name: '--max-semi-space-size=2 (watcher-pods)', flags: ['--max-semi-space-size=2'] },
  { name: 'V8 defaults', flags: [] },
] as const;
const SELF = fileURLToPath(import.meta.url);
const DATA = join(tmpdir(), `critsvc-protobuf-reader-${PODS}`);

type Decoder = typeof hand.decodePodList;
const READERS = ['hand', 'bufbuild'] as const;
type ReaderName = (typeof READERS)[number];

// ---- The encoder (protobuf wire format, as the unit tests' fixtures are written) ----

function varint(n: number): Buffer {
  const out: number[] = [];
  while (n >= 0x80) {
    out.push((n % 0x80) | 0x80);
    n = Math.floor(n / 0x80);
  }
  out.push(n);
  return Buffer.from(out);
}
const bytes = (f: number, b: Buffer): Buffer => Buffer.concat([varint(f * 8 + 2), varint(b.length), b]);
const str = (f: number, s: string): Buffer => bytes(f, Buffer.from(s, 'utf8'));
const num = (f: number, n: number): Buffer => Buffer.concat([varint(f * 8), varint(n)]);
const msg = (f: number, ...parts: Buffer[]): Buffer => bytes(f, Buffer.concat(parts));
/** A metav1.Time: seconds (1), nanos (2). */
const time = (f: number, seconds: number): Buffer => msg(f, num(1, seconds), num(2, 0));
const entry = (f: number, k: string, v: string): Buffer => msg(f, str(1, k), str(2, v));

/** A deterministic stream of pseudo-random hex (the payload is the same on every machine). */
function hex(seed: string, chars: number): string {
  return createHash('sha256').update(seed).digest('hex').repeat(2).slice(0, chars);
}
const uuid = (seed: string): string => {
  const h = hex(seed, 32);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
};

const T0 = 1_764_914_400;

/** What kube-controller-manager's and kubelet's managedFields entries hold (fieldsV1 JSON). */
const FIELDS_CREATE = JSON.stringify({
  'f:metadata': {
    'f:generateName': {},
    'f:labels': {
      '.': {},
      'f:app': {},
      'f:app.kubernetes.io/name': {},
      'f:app.kubernetes.io/part-of': {},
      'f:pod-template-hash': {},
      'f:tier': {},
    },
    'f:ownerReferences': { '.': {}, 'k:{"uid":"…"}': {} },
  },
  'f:spec': {
    'f:containers': { 'k:{"name":"app"}': { '.': {}, 'f:image': {}, 'f:name': {}, 'f:ports': {}, 'f:resources': {} } },
    'f:restartPolicy': {},
    'f:terminationGracePeriodSeconds': {},
  },
});
const FIELDS_STATUS = JSON.stringify({
  'f:status': {
    'f:conditions': { 'k:{"type":"Ready"}': { '.': {}, 'f:lastTransitionTime': {}, 'f:status': {} } },
    'f:containerStatuses': {},
    'f:hostIP': {},
    'f:phase': {},
    'f:podIP': {},
    'f:startTime': {},
  },
});

const managed = (f: number, manager: string, fields: string, subresource: string): Buffer =>
  msg(
    f,
    str(1, manager),
    str(2, 'Update'),
    str(3, 'v1'),
    time(4, T0),
    str(6, 'FieldsV1'),
    msg(7, str(1, fields)),
    str(8, subresource),
  );

/** Pod i: a Deployment's replica (ten to a ReplicaSet); one in a hundred a critsvc default pod. */
function podMeta(i: number, ns: string, app: string, rs: string, critsvc: boolean): Buffer {
  const owner = critsvc
    ? msg(13, str(1, 'CriticalService'), str(3, `${app}-crit`), str(4, uuid(`crit-${app}`)), str(5, 'mycrd.com/v1'))
    : msg(13, str(1, 'ReplicaSet'), str(3, rs), str(4, uuid(`rs-${rs}`)), str(5, 'apps/v1'), num(6, 1), num(7, 1));
  return msg(
    1,
    str(1, `${rs}-${hex(`pod-${i}`, 5)}`),
    str(2, `${rs}-`),
    str(3, ns),
    str(4, ''),
    str(5, uuid(`pod-${i}`)),
    str(6, String(4_000_000 + i * 3)),
    num(7, 0),
    time(8, T0 + i),
    entry(11, 'app', app),
    entry(11, 'app.kubernetes.io/name', app),
    entry(11, 'app.kubernetes.io/part-of', `shop-${i % 17}`),
    entry(11, 'pod-template-hash', rs.slice(-10)),
    entry(11, 'tier', ['web', 'api', 'worker'][i % 3] ?? ''),
    ...(critsvc ? [entry(12, 'service-watcher', 'owned'), entry(12, 'critsvc.mycrd.com/service', app)] : []),
    ...(i % 5 === 0 ? [entry(12, 'kubectl.kubernetes.io/restartedAt', '2026-12-01T10:00:00Z')] : []),
    owner,
    managed(17, 'kube-controller-manager', FIELDS_CREATE, ''),
    managed(17, 'kubelet', FIELDS_STATUS, 'status'),
  );
}

function podSpec(i: number, app: string): Buffer {
  const container = msg(
    2,
    str(1, 'app'),
    str(2, `registry.example.com/shop/${app}:1.${i % 40}.3`),
    msg(6, num(3, 8080), str(4, 'TCP')),
    msg(7, str(1, 'LOG_LEVEL'), str(2, 'info')),
    msg(8, entry(1, 'memory', '256Mi'), entry(2, 'cpu', '100m')),
    msg(
      9,
      str(1, `kube-api-access-${hex(`vol-${i}`, 5)}`),
      num(2, 1),
      str(3, '/var/run/secrets/kubernetes.io/serviceaccount'),
    ),
    str(13, '/dev/termination-log'),
    str(14, 'IfNotPresent'),
    str(20, 'File'),
  );
  return msg(
    2,
    msg(1, str(1, `kube-api-access-${hex(`vol-${i}`, 5)}`), msg(2, msg(26, num(3, 420)))),
    container,
    str(3, 'Always'),
    num(4, 30),
    str(6, 'ClusterFirst'),
    str(8, 'default'),
    str(10, `node-${i % 500}`),
    str(19, 'default-scheduler'),
    msg(22, str(1, 'node.kubernetes.io/not-ready'), str(2, 'Exists'), str(4, 'NoExecute'), num(5, 300)),
    msg(22, str(1, 'node.kubernetes.io/unreachable'), str(2, 'Exists'), str(4, 'NoExecute'), num(5, 300)),
    num(25, 0),
    num(30, 1),
    str(31, 'PreemptLowerPriority'),
  );
}

const condition = (type: string, status: string, at: number): Buffer =>
  msg(2, str(1, type), str(2, status), msg(3), time(4, at), str(5, ''), str(6, ''));

/** Running and Ready but for one in fifty Pending (no IP yet) and one in twenty not Ready. */
function podStatus(i: number, app: string): Buffer {
  const at = T0 + i + 5;
  if (i % 50 === 7)
    return msg(
      3,
      str(1, 'Pending'),
      condition('PodScheduled', 'False', at),
      str(9, 'Burstable'),
      str(5, ''),
      str(6, ''),
    );
  const ip = `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
  const hostIP = `192.168.${(i % 500) >> 8}.${(i % 500) & 255}`;
  const ready = i % 20 === 3 ? 'False' : 'True';
  return msg(
    3,
    str(1, 'Running'),
    condition('PodReadyToStartContainers', 'True', at),
    condition('Initialized', 'True', at),
    condition('Ready', ready, at),
    condition('ContainersReady', ready, at),
    condition('PodScheduled', 'True', at),
    str(3, ''),
    str(4, ''),
    str(5, hostIP),
    str(6, ip),
    time(7, at),
    msg(
      8,
      str(1, 'app'),
      msg(2, msg(2, time(1, at))),
      msg(3),
      num(4, ready === 'True' ? 1 : 0),
      num(5, 0),
      str(6, `registry.example.com/shop/${app}:1.${i % 40}.3`),
      str(7, `registry.example.com/shop/${app}@sha256:${hex(`img-${app}`, 64)}`),
      str(8, `containerd://${hex(`ctr-${i}`, 64)}`),
      num(9, 1),
    ),
    str(9, 'Burstable'),
    msg(12, str(1, ip)),
    msg(16, str(1, hostIP)),
  );
}

function encodePod(i: number): Buffer {
  const deployment = Math.floor(i / 10);
  const ns = `team-${deployment % 60}`;
  const app = `svc-${deployment}`;
  const rs = `${app}-${hex(`rs-${deployment}`, 10)}`;
  return msg(2, podMeta(i, ns, app, rs, i % 100 === 42), podSpec(i, app), podStatus(i, app));
}

/** One page as the API server answers it: "k8s\0" + runtime.Unknown{TypeMeta, raw PodList, "", ""}. */
function encodePage(first: number, count: number, last: boolean): Buffer {
  const pods: Buffer[] = [];
  for (let i = first; i < first + count; i++) pods.push(encodePod(i));
  const cont = last ? '' : Buffer.from(`{"v":"meta.k8s.io/v1","rv":4500000,"start":"team-x/pod-${first + count}"}`);
  const listMeta = msg(
    1,
    str(1, ''),
    str(2, '4500000'),
    ...(last ? [] : [str(3, cont.toString('base64')), num(4, PODS - first - count)]),
  );
  const unknown = Buffer.concat([
    msg(1, str(1, 'v1'), str(2, 'PodList')),
    msg(2, listMeta, ...pods),
    str(3, ''),
    str(4, ''),
  ]);
  return Buffer.concat([Buffer.from([0x6b, 0x38, 0x73, 0x00]), unknown]);
}

function pageFiles(): string[] {
  const done = join(DATA, 'done');
  if (!existsSync(done)) {
    mkdirSync(DATA, { recursive: true });
    for (let first = 0, n = 0; first < PODS; first += POD_LIST_PAGE, n++) {
      const count = Math.min(POD_LIST_PAGE, PODS - first);
      writeFileSync(
        join(DATA, `page-${String(n).padStart(3, '0')}.bin`),
        encodePage(first, count, first + count >= PODS),
      );
    }
    writeFileSync(done, '');
  }
  return readdirSync(DATA)
    .filter((f) => f.endsWith('.bin'))
    .sort()
    .map((f) => join(DATA, f));
}

// ---- The candidate's package: the workspace's if it has it, else installed once under the OS tmp dir ----

async function loadBinaryReader(): Promise<void> {
  const spec = '@bufbuild/protobuf/wire';
  let mod: { BinaryReader: bufbuild.BinaryReaderClass };
  try {
    mod = (await import(spec)) as typeof mod;
  } catch {
    const dir = join(tmpdir(), `critsvc-bench-bufbuild-${BUFBUILD_VERSION}`);
    const entry = join(dir, 'node_modules/@bufbuild/protobuf/dist/esm/wire/index.js');
    if (!existsSync(entry)) {
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, 'package.json'), '{"name":"bench-deps","private":true}');
      const add = spawnSync('pnpm', ['add', '--dir', dir, `@bufbuild/protobuf@${BUFBUILD_VERSION}`], {
        stdio: 'inherit',
      });
      if (add.status !== 0) throw new Error(`could not install @bufbuild/protobuf@${BUFBUILD_VERSION} in ${dir}`);
    }
    mod = (await import(pathToFileURL(entry).href)) as typeof mod;
  }
  bufbuild.useBinaryReader(mod.BinaryReader);
}

// ---- One measured process ----

interface ChildResult {
  reader: ReaderName;
  /** Wall time of the decode calls. */
  decodeMs: number;
  /** CPU time of the decode calls: the main thread's (less hurt by a busy machine), the process's (GC helpers too). */
  threadCpuMs: number;
  cpuMs: number;
  rssMb: number;
  heapUsedMb: number;
  externalMb: number;
  pods: number;
}

async function child(reader: ReaderName): Promise<void> {
  if (reader === 'bufbuild') await loadBinaryReader();
  const decode: Decoder = reader === 'hand' ? hand.decodePodList : bufbuild.decodePodList;
  const held: ReturnType<Decoder>['items'][] = [];
  let ns = 0n;
  let threadCpu = 0;
  let cpu = 0;
  for (const file of pageFiles()) {
    const page = readFileSync(file); // as the answer arrives: not timed, dropped after its page
    const [t, thread, proc] = [process.hrtime.bigint(), process.threadCpuUsage(), process.cpuUsage()];
    held.push(decode(page).items);
    ns += process.hrtime.bigint() - t;
    const [dt, dp] = [process.threadCpuUsage(thread), process.cpuUsage(proc)];
    threadCpu += dt.user + dt.system;
    cpu += dp.user + dp.system;
  }
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('run the child with --expose-gc');
  gc();
  gc();
  const mem = process.memoryUsage();
  const result: ChildResult = {
    reader,
    decodeMs: Number(ns) / 1e6,
    threadCpuMs: threadCpu / 1e3,
    cpuMs: cpu / 1e3,
    rssMb: mem.rss / 2 ** 20,
    heapUsedMb: mem.heapUsed / 2 ** 20,
    externalMb: mem.external / 2 ** 20,
    pods: held.reduce((n, items) => n + items.length, 0),
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

// ---- The checks: the same output, pod for pod, and the same refusals ----

async function checkSame(files: string[]): Promise<void> {
  await loadBinaryReader();
  for (const file of files) {
    const page = readFileSync(file);
    deepStrictEqual(bufbuild.decodePodList(page), hand.decodePodList(page), `${file} decodes differently`);
  }
  const envelope = (object: Buffer): Buffer =>
    Buffer.concat([Buffer.from([0x6b, 0x38, 0x73, 0x00]), msg(1, str(1, 'v1'), str(2, 'PodList')), msg(2, object)]);
  const meta = Buffer.concat([str(1, 'web-1'), str(3, 'default'), str(5, 'u-1'), str(6, '42'), num(7, 0), time(8, T0)]);
  const unknownFields = Buffer.from([0xa1, 0x06, 1, 2, 3, 4, 5, 6, 7, 8, 0xad, 0x06, 1, 2, 3, 4]);
  const good = envelope(
    Buffer.concat([
      msg(1, str(2, '77'), str(3, 'next')),
      msg(2, msg(1, meta, num(99, 300), unknownFields, str(98, 'ignored')), msg(3, str(1, ''), str(6, ''))),
    ]),
  );
  deepStrictEqual(bufbuild.decodePodList(good), hand.decodePodList(good));
  const status = envelope(Buffer.concat([str(2, 'Failure'), str(3, 'no'), str(4, 'Forbidden'), num(6, 403)]));
  deepStrictEqual(bufbuild.decodeStatus(status), hand.decodeStatus(status));
  const bad = [
    Buffer.from('{"kind":"PodList"}'),
    envelope(msg(2, msg(1, meta))).subarray(0, 30),
    Buffer.from([0x6b, 0x38, 0x73, 0x00, 0x12, 0x05, 0x12, 0x7f, 0x00]),
    Buffer.from([0x6b, 0x38, 0x73, 0x00, 0x12, 0x03, 0x08, 0xff, 0xff]),
    envelope(Buffer.from([0x0b])),
  ];
  for (const b of bad)
    for (const decode of [hand.decodePodList, bufbuild.decodePodList])
      if (!(catchError(() => decode(b)) instanceof ProtobufError)) throw new Error(`not refused: ${b.toString('hex')}`);
}

function catchError(f: () => unknown): unknown {
  try {
    f();
  } catch (err) {
    return err;
  }
  return undefined;
}

// ---- The runs and the table ----

function runChild(reader: ReaderName, flags: readonly string[]): ChildResult {
  const res = spawnSync(process.execPath, ['--expose-gc', ...flags, SELF, '--child', reader], { encoding: 'utf8' });
  if (res.status !== 0) throw new Error(`${reader} child failed (${res.status}): ${res.stderr}`);
  return JSON.parse(res.stdout.trim().split('\n').at(-1) ?? '') as ChildResult;
}

const FIGURES = ['decodeMs', 'threadCpuMs', 'cpuMs', 'rssMb', 'heapUsedMb', 'externalMb'] as const;

function row(name: string, values: number[], digits = 1): string {
  const s = [...values].sort((a, b) => a - b);
  const f = (v: number | undefined): string => (v ?? NaN).toFixed(digits);
  return `${name}: min ${f(s[0])} / median ${f(median(s))} / max ${f(s.at(-1))}`;
}

async function main(args: string[]): Promise<void> {
  const at = args.indexOf('--child');
  if (at >= 0) return child(args[at + 1] as ReaderName);
  if (args.includes('--steady')) return steady();
  const runs = Number(args[args.indexOf('--runs') + 1] ?? 5) || 5;
  const { POD_LIST_PAGE: kubePage } = await import('../packages/shared/src/kube-list.ts');
  if (kubePage !== POD_LIST_PAGE) throw new Error(`kube.ts pages by ${kubePage}, this bench by ${POD_LIST_PAGE}`);
  const files = pageFiles();
  const total = files.reduce((n, f) => n + readFileSync(f).length, 0);
  console.log(
    `machine: ${cpus().length} CPUs (${cpus()[0]?.model}), ${(totalmem() / 2 ** 30).toFixed(1)} GiB (${(freemem() / 2 ** 30).toFixed(1)} free), node ${process.version}`,
  );
  console.log(
    `payload: ${PODS} pods, ${files.length} pages of ${POD_LIST_PAGE}, ${(total / 1e6).toFixed(1)} MB (${Math.round(total / PODS)} B/pod), in ${DATA}`,
  );
  await checkSame(files);
  console.log('check: both readers decode every page and the unit fixtures identically, and refuse the same bytes');
  const all: Record<string, Record<ReaderName, ChildResult[]>> = {};
  for (const config of CONFIGS) {
    console.log(`\n## ${config.name}: ${runs} runs of each, in turn`);
    all[config.name] = measure(runs, config.flags);
  }
  const json = args[args.indexOf('--json') + 1];
  if (args.includes('--json') && json)
    writeFileSync(json, `${JSON.stringify({ pods: PODS, bytes: total, all }, null, 1)}\n`);
}

function measure(runs: number, flags: readonly string[]): Record<ReaderName, ChildResult[]> {
  const results: Record<ReaderName, ChildResult[]> = { hand: [], bufbuild: [] };
  for (let run = 0; run < runs; run++) {
    const order = run % 2 === 0 ? READERS : [...READERS].reverse();
    for (const reader of order) {
      const r = runChild(reader, flags);
      if (r.pods !== PODS) throw new Error(`${reader} decoded ${r.pods} pods`);
      results[reader].push(r);
      console.log(JSON.stringify({ run, ...r }));
    }
  }
  for (const figure of FIGURES) {
    for (const reader of READERS)
      console.log(
        row(
          `${figure} ${reader}`,
          results[reader].map((r) => r[figure]),
        ),
      );
    const ratios = results.bufbuild.map((b, i) => b[figure] / (results.hand[i]?.[figure] ?? NaN));
    console.log(row(`${figure} bufbuild/hand (pair by pair)`, ratios, 3));
  }
  return results;
}

/**
 * `--steady`: the readers alone, warm, in one process: the first 10 pages (20,000 pods) decoded and
 * dropped, pass after pass, the readers in turn; main-thread CPU ms per pass. No held state, so
 * little GC: what the wire reader itself costs once the JIT is done with it.
 */
async function steady(): Promise<void> {
  await loadBinaryReader();
  const pages = pageFiles()
    .slice(0, 10)
    .map((f) => readFileSync(f));
  const decoders: Record<ReaderName, Decoder> = { hand: hand.decodePodList, bufbuild: bufbuild.decodePodList };
  const times: Record<ReaderName, number[]> = { hand: [], bufbuild: [] };
  for (let pass = 0; pass < 24; pass++) {
    for (const reader of pass % 2 === 0 ? READERS : [...READERS].reverse()) {
      const t = process.threadCpuUsage();
      for (const page of pages) decoders[reader](page);
      const d = process.threadCpuUsage(t);
      if (pass >= 4) times[reader].push((d.user + d.system) / 1e3);
    }
  }
  for (const reader of READERS) console.log(row(`steady CPU ms per 20,000 pods, ${reader}`, times[reader]));
  const ratios = times.bufbuild.map((b, i) => b / (times.hand[i] ?? NaN));
  console.log(row('steady bufbuild/hand (pair by pair)', ratios, 3));
}

await main(process.argv.slice(2));
