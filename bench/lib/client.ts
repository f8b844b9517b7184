// `pnpm bench`, part `client`: what a client of a critical Service's ClusterIP sees on the local
// cluster's real node (CRITSVC_NODE=real) while the real app's last pod is deleted and comes back.
// A load client opens a new connection every 5 ms, a keep-alive client sends one request after
// another on one connection; every request's outcome and times are kept. The window is split
// into its parts from the components' own timestamps: the pod watch (critsvc's create, the
// scheduler's binding, Ready), containerd's log (the kubelet's sandbox and container start),
// the EndpointSlice watch, kube-proxy's log (its rules synced) and the client's first 503.
import { Agent, request } from 'node:http';
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { Watch, type KubeConfig } from '@kubernetes/client-node';
import { APP_IMAGE, ON_REAL_NODE } from '../../scripts/cluster/node.ts';
import type { RawApi } from './api.ts';
import { summarize, type Summary } from './stats.ts';

/** Wall-clock ms with sub-ms resolution: comparable with the components' log timestamps. */
export const wall = (): number => performance.timeOrigin + performance.now();

/** other: an answer that is neither the app's nor the page's, or an error of another kind (its code in `detail`). */
export type Outcome = 'app' | 'page' | 'refused' | 'reset' | 'timeout' | 'unreachable' | 'other';
export interface Req {
  start: number;
  end: number;
  outcome: Outcome;
  detail?: string;
}
const failed = (o: Outcome): boolean => o !== 'app' && o !== 'page';

function classify(err: unknown): Outcome {
  const code = (err as { code?: string }).code;
  if (code === 'ECONNREFUSED') return 'refused';
  if (code === 'ECONNRESET' || code === 'EPIPE') return 'reset';
  if (code === 'ETIMEDOUT' || (err instanceof Error && err.message === 'timeout')) return 'timeout';
  if (code === 'EHOSTUNREACH' || code === 'ENETUNREACH') return 'unreachable';
  return 'other';
}

function once(host: string, port: number, agent: Agent | false, timeoutMs: number): Promise<Req> {
  const start = wall();
  return new Promise((resolve) => {
    const done = (outcome: Outcome, detail?: string): void =>
      resolve({ start, end: wall(), outcome, ...(detail ? { detail } : {}) });
    const req = request({ host, port, path: '/', agent, timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => {
        if (res.statusCode === 503 && res.headers['retry-after'] === '120') done('page');
        else if (res.statusCode === 200 && body.startsWith('app ')) done('app');
        else
          done('other', `HTTP ${res.statusCode ?? 0}${res.headers.server ? ` (server: ${res.headers.server})` : ''}`);
      });
      res.on('error', (e) => done(classify(e), (e as { code?: string }).code ?? e.message));
    });
    req.on('timeout', () => req.destroy(Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' })));
    req.on('error', (e) => done(classify(e), (e as { code?: string }).code ?? e.message));
    req.end();
  });
}

/** A new connection every `everyMs` (each request on its own), and one keep-alive client, until stopped. */
export class LoadClients {
  readonly fresh: Req[] = [];
  readonly keepAlive: Req[] = [];
  private stopped = false;
  private timer: NodeJS.Timeout | undefined;
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 1 });
  private loop: Promise<void> | undefined;

  private readonly host: string;
  private readonly port: number;
  readonly everyMs: number;
  readonly timeoutMs: number;

  constructor(host: string, port: number, everyMs = 5, timeoutMs = 1000) {
    this.host = host;
    this.port = port;
    this.everyMs = everyMs;
    this.timeoutMs = timeoutMs;
  }

  start(): void {
    this.timer = setInterval(
      () => void once(this.host, this.port, false, this.timeoutMs).then((r) => this.fresh.push(r)),
      this.everyMs,
    );
    this.loop = (async () => {
      while (!this.stopped) {
        this.keepAlive.push(await once(this.host, this.port, this.agent, this.timeoutMs));
        await new Promise((r) => setTimeout(r, this.everyMs));
      }
    })();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.loop;
    await new Promise((r) => setTimeout(r, this.timeoutMs + 100));
    this.agent.destroy();
  }
}

export interface ClientView {
  /** Requests started in the window, and how many failed (refused, reset, timeout). */
  requests: number;
  failed: number;
  byOutcome: Partial<Record<Outcome, number>>;
  /** The error codes (or HTTP statuses) of the requests counted as other. */
  otherDetails: Record<string, number>;
  /** The longest run of consecutive failed requests: from the first one's start to the next success's start. */
  longestFailRunMs: number;
  /** From the deletion to the first 503 from the page (NaN when none). */
  firstPageMs: number;
}

export function view(reqs: Req[], from: number, to: number): ClientView {
  const inWin = reqs.filter((r) => r.start >= from && r.start < to).sort((a, b) => a.start - b.start);
  let longest = 0;
  let runStart: number | undefined;
  const byOutcome: Partial<Record<Outcome, number>> = {};
  const otherDetails: Record<string, number> = {};
  for (const r of inWin) {
    byOutcome[r.outcome] = (byOutcome[r.outcome] ?? 0) + 1;
    if (r.outcome === 'other') otherDetails[r.detail ?? '?'] = (otherDetails[r.detail ?? '?'] ?? 0) + 1;
    if (failed(r.outcome)) runStart ??= r.start;
    else if (runStart !== undefined) {
      longest = Math.max(longest, r.start - runStart);
      runStart = undefined;
    }
  }
  if (runStart !== undefined) longest = Math.max(longest, to - runStart);
  const page = inWin.find((r) => r.outcome === 'page');
  return {
    requests: inWin.length,
    failed: inWin.filter((r) => failed(r.outcome)).length,
    byOutcome,
    otherDetails,
    longestFailRunMs: longest,
    firstPageMs: page ? page.end - from : NaN,
  };
}

interface PodSeen {
  uid: string;
  name: string;
  labels: Record<string, string>;
  owned: boolean;
  node?: string;
  ready: boolean;
  ip?: string;
  deleting: boolean;
  type: string;
  t: number;
}

/** Every pod event of a namespace, timestamped on arrival (wall clock). */
class PodLog {
  readonly events: PodSeen[] = [];
  private ctrl: AbortController | undefined;
  static async start(kc: KubeConfig, ns: string): Promise<PodLog> {
    const l = new PodLog();
    type Raw = {
      metadata?: {
        uid?: string;
        name?: string;
        labels?: Record<string, string>;
        annotations?: Record<string, string>;
        deletionTimestamp?: string;
      };
      spec?: { nodeName?: string };
      status?: { podIP?: string; conditions?: { type: string; status: string }[] };
    };
    l.ctrl = await new Watch(kc).watch(
      `/api/v1/namespaces/${ns}/pods`,
      {},
      (type, o: Raw) => {
        if (type === 'BOOKMARK') return;
        l.events.push({
          type,
          t: wall(),
          uid: o.metadata?.uid ?? '',
          name: o.metadata?.name ?? '',
          labels: o.metadata?.labels ?? {},
          owned: o.metadata?.annotations?.['service-watcher'] === 'owned',
          node: o.spec?.nodeName,
          ip: o.status?.podIP,
          deleting: Boolean(o.metadata?.deletionTimestamp),
          ready: o.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false,
        });
      },
      () => undefined,
    );
    return l;
  }
  first(pred: (e: PodSeen) => boolean, after: number): PodSeen | undefined {
    return this.events.find((e) => e.t >= after && pred(e));
  }
  stop(): void {
    this.ctrl?.abort();
  }
}

/** Ready endpoint IPs of one Service over time (wall clock). */
class SliceLog {
  readonly points: { t: number; ready: string[] }[] = [];
  private ctrl: AbortController | undefined;
  private readonly slices = new Map<string, string[]>();
  static async start(kc: KubeConfig, ns: string, svc: string): Promise<SliceLog> {
    const l = new SliceLog();
    type Raw = {
      metadata?: { name?: string };
      endpoints?: { addresses?: string[]; conditions?: { ready?: boolean } }[] | null;
    };
    l.ctrl = await new Watch(kc).watch(
      `/apis/discovery.k8s.io/v1/namespaces/${ns}/endpointslices`,
      { labelSelector: `kubernetes.io/service-name=${svc}` },
      (type, o: Raw) => {
        if (type === 'BOOKMARK') return;
        if (type === 'DELETED') l.slices.delete(o.metadata?.name ?? '');
        else
          l.slices.set(
            o.metadata?.name ?? '',
            (o.endpoints ?? []).filter((e) => e.conditions?.ready).flatMap((e) => e.addresses ?? []),
          );
        l.points.push({ t: wall(), ready: [...l.slices.values()].flat().sort() });
      },
      () => undefined,
    );
    return l;
  }
  first(pred: (ready: string[]) => boolean, after: number): number | undefined {
    return this.points.find((p) => p.t >= after && pred(p.ready))?.t;
  }
  stop(): void {
    this.ctrl?.abort();
  }
}

/** Reads what a log file gained since the last call. */
class LogTail {
  private offset = 0;
  private readonly file: string;
  constructor(file: string) {
    this.file = file;
    try {
      this.offset = statSync(file).size;
    } catch {
      this.offset = 0;
    }
  }
  read(): string {
    const size = statSync(this.file).size;
    if (size <= this.offset) return '';
    const buf = Buffer.alloc(size - this.offset);
    const fd = openSync(this.file, 'r');
    try {
      readSync(fd, buf, 0, buf.length, this.offset);
    } finally {
      closeSync(fd);
    }
    this.offset = size;
    return buf.toString('utf8');
  }
}

/** containerd's CRI lines about one pod: its sandbox asked for and ready, its container started (wall clock ms). */
export function containerdTimes(
  text: string,
  podUid: string,
): { sandboxAsked?: number; sandboxReady?: number; containerStarted?: number } {
  const at = (line: string): number => Date.parse(/time="([^"]+)"/.exec(line)?.[1] ?? '');
  const lines = text.split('\n');
  const mine = lines.filter((l) => l.includes(`Uid:${podUid},`));
  const asked = mine.find((l) => l.includes('msg="RunPodSandbox for') && !l.includes('returns sandbox id'));
  const readyLine = mine.find((l) => l.includes('returns sandbox id'));
  const sandbox = readyLine ? /returns sandbox id \\"([0-9a-f]+)\\"/.exec(readyLine)?.[1] : undefined;
  const created = sandbox
    ? lines.find(
        (l) => l.includes(`CreateContainer within sandbox \\"${sandbox}\\"`) && l.includes('returns container id'),
      )
    : undefined;
  const cid = created ? /returns container id \\"([0-9a-f]+)\\"/.exec(created)?.[1] : undefined;
  const started = cid
    ? lines.find((l) => l.includes(`StartContainer for \\"${cid}\\" returns successfully`))
    : undefined;
  return {
    sandboxAsked: asked ? at(asked) : undefined,
    sandboxReady: readyLine ? at(readyLine) : undefined,
    containerStarted: started ? at(started) : undefined,
  };
}

/** kube-proxy's "SyncProxyRules complete" lines (klog, local time), as wall-clock ms. */
export function proxySyncs(text: string, now = new Date()): number[] {
  const out: number[] = [];
  for (const line of text.split('\n')) {
    if (!line.includes('SyncProxyRules complete')) continue;
    const m = /^[IWE](\d\d)(\d\d) (\d\d):(\d\d):(\d\d)\.(\d{6})/.exec(line);
    if (!m) continue;
    const [mo, d, h, mi, s, us] = m.slice(1).map(Number) as [number, number, number, number, number, number];
    out.push(new Date(now.getFullYear(), mo - 1, d, h, mi, s).getTime() + us / 1000);
  }
  return out;
}

export interface Stages {
  /** Deletion → the app's endpoint not ready on the EndpointSlice. */
  endpointGone: number;
  /** Deletion → critsvc's default pod created (cold) or the warm pod relabelled into the Service (hot). */
  critsvc: number;
  /** Created → bound to the node (kube-scheduler). Cold only. */
  scheduled: number;
  /** Bound → the kubelet asks containerd for the sandbox. */
  kubeletPickup: number;
  /** Sandbox asked → ready (pause container, CNI bridge). */
  sandbox: number;
  /** Sandbox ready → the page's container started. */
  containerStart: number;
  /** Container started → Ready seen on the pod (the kubelet's status). */
  readiness: number;
  /** Ready (hot: promoted) → the default pod's endpoint ready on the EndpointSlice. */
  endpointSlice: number;
  /** EndpointSlice (as the bench's watch saw it) → the last kube-proxy sync completed before the first 503. */
  proxySync: number;
  /** kube-proxy's sync → the client's first 503. */
  toClient: number;
}

export interface ClientTrial {
  hot: boolean;
  fresh: ClientView;
  keepAlive: ClientView;
  /** From the new app pod Ready to 2 s after the default pod is gone. */
  handBack: { fresh: ClientView; keepAlive: ClientView };
  stages: Partial<Stages>;
}

export interface ClientModeResult {
  trials: number;
  longestFailRun: Summary;
  keepAliveLongestFailRun: Summary;
  firstPage: Summary;
  failedPerTrial: Summary;
  handBackFailures: { fresh: number; keepAlive: number; trialsWithFailures: number };
  stageMedians: Partial<Record<keyof Stages, number>>;
}

export interface ClientResult {
  everyMs: number;
  timeoutMs: number;
  cold: ClientModeResult;
  hot: ClientModeResult;
  raw: ClientTrial[];
  error?: string;
}

const med = (xs: number[]): number => summarize(xs.filter(Number.isFinite)).p50;

export function summarizeMode(ts: ClientTrial[]): ClientModeResult {
  const keys = [
    'endpointGone',
    'critsvc',
    'scheduled',
    'kubeletPickup',
    'sandbox',
    'containerStart',
    'readiness',
    'endpointSlice',
    'proxySync',
    'toClient',
  ] as const;
  return {
    trials: ts.length,
    longestFailRun: summarize(ts.map((t) => t.fresh.longestFailRunMs)),
    keepAliveLongestFailRun: summarize(ts.map((t) => t.keepAlive.longestFailRunMs)),
    firstPage: summarize(ts.map((t) => t.fresh.firstPageMs).filter(Number.isFinite)),
    failedPerTrial: summarize(ts.map((t) => t.fresh.failed)),
    handBackFailures: {
      fresh: ts.reduce((a, t) => a + t.handBack.fresh.failed, 0),
      keepAlive: ts.reduce((a, t) => a + t.handBack.keepAlive.failed, 0),
      trialsWithFailures: ts.filter((t) => t.handBack.fresh.failed + t.handBack.keepAlive.failed > 0).length,
    },
    stageMedians: Object.fromEntries(keys.map((k) => [k, med(ts.map((t) => t.stages[k] ?? NaN))])),
  };
}

export interface ClientCtx {
  kc: KubeConfig;
  api: RawApi;
  containerdLog: string;
  kubeProxyLog: string;
  log: (msg: string) => void;
}

async function until<T>(
  what: string,
  f: () => T | undefined | false | Promise<T | undefined | false>,
  timeoutMs = 90_000,
  everyMs = 20,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await f();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`bench client: timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export function appPodBody(name: string): object {
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

/**
 * `n` trials in namespace `ns` whose Service `web` (critical, selector app=web) has the app pod
 * `web-<first>` Ready: delete it, wait for the page, bring `web-<next>` back, wait for the
 * hand-back. Returns the trials and the name of the app pod left running.
 */
export async function clientTrials(
  ctx: ClientCtx,
  ns: string,
  clusterIp: string,
  n: number,
  hot: boolean,
  first: number,
): Promise<{ trials: ClientTrial[]; next: number }> {
  const pods = await PodLog.start(ctx.kc, ns);
  const slices = await SliceLog.start(ctx.kc, ns, 'web');
  const clients = new LoadClients(clusterIp, 80);
  const containerd = new LogTail(ctx.containerdLog);
  const proxy = new LogTail(ctx.kubeProxyLog);
  let cText = '';
  let pText = '';
  const out: ClientTrial[] = [];
  const base = `/api/v1/namespaces/${ns}/pods`;
  let app = first;
  clients.start();
  try {
    for (let i = 1; i <= n; i++) {
      const standbyReady = (): boolean => {
        const live = new Map<string, PodSeen>();
        for (const e of pods.events) {
          if (e.type === 'DELETED') live.delete(e.uid);
          else live.set(e.uid, e);
        }
        return [...live.values()].some(
          (p) => p.owned && p.labels['critsvc.mycrd.com/standby'] === 'true' && p.ready && !p.deleting,
        );
      };
      if (hot) await until('a warm pod Ready', standbyReady);
      await new Promise((r) => setTimeout(r, 300));
      const t0 = wall();
      await ctx.api.must('DELETE', `${base}/web-${app}`);
      const page = await until('the first 503 from the page', () =>
        clients.fresh.find((r) => r.start >= t0 && r.outcome === 'page'),
      );
      // The stand-in: created (cold) or promoted (hot) after t0, selected by the Service.
      const standIn = await until('the default pod Ready', () =>
        pods.first((e) => e.owned && e.labels.app === 'web' && e.ready && !e.deleting, t0),
      );
      const created = pods.first((e) => e.uid === standIn.uid && e.labels.app === 'web', hot ? t0 : 0);
      const bound = hot ? undefined : pods.first((e) => e.uid === standIn.uid && Boolean(e.node), 0);
      const readySeen = pods.first((e) => e.uid === standIn.uid && e.ready && e.labels.app === 'web', 0);
      const ip = standIn.ip ?? '';
      const sliceReady = await until("the default pod's endpoint ready", () => slices.first((r) => r.includes(ip), t0));
      await new Promise((r) => setTimeout(r, 300));
      cText += containerd.read();
      pText += proxy.read();
      const c = hot ? {} : containerdTimes(cText, standIn.uid);
      // The sync that let the client reach the page: the last one kube-proxy completed before it.
      const sync = proxySyncs(pText)
        .filter((t) => t <= page.start)
        .at(-1);
      const gone = slices.first((r) => r.length === 0, t0);
      const stages: Partial<Stages> = {
        endpointGone: gone !== undefined ? gone - t0 : NaN,
        critsvc: created ? created.t - t0 : NaN,
        ...(hot
          ? {}
          : {
              scheduled: created && bound ? bound.t - created.t : NaN,
              kubeletPickup: bound && c.sandboxAsked ? c.sandboxAsked - bound.t : NaN,
              sandbox: c.sandboxAsked && c.sandboxReady ? c.sandboxReady - c.sandboxAsked : NaN,
              containerStart: c.sandboxReady && c.containerStarted ? c.containerStarted - c.sandboxReady : NaN,
              readiness: c.containerStarted && readySeen ? readySeen.t - c.containerStarted : NaN,
            }),
        endpointSlice: sliceReady - (hot ? (created?.t ?? NaN) : (readySeen?.t ?? NaN)),
        proxySync: sync !== undefined ? sync - sliceReady : NaN,
        toClient: sync !== undefined ? page.end - sync : NaN,
      };
      // The app comes back; critsvc hands back after its healthy hold-off.
      app += 1;
      await ctx.api.must('POST', base, appPodBody(`web-${app}`));
      const appReady = await until(`web-${app} Ready`, () => pods.first((e) => e.name === `web-${app}` && e.ready, t0));
      const standInGone = await until(
        'the hand-back (default pod deleted)',
        () => pods.first((e) => e.uid === standIn.uid && e.type === 'DELETED', t0),
        60_000,
      );
      await until('the app answering again', () =>
        clients.fresh.find((r) => r.start >= standInGone.t && r.outcome === 'app'),
      );
      await new Promise((r) => setTimeout(r, 2000));
      const end = standInGone.t + 2000;
      const trial: ClientTrial = {
        hot,
        stages,
        fresh: view(clients.fresh, t0, appReady.t),
        keepAlive: view(clients.keepAlive, t0, appReady.t),
        handBack: { fresh: view(clients.fresh, appReady.t, end), keepAlive: view(clients.keepAlive, appReady.t, end) },
      };
      out.push(trial);
      ctx.log(
        `client ${hot ? 'hot' : 'cold'} trial ${i}: longest failed run ${trial.fresh.longestFailRunMs.toFixed(0)} ms (${trial.fresh.failed} failed), first 503 at ${trial.fresh.firstPageMs.toFixed(0)} ms, keep-alive longest ${trial.keepAlive.longestFailRunMs.toFixed(0)} ms; hand-back failures ${trial.handBack.fresh.failed} + ${trial.handBack.keepAlive.failed} keep-alive; stages ${Object.entries(
          stages,
        )
          .map(([k, v]) => `${k} ${Number(v).toFixed(0)}`)
          .join(', ')}`,
      );
      // Client records older than this trial are no longer needed.
      clients.fresh.splice(0, clients.fresh.findIndex((r) => r.start >= end - 1000) || 0);
    }
  } finally {
    await clients.stop();
    pods.stop();
    slices.stop();
  }
  return { trials: out, next: app };
}
