// `pnpm bench`: failover/recovery latency against a floor, then scale, memory and churn, on a
// control plane of its own. Writes bench/results/<date>.md and .json.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { appendFileSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { KubeConfig } from '@kubernetes/client-node';
import { clusterDown } from '../scripts/cluster/down.ts';
import { plots } from './lib/plots.ts';
import { readState, type ClusterState } from '../scripts/cluster/state.ts';
import { freePort } from '../scripts/cluster/up.ts';
import { build } from '../scripts/run/build.ts';
import { installBasics } from '../scripts/run/environment.ts';
import {
  APPS,
  DEFAULT_NODE_OPTIONS,
  DEPLOY_MEMORY_MIB,
  IMAGE_NODE_OPTIONS,
  Supervisor,
  type App,
} from '../scripts/run/supervisor.ts';
import { abortOnFailure } from './lib/abort.ts';
import { fastPathCounts, meansMs, metric, ready, redisMemoryMb, rssMb, stageScrape } from './lib/metrics.ts';
import { podBody, pool, RawApi, readyStatus } from './lib/api.ts';
import { churn } from './lib/churn.ts';
import { appPodBody, clientTrials, summarizeMode, type ClientResult, type ClientTrial } from './lib/client.ts';
import { ON_REAL_NODE } from '../scripts/cluster/node.ts';
import { outage, trials, waitUntil } from './lib/trials.ts';
import {
  report,
  type ChurnResult,
  type CurveStep,
  type EarlierFigures,
  type IdleResult,
  type ScaleStart,
  type StandbyResult,
} from './lib/report.ts';
import { median, ms, summarize } from './lib/stats.ts';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
/** BENCH_CLUSTER_DIR: another bench's control plane may run beside this one (another directory). */
const clusterDir = resolve(root, process.env.BENCH_CLUSTER_DIR ?? '.cluster-bench');
const ENV = process.env;
const TRIALS = Number(ENV.BENCH_TRIALS ?? 100);
const ROUNDS = Number(ENV.BENCH_ROUNDS ?? 2);
const NAMESPACES = Number(ENV.BENCH_NAMESPACES ?? 20);
const SERVICES_PER_NS = Number(ENV.BENCH_SERVICES_PER_NS ?? 100);
const CRITICAL_PER_NS = Number(ENV.BENCH_CRITICAL_PER_NS ?? 25);
const PODS_PER_SERVICE = Number(ENV.BENCH_PODS_PER_SERVICE ?? 10);
const CHURN_RATE = Number(ENV.BENCH_CHURN_RATE ?? 200);
const CHURN_SECONDS = Number(ENV.BENCH_CHURN_SECONDS ?? 45);
const OUTAGE_TRIALS = Number(ENV.BENCH_OUTAGE_TRIALS ?? 40);
/** Churn units (3 API calls each) in flight at most. */
const CHURN_IN_FLIGHT = Number(ENV.BENCH_CHURN_IN_FLIGHT ?? 48);
/** The pipeline's healthy hold-off in the bench (default 5 s): short, so that trials follow each other quickly. */
const HEALTHY_GRACE = ENV.BENCH_HEALTHY_GRACE_SECONDS ?? '1';
/** BENCH_FAST_PATH=false: critsvc without its fast path (its FAST_PATH). */
const FAST_PATH = ENV.BENCH_FAST_PATH ?? 'true';
/** Which parts run (a quick look at failover: BENCH_PARTS=idle). */
const PARTS = new Set((ENV.BENCH_PARTS ?? 'idle,standby,scale').split(',').map((x) => x.trim()));
/** Hot standby vs cold: trials of each, and how long kwok takes to start a default pod (a realistic start). */
const STANDBY_TRIALS = Number(ENV.BENCH_STANDBY_TRIALS ?? 20);
const START_DELAY = ENV.BENCH_START_DELAY ?? '2s';
/** Part `client` (on the real node, CRITSVC_NODE=real): trials per mode, cold then hotStandby. */
const CLIENT_TRIALS = Number(ENV.BENCH_CLIENT_TRIALS ?? 20);
/** Pipelines started and not stopped yet: a failing run must not leave them behind. */
const running = new Set<Supervisor>();
const SERVICE_LABEL = 'critsvc.mycrd.com/service';
const log = (msg: string): void => console.log(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}`);

function clusterCli(cmd: string): void {
  const res = spawnSync(process.execPath, [join(root, 'scripts/cluster/cluster.ts'), cmd], {
    stdio: 'inherit',
    env: { ...ENV, CRITSVC_CLUSTER_DIR: clusterDir },
  });
  if (res.status !== 0) throw new Error(`cluster ${cmd} failed`);
}

interface Ctx {
  state: ClusterState;
  kc: KubeConfig;
  api: RawApi;
  healthyGraceMs: number;
}

async function ns(ctx: Ctx, name: string): Promise<void> {
  await ctx.api.must('POST', '/api/v1/namespaces', { metadata: { name } });
}

async function startPipeline(
  ctx: Ctx,
  namespaces: string,
  queue: string,
): Promise<{ sup: Supervisor; ports: Record<App, number>; started: number }> {
  const ports = Object.fromEntries(await Promise.all(APPS.map(async (a) => [a, await freePort()] as const))) as Record<
    App,
    number
  >;
  // The processes' warnings and errors, for a failing run's post-mortem (bench/tmp is git-ignored).
  mkdirSync(join(root, 'bench/tmp'), { recursive: true });
  const logFile = join(root, 'bench/tmp', `${queue}.log`);
  // dist/ up to date before the clock starts: tsc -b takes 1-2 s even with nothing to build (start figures included it until 2026-12-05).
  build(root);
  const sup = new Supervisor({
    root,
    build: false,
    apps: APPS.filter((a) => a !== 'dashboard'),
    json: true,
    out: (line) => appendFileSync(logFile, `${line}\n`),
    // Each process under deploy/'s memory limit, as in a container (BENCH_CGROUPS=0: capped heaps only).
    ...(ENV.BENCH_CGROUPS === '0' ? {} : { memoryLimitMib: (app: App) => DEPLOY_MEMORY_MIB[app] }),
    env: {
      PATH: ENV.PATH ?? '',
      HOME: ENV.HOME ?? '',
      KUBECONFIG: ctx.state.kubeconfig,
      REDIS_URL: ctx.state.redisUrl,
      QUEUE_NAME: queue,
      NAMESPACES: namespaces,
      LOG_LEVEL: ENV.BENCH_LOG_LEVEL ?? 'warn',
      HTTP_HOST: '127.0.0.1',
      POD_TEMPLATE_NAMESPACE: 'linux-mag',
      HEALTHY_GRACE_SECONDS: HEALTHY_GRACE,
      ...(ENV.BENCH_NODE_OPTIONS ? { NODE_OPTIONS: ENV.BENCH_NODE_OPTIONS } : {}),
      FAST_PATH,
    },
    envFor: (app) => ({ HTTP_PORT: String(ports[app]) }),
  });
  const started = performance.now();
  sup.start();
  running.add(sup);
  return { sup, ports, started };
}

/** A floor reactor as a child process, for `n` failover trials. */
async function floorTrials(ctx: Ctx, script: string, namespace: string): Promise<number[]> {
  const floor: ChildProcess = spawn(
    process.execPath,
    [join(root, 'bench/lib', script), ctx.state.kubeconfig, namespace],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  await new Promise<void>((r) => floor.stdout?.once('data', () => r()));
  try {
    return (await trials(ctx, namespace, 'frontend', TRIALS, (e) => e.labels['critsvc-bench/standin'] === 'true', true))
      .failover;
  } finally {
    floor.kill('SIGTERM');
  }
}

async function idle(ctx: Ctx): Promise<IdleResult> {
  const rounds: IdleResult['rounds'] = [];
  for (let round = 1; round <= ROUNDS; round++) {
    const nsC = `bench-idle-${round}`;
    const nsF = `bench-floor-${round}`;
    await ns(ctx, nsC);
    await ns(ctx, nsF);
    await ctx.api.must('POST', `/api/v1/namespaces/${nsC}/services`, {
      metadata: { name: 'frontend', labels: { role: 'frontend' } },
      spec: { selector: { role: 'frontend' }, ports: [{ port: 80 }] },
    });
    const p = await startPipeline(ctx, nsC, `bench-idle-${round}`);
    await waitUntil('pipeline ready', async () =>
      (
        await Promise.all(
          ['handler', 'watcher-pods', 'watcher-services', 'watcher-crds'].map((a) => ready(p.ports[a as App])),
        )
      ).every(Boolean),
    );
    await ctx.api.must('POST', '/apis/mycrd.com/v1/criticalservices', {
      apiVersion: 'mycrd.com/v1',
      kind: 'CriticalService',
      metadata: { name: `bench-idle-${round}` },
      spec: { namespace: nsC, matchLabels: [{ key: 'role', value: 'frontend' }] },
    });
    log(`round ${round}: critsvc, ${TRIALS} failover + recovery trials`);
    const s0 = await stageScrape(p.ports);
    const f0 = await fastPathCounts(p.ports.handler);
    const c = await trials(
      ctx,
      nsC,
      'frontend',
      TRIALS,
      (e) => e.owned && e.labels[SERVICE_LABEL] === 'frontend',
      false,
    );
    const s1 = await stageScrape(p.ports);
    const f1 = await fastPathCounts(p.ports.handler);
    const fastPath = Object.fromEntries(Object.entries(f1).map(([k, v]) => [k, v - (f0[k] ?? 0)]));
    log(`round ${round}: critsvc failover p50 ${ms(summarize(c.failover).p50)} p99 ${ms(summarize(c.failover).p99)}`);
    const stages = {
      ...meansMs(s0.handler, s1.handler),
      watch_to_redis: meansMs(s0.watcher, s1.watcher)[''] ?? NaN,
      failover_mean: c.failover.reduce((a, b) => a + b, 0) / c.failover.length,
    };
    await ctx.api.must('POST', `/api/v1/namespaces/${nsC}/services`, {
      metadata: { name: 'web', labels: { role: 'frontend' } },
      spec: { selector: { app: 'web' }, ports: [{ port: 80 }] },
    });
    log(`round ${round}: critsvc, ${OUTAGE_TRIALS} outage-window trials (EndpointSlices, kwok)`);
    // BENCH_OUTAGE_TRIALS=0 skips them (with CRITSVC_CLUSTER=bare there are no EndpointSlices).
    const o =
      OUTAGE_TRIALS > 0
        ? await outage(ctx, nsC, 'web', OUTAGE_TRIALS)
        : { window: summarize([]), gapMaxMs: NaN, gapTrials: 0, error: 'not run (BENCH_OUTAGE_TRIALS=0)' };
    await p.sup.stop();
    await ctx.api.call('DELETE', `/apis/mycrd.com/v1/criticalservices/bench-idle-${round}`);

    log(`round ${round}: physical floor, ${TRIALS} failover trials`);
    const f = await floorTrials(ctx, 'floor-bare.ts', nsF);
    log(`round ${round}: floor through client-node as shipped, ${TRIALS} failover trials`);
    const fc = await floorTrials(ctx, 'floor-reactor.ts', nsF);
    rounds.push({
      critsvc: { failover: summarize(c.failover), recovery: summarize(c.recovery), outage: o, stages, fastPath },
      floor: { failover: summarize(f) },
      floorClientNode: { failover: summarize(fc) },
    });
    log(
      `round ${round}: outage window p50 ${ms(o.window.p50)} p99 ${ms(o.window.p99)}; hand-back gap max ${ms(o.gapMaxMs)} (${o.gapTrials} trial(s) with a gap)`,
    );
    log(
      `round ${round}: critsvc failover p50 ${ms(summarize(c.failover).p50)} p99 ${ms(summarize(c.failover).p99)}; floor p50 ${ms(summarize(f).p50)} p99 ${ms(summarize(f).p99)}; client-node floor p50 ${ms(summarize(fc).p50)} p99 ${ms(summarize(fc).p99)}`,
    );
    log(
      `round ${round}: stage means (ms): ${Object.entries(stages)
        .map(([k, v]) => `${k} ${v.toFixed(2)}`)
        .join(', ')}; fast-path messages: ${Object.entries(fastPath)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ')}`,
    );
  }
  const med = (pick: (r: IdleResult['rounds'][number]) => number): number => median(rounds.map(pick));
  const m = {
    critsvcP50: med((r) => r.critsvc.failover.p50),
    critsvcP95: med((r) => r.critsvc.failover.p95),
    critsvcP99: med((r) => r.critsvc.failover.p99),
    floorP50: med((r) => r.floor.failover.p50),
    floorP95: med((r) => r.floor.failover.p95),
    floorP99: med((r) => r.floor.failover.p99),
    floorClientNodeP50: med((r) => r.floorClientNode.failover.p50),
    floorClientNodeP95: med((r) => r.floorClientNode.failover.p95),
    floorClientNodeP99: med((r) => r.floorClientNode.failover.p99),
    recoveryP50: med((r) => r.critsvc.recovery.p50),
    recoveryP99: med((r) => r.critsvc.recovery.p99),
    ratioP50: 0,
    ratioP99: 0,
    outageP50: med((r) => r.critsvc.outage.window.p50),
    outageP99: med((r) => r.critsvc.outage.window.p99),
    gapMaxMs: Math.max(...rounds.map((r) => r.critsvc.outage.gapMaxMs)),
  };
  m.ratioP50 = m.critsvcP50 / m.floorP50;
  m.ratioP99 = m.critsvcP99 / m.floorP99;
  return { rounds, median: m };
}

/**
 * Outage window with default pods that take START_DELAY to start (kwok's stage delay, from the
 * template's pod annotation): cold (created on lameness) and hot (spec.defaultPod.hotStandby: a
 * warm pod promoted), one Service, same pipeline, alternating runs.
 */
async function standby(ctx: Ctx): Promise<StandbyResult> {
  const nsS = 'bench-standby';
  await ns(ctx, nsS);
  await ctx.api.must('POST', `/api/v1/namespaces/${nsS}/podtemplates`, {
    metadata: { name: 'slow-page' },
    template: {
      metadata: { annotations: { 'critsvc.test/start-delay': START_DELAY } },
      spec: {
        terminationGracePeriodSeconds: 1,
        containers: [{ name: 'page', image: 'nginx:1.27-alpine', ports: [{ containerPort: 80 }] }],
      },
    },
  });
  await ctx.api.must('POST', `/api/v1/namespaces/${nsS}/services`, {
    metadata: { name: 'web', labels: { role: 'standby' } },
    spec: { selector: { app: 'web' }, ports: [{ port: 80 }] },
  });
  const p = await startPipeline(ctx, nsS, 'bench-standby');
  await waitUntil('pipeline ready', async () =>
    (
      await Promise.all(
        ['handler', 'watcher-pods', 'watcher-services', 'watcher-crds'].map((a) => ready(p.ports[a as App])),
      )
    ).every(Boolean),
  );
  const crit = (hotStandby: boolean): object => ({
    apiVersion: 'mycrd.com/v1',
    kind: 'CriticalService',
    metadata: { name: 'bench-standby' },
    spec: {
      namespace: nsS,
      matchLabels: [{ key: 'role', value: 'standby' }],
      defaultPod: { templateRef: { namespace: nsS, name: 'slow-page' }, hotStandby },
    },
  });
  await ctx.api.must('POST', '/apis/mycrd.com/v1/criticalservices', crit(false));
  try {
    const runs: StandbyResult['runs'] = [];
    for (let round = 1; round <= ROUNDS; round++) {
      const run: Partial<StandbyResult['runs'][number]> = {};
      for (const hot of [false, true]) {
        await ctx.api.must(
          'PATCH',
          '/apis/mycrd.com/v1/criticalservices/bench-standby',
          { spec: { defaultPod: { hotStandby: hot } } },
          'application/merge-patch+json',
        );
        log(
          `standby round ${round}: ${hot ? 'hot' : 'cold'}, ${STANDBY_TRIALS} outage-window trials (default pods start in ${START_DELAY})`,
        );
        const o = await outage(ctx, nsS, 'web', STANDBY_TRIALS, 60_000, hot);
        log(
          `standby round ${round}: ${hot ? 'hot' : 'cold'} outage window p50 ${ms(o.window.p50)} p99 ${ms(o.window.p99)}, hand-back gap max ${ms(o.gapMaxMs)}`,
        );
        run[hot ? 'hot' : 'cold'] = o;
        // outage() leaves its last real pod; the next run starts with a pod of its own (its first wait sees the stand-in go).
        await ctx.api.call('DELETE', `/api/v1/namespaces/${nsS}/pods/web-ep-${STANDBY_TRIALS}`);
      }
      runs.push(run as StandbyResult['runs'][number]);
    }
    return {
      startDelay: START_DELAY,
      runs,
      median: {
        coldP50: median(runs.map((r) => r.cold.window.p50)),
        coldP99: median(runs.map((r) => r.cold.window.p99)),
        hotP50: median(runs.map((r) => r.hot.window.p50)),
        hotP99: median(runs.map((r) => r.hot.window.p99)),
      },
    };
  } finally {
    await p.sup.stop();
    await ctx.api.call('DELETE', '/apis/mycrd.com/v1/criticalservices/bench-standby');
  }
}

/**
 * What a client of the ClusterIP sees on the real node: deploy/'s page (its own copy of the
 * template, pinned to the real node) for a real app whose only pod is deleted, cold then hot.
 */
async function client(ctx: Ctx): Promise<ClientResult> {
  const nsC = 'bench-client';
  await ns(ctx, nsC);
  const node = ctx.state.node;
  const containerd = ctx.state.procs.find((p) => p.name === 'containerd');
  const proxy = ctx.state.procs.find((p) => p.name === 'kube-proxy');
  if (!node || !containerd || !proxy) throw new Error('part client needs the real node (CRITSVC_NODE=real)');
  const tmpl = await ctx.api.must<{ template: { spec: Record<string, unknown> } }>(
    'GET',
    '/api/v1/namespaces/linux-mag/podtemplates/critical-service-pod-template',
  );
  await ctx.api.must('POST', `/api/v1/namespaces/${nsC}/podtemplates`, {
    metadata: { name: 'page' },
    template: { ...tmpl.template, spec: { ...tmpl.template.spec, ...ON_REAL_NODE } },
  });
  const svc = await ctx.api.must<{ spec: { clusterIP: string } }>('POST', `/api/v1/namespaces/${nsC}/services`, {
    metadata: { name: 'web', labels: { role: 'client' } },
    spec: { selector: { app: 'web' }, ports: [{ port: 80, targetPort: 8080 }] },
  });
  await ctx.api.must('POST', `/api/v1/namespaces/${nsC}/pods`, appPodBody('web-1'));
  await waitUntil(
    'web-1 Ready',
    async () => {
      const p = await ctx.api.must<{ status?: { conditions?: { type: string; status: string }[] } }>(
        'GET',
        `/api/v1/namespaces/${nsC}/pods/web-1`,
      );
      return p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
    },
    120_000,
    200,
  );
  const p = await startPipeline(ctx, nsC, 'bench-client');
  await waitUntil('pipeline ready', async () =>
    (
      await Promise.all(
        ['handler', 'watcher-pods', 'watcher-services', 'watcher-crds'].map((a) => ready(p.ports[a as App])),
      )
    ).every(Boolean),
  );
  const crit = {
    apiVersion: 'mycrd.com/v1',
    kind: 'CriticalService',
    metadata: { name: 'bench-client' },
    spec: {
      namespace: nsC,
      matchLabels: [{ key: 'role', value: 'client' }],
      defaultPod: { templateRef: { namespace: nsC, name: 'page' }, message: 'Back soon', hotStandby: false },
    },
  };
  await ctx.api.must('POST', '/apis/mycrd.com/v1/criticalservices', crit);
  const cctx = { kc: ctx.kc, api: ctx.api, containerdLog: containerd.log, kubeProxyLog: proxy.log, log };
  const raw: ClientTrial[] = [];
  let error: string | undefined;
  let next = 1;
  try {
    for (const hot of [false, true]) {
      await ctx.api.must(
        'PATCH',
        '/apis/mycrd.com/v1/criticalservices/bench-client',
        { spec: { defaultPod: { hotStandby: hot } } },
        'application/merge-patch+json',
      );
      log(
        `client: ${hot ? 'hot' : 'cold'}, ${CLIENT_TRIALS} trials (new connection every 5 ms to ${svc.spec.clusterIP}:80, one keep-alive client)`,
      );
      const r = await clientTrials(cctx, nsC, svc.spec.clusterIP, CLIENT_TRIALS, hot, next);
      raw.push(...r.trials);
      next = r.next;
    }
  } catch (err) {
    error = err instanceof Error ? err.message : String(err);
    log(`client: stopped early: ${error}`);
  } finally {
    await p.sup.stop();
    await ctx.api.call('DELETE', '/apis/mycrd.com/v1/criticalservices/bench-client');
  }
  return {
    everyMs: 5,
    timeoutMs: 1000,
    cold: summarizeMode(raw.filter((t) => !t.hot)),
    hot: summarizeMode(raw.filter((t) => t.hot)),
    raw,
    ...(error ? { error } : {}),
  };
}

async function populate(ctx: Ctx): Promise<{ seconds: number; services: number; critical: number; pods: number }> {
  const t0 = performance.now();
  const namespaces = Array.from({ length: NAMESPACES }, (_, i) => `bench-scale-${String(i).padStart(2, '0')}`);
  for (const n of namespaces) await ns(ctx, n);
  const svcs = namespaces.flatMap((n) =>
    Array.from({ length: SERVICES_PER_NS }, (_, i) => ({
      n,
      name: `svc-${String(i).padStart(3, '0')}`,
      critical: i < CRITICAL_PER_NS,
    })),
  );
  await pool(svcs, 32, async (s) => {
    await ctx.api.must('POST', `/api/v1/namespaces/${s.n}/services`, {
      metadata: { name: s.name, labels: { app: s.name, ...(s.critical ? { critical: 'true' } : {}) } },
      spec: { selector: { app: s.name }, ports: [{ port: 80, targetPort: 8080 }] },
    });
  });
  log(`created ${svcs.length} Services`);
  const pods = svcs.flatMap((s) =>
    Array.from({ length: PODS_PER_SERVICE }, (_, i) => ({ n: s.n, name: `${s.name}-${i}`, app: s.name })),
  );
  let done = 0;
  await pool(pods, 48, async (p) => {
    await ctx.api.must('POST', `/api/v1/namespaces/${p.n}/pods`, podBody(p.name, { app: p.app }));
    await ctx.api.must(
      'PATCH',
      `/api/v1/namespaces/${p.n}/pods/${p.name}/status`,
      readyStatus(),
      'application/merge-patch+json',
    );
    if (++done % 5000 === 0) log(`created ${done} pods (Running, Ready)`);
  });
  await ctx.api.must('POST', '/apis/mycrd.com/v1/criticalservices', {
    apiVersion: 'mycrd.com/v1',
    kind: 'CriticalService',
    metadata: { name: 'bench-scale' },
    spec: { matchLabels: [{ key: 'critical', value: 'true' }] },
  });
  return {
    seconds: (performance.now() - t0) / 1000,
    services: svcs.length,
    critical: svcs.filter((s) => s.critical).length,
    pods: pods.length,
  };
}

/** BENCH_CURVE: pod counts of the scale curve (Kubernetes' published limits: 150,000 pods, 10,000 Services). */
const CURVE = (ENV.BENCH_CURVE ?? '20000,50000,100000,150000')
  .split(',')
  .map(Number)
  .filter((n) => n > 0);
const CURVE_NAMESPACES = Number(ENV.BENCH_CURVE_NAMESPACES ?? 20);
const CURVE_SERVICES = Number(ENV.BENCH_CURVE_SERVICES ?? 10_000);

/**
 * The scale curve: one cluster grown step by step to each pod count of CURVE (10,000 Services,
 * a quarter critical), the pipeline started afresh at each step: start-up time, memory, Redis.
 */
async function curve(ctx: Ctx): Promise<CurveStep[]> {
  const namespaces = Array.from({ length: CURVE_NAMESPACES }, (_, i) => `bench-curve-${String(i).padStart(2, '0')}`);
  for (const n of namespaces) await ns(ctx, n);
  const perNs = Math.ceil(CURVE_SERVICES / CURVE_NAMESPACES);
  const svcs = Array.from({ length: CURVE_SERVICES }, (_, i) => ({
    n: namespaces[i % CURVE_NAMESPACES] ?? '',
    name: `svc-${String(Math.floor(i / CURVE_NAMESPACES)).padStart(4, '0')}`,
    critical: Math.floor(i / CURVE_NAMESPACES) < perNs / 4,
  }));
  const t0 = performance.now();
  await pool(svcs, 32, async (x) => {
    await ctx.api.must('POST', `/api/v1/namespaces/${x.n}/services`, {
      metadata: { name: x.name, labels: { app: x.name, ...(x.critical ? { critical: 'true' } : {}) } },
      spec: { selector: { app: x.name }, ports: [{ port: 80, targetPort: 8080 }] },
    });
  });
  await ctx.api.must('POST', '/apis/mycrd.com/v1/criticalservices', {
    apiVersion: 'mycrd.com/v1',
    kind: 'CriticalService',
    metadata: { name: 'bench-curve' },
    spec: { matchLabels: [{ key: 'critical', value: 'true' }] },
  });
  log(`curve: ${svcs.length} Services in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  const steps: CurveStep[] = [];
  let made = 0;
  for (const [i, target] of CURVE.entries()) {
    const t1 = performance.now();
    const batch = Array.from({ length: Math.max(0, target - made) }, (_, k) => made + k);
    await pool(batch, 64, async (k) => {
      const x = svcs[k % svcs.length];
      if (!x) return;
      const name = `${x.name}-${Math.floor(k / svcs.length)}`;
      await ctx.api.must('POST', `/api/v1/namespaces/${x.n}/pods`, podBody(name, { app: x.name }));
      await ctx.api.must(
        'PATCH',
        `/api/v1/namespaces/${x.n}/pods/${name}/status`,
        readyStatus(),
        'application/merge-patch+json',
      );
      if ((k + 1) % 10_000 === 0) log(`curve: ${k + 1} pods (Running, Ready)`);
    });
    made = target;
    const populateS = (performance.now() - t1) / 1000;
    log(`curve: ${target} pods (${populateS.toFixed(0)} s); starting the pipeline`);
    let started;
    try {
      started = await scaleStart(ctx, `bench-curve-${i + 1}`);
    } catch (err) {
      // Where this machine stops: said in the report, the steps before it kept.
      for (const sup of running) await sup.stop().catch(() => undefined);
      log(
        `curve ${target}: the pipeline did not complete its start: ${err instanceof Error ? err.message : String(err)}`,
      );
      steps.push({
        pods: target,
        services: svcs.length,
        populateS,
        handlerReadyS: NaN,
        watchersReadyS: NaN,
        drainedS: NaN,
        rss: {},
        handlerHeapMb: NaN,
        redisMb: NaN,
        error: err instanceof Error ? err.message : String(err),
      });
      break;
    }
    const { p, r } = started;
    await p.sup.stop();
    steps.push({ pods: target, services: svcs.length, populateS, ...r });
    log(
      `curve ${target}: handler ready ${r.handlerReadyS.toFixed(2)} s, drained ${r.drainedS.toFixed(2)} s, RSS ${Object.entries(
        r.rss,
      )
        .map(([a, m]) => `${a} ${m.toFixed(0)}`)
        .join(
          ', ',
        )} MB, heap ${r.handlerHeapMb.toFixed(0)} MB, Redis ${r.redisMb.toFixed(1)} MB, restarts ${JSON.stringify(r.restarts)}`,
    );
  }
  return steps;
}

async function scaleStart(
  ctx: Ctx,
  queue: string,
): Promise<{ p: Awaited<ReturnType<typeof startPipeline>>; r: ScaleStart }> {
  const p = await startPipeline(ctx, '', queue);
  let handlerReady = NaN;
  await waitUntil('handler ready', async () => {
    if (await ready(p.ports.handler)) handlerReady = performance.now();
    return Number.isFinite(handlerReady);
  });
  await waitUntil('watchers ready', async () =>
    (
      await Promise.all(['watcher-pods', 'watcher-services', 'watcher-crds'].map((a) => ready(p.ports[a as App])))
    ).every(Boolean),
  );
  const watchersReady = performance.now();
  await waitUntil(
    'initial events drained',
    async () =>
      (await metric(p.ports.handler, 'critsvc_event_queue_jobs', 'state="waiting"')) === 0 &&
      (await metric(p.ports.handler, 'critsvc_events_processed_total')) > 0,
    300_000,
    200,
  );
  const drained = performance.now();
  const rss = Object.fromEntries(
    ['handler', 'watcher-pods', 'watcher-services', 'watcher-crds'].map((a) => [a, rssMb(p.sup.pid(a as App))]),
  );
  const handlerHeapMb = (await metric(p.ports.handler, 'nodejs_heap_size_used_bytes')) / 1024 / 1024;
  const restarts = Object.fromEntries(
    ['handler', 'watcher-pods', 'watcher-services', 'watcher-crds'].map((a) => [a, p.sup.restartCount(a as App)]),
  );
  return {
    p,
    r: {
      restarts,
      handlerReadyS: (handlerReady - p.started) / 1000,
      watchersReadyS: (watchersReady - p.started) / 1000,
      drainedS: (drained - p.started) / 1000,
      rss,
      handlerHeapMb,
      redisMb: await redisMemoryMb(ctx.state.redisUrl),
    },
  };
}

/** The idle failover figures of the reports already in bench/results, oldest first: kept for comparison. */
function earlierReports(dir: string, except: string): EarlierFigures[] {
  const out: EarlierFigures[] = [];
  for (const file of readdirSync(dir)
    .filter((f) => f.endsWith('.json') && f !== `${except}.json`)
    .sort()) {
    try {
      const r = JSON.parse(readFileSync(join(dir, file), 'utf8')) as {
        versions?: { critsvc?: string };
        idle?: IdleResult;
      };
      if (r.idle?.median)
        out.push({ name: file.replace(/\.json$/, ''), critsvc: r.versions?.critsvc ?? '', ...r.idle.median });
    } catch {
      // not a report of ours
    }
  }
  return out;
}

function versions(state: ClusterState): Record<string, string> {
  const out = (cmd: string, args: string[]): string =>
    spawnSync(cmd, args, { encoding: 'utf8' }).stdout.trim().split('\n')[0] ?? '';
  const api = state.procs.find((p) => p.name === 'kube-apiserver')?.argv[0] ?? '';
  const etcd = state.procs.find((p) => p.name === 'etcd')?.argv[0] ?? '';
  return {
    node: process.version,
    kubeApiserver: out(api, ['--version']),
    etcd: out(etcd, ['--version']),
    redis: out('redis-server', ['--version']),
    critsvc: out('git', ['-C', root, 'rev-parse', '--short', 'HEAD']),
  };
}

async function main(): Promise<void> {
  clusterCli('down');
  rmSync(join(root, 'bench/tmp'), { recursive: true, force: true });
  // Part client runs on the real node: the bench cluster gets one.
  if (PARTS.has('client')) ENV.CRITSVC_NODE = 'real';
  clusterCli('up');
  const state = readState(clusterDir);
  if (!state) throw new Error('no bench cluster state');
  const kc = new KubeConfig();
  kc.loadFromFile(state.kubeconfig);
  const ctx: Ctx = { state, kc, api: new RawApi(state), healthyGraceMs: Number(HEALTHY_GRACE) * 1000 };
  await installBasics(state.kubeconfig, root);
  // Default pods gone 1 s after their deletion, so that outage trials can follow each other.
  await ctx.api.must(
    'PATCH',
    '/api/v1/namespaces/linux-mag/podtemplates/critical-service-pod-template',
    { template: { spec: { terminationGracePeriodSeconds: 1 } } },
    'application/merge-patch+json',
  );
  const machine = { cores: cpus().length, cpu: cpus()[0]?.model ?? '', memoryGiB: Math.round(totalmem() / 2 ** 30) };
  log(`machine: ${machine.cores} cores, ${machine.memoryGiB} GiB`);

  const idleResult = PARTS.has('idle') ? await idle(ctx) : undefined;
  const standbyResult = PARTS.has('standby') && state.mode !== 'bare' ? await standby(ctx) : undefined;
  let pop: Awaited<ReturnType<typeof populate>> | undefined;
  const starts: ScaleStart[] = [];
  const churns: ChurnResult[] = [];
  if (PARTS.has('scale')) {
    log('populating the scale cluster');
    pop = await populate(ctx);
    log(`populated in ${pop.seconds.toFixed(0)} s`);
    for (let round = 1; round <= ROUNDS; round++) {
      const { p, r } = await scaleStart(ctx, `bench-scale-${round}`);
      starts.push(r);
      log(
        `start ${round}: handler ready ${r.handlerReadyS.toFixed(2)} s, watchers ${r.watchersReadyS.toFixed(2)} s, backlog drained ${r.drainedS.toFixed(2)} s, handler RSS ${r.rss.handler?.toFixed(0)} MB, Redis ${r.redisMb.toFixed(1)} MB`,
      );
      const c = await churn(
        ctx,
        p,
        round,
        {
          rate: CHURN_RATE,
          seconds: CHURN_SECONDS,
          namespaces: NAMESPACES,
          servicesPerNs: SERVICES_PER_NS,
          criticalPerNs: CRITICAL_PER_NS,
          inFlight: CHURN_IN_FLIGHT,
          outageTrials: OUTAGE_TRIALS,
        },
        log,
      );
      churns.push(c);
      log(
        `churn ${round}: ${c.handledEventsPerS.toFixed(0)} events/s handled, queue max ${c.maxWaiting}, failover p50 ${ms(c.failover.p50)} p99 ${ms(c.failover.p99)}`,
      );
      await p.sup.stop();
    }
  }
  const curveSteps = PARTS.has('curve') ? await curve(ctx) : [];
  const clientResult = PARTS.has('client') ? await client(ctx) : undefined;
  ctx.api.close();
  const nodeOptions =
    ENV.BENCH_NODE_OPTIONS ??
    (ENV.BENCH_CGROUPS === '0'
      ? DEFAULT_NODE_OPTIONS
      : `${IMAGE_NODE_OPTIONS}, each process in a memory cgroup with deploy/'s limit (${Object.entries(
          DEPLOY_MEMORY_MIB,
        )
          .filter(([a]) => a !== 'dashboard')
          .map(([a, m]) => `${a} ${m} MiB`)
          .join(', ')})`);
  const result = {
    date: new Date().toISOString(),
    machine,
    versions: versions(state),
    config: {
      TRIALS,
      ROUNDS,
      NAMESPACES,
      SERVICES_PER_NS,
      CRITICAL_PER_NS,
      PODS_PER_SERVICE,
      CHURN_RATE,
      CHURN_SECONDS,
      OUTAGE_TRIALS,
      HEALTHY_GRACE,
      nodeOptions,
      fastPath: FAST_PATH,
    },
    idle: idleResult,
    standby: standbyResult,
    population: pop,
    starts,
    churns,
    curve: curveSteps,
    client: clientResult,
  };
  const dir = join(root, 'bench/results');
  mkdirSync(dir, { recursive: true });
  const day = result.date.slice(0, 10);
  const name = ENV.BENCH_REPORT_NAME ?? day;
  const earlier = earlierReports(dir, name);
  writeFileSync(join(dir, `${name}.json`), `${JSON.stringify(result, null, 2)}\n`);
  for (const p of await plots(result)) writeFileSync(join(dir, `${name}-${p.name}.svg`), p.svg);
  writeFileSync(
    join(dir, `${name}.md`),
    report({
      ...result,
      clusterMode: state.mode ?? 'full',
      namespaces: NAMESPACES,
      churnSeconds: CHURN_SECONDS,
      nodeOptions,
      fastPath: FAST_PATH,
      healthyGrace: HEALTHY_GRACE,
      earlier,
    }),
  );
  log(`report written to bench/results/${name}.md`);
  await clusterDown(clusterDir);
}

// A failure, or a stray rejected promise, stops every pipeline started and the bench cluster.
const abort = abortOnFailure({ running, cleanup: () => clusterDown(clusterDir), log: (line) => console.error(line) });
main().catch(abort);
