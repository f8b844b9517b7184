// Renders the benchmark's markdown report from its results.
import { FAST_PATH_RESULTS } from './metrics.ts';
import type { ClientResult } from './client.ts';
import { clientSection } from './client-report.ts';
import { median, ms, type Summary } from './stats.ts';

export interface OutageResult {
  /** Last ready endpoint gone → the default pod's endpoint ready. */
  window: Summary;
  /** The longest time without a ready endpoint during a hand-back, and how many hand-backs had any. */
  gapMaxMs: number;
  gapTrials: number;
  /** Where the window goes, medians in ms (absent in reports before 2026-12-02). */
  stages?: OutageStages;
  /** Why the trials stopped early, if they did. */
  error?: string;
}

/**
 * react: the real pod's endpoint not ready → the stand-in serving the Service (created, or a warm
 * pod promoted: critsvc); schedule: → bound to a node (kube-scheduler); start: → Ready (kwok, the
 * kubelet's part); publish: → its endpoint ready in the EndpointSlice (kube-controller-manager).
 */
export interface OutageStages {
  react: number;
  schedule: number;
  start: number;
  publish: number;
}

export interface IdleResult {
  rounds: {
    critsvc: {
      failover: Summary;
      recovery: Summary;
      outage: OutageResult;
      stages: Record<string, number>;
      fastPath?: Record<string, number>;
    };
    floor: { failover: Summary };
    floorClientNode: { failover: Summary };
  }[];
  median: {
    critsvcP50: number;
    critsvcP95: number;
    critsvcP99: number;
    floorP50: number;
    floorP95: number;
    floorP99: number;
    floorClientNodeP50: number;
    floorClientNodeP95: number;
    floorClientNodeP99: number;
    recoveryP50: number;
    recoveryP99: number;
    ratioP50: number;
    ratioP99: number;
    outageP50: number;
    outageP99: number;
    gapMaxMs: number;
  };
}

/** Outage window cold (default pod created on lameness) vs hot (a warm pod promoted), default pods taking startDelay to start. */
export interface StandbyResult {
  startDelay: string;
  runs: { cold: OutageResult; hot: OutageResult }[];
  median: { coldP50: number; coldP99: number; hotP50: number; hotP99: number };
}

export interface ScaleStart {
  /** Processes that died and were restarted (an OOM kill under the memory limit among them). */
  restarts?: Record<string, number>;
  handlerReadyS: number;
  watchersReadyS: number;
  drainedS: number;
  rss: Record<string, number>;
  handlerHeapMb: number;
  redisMb: number;
}

export interface ChurnResult {
  /** Failover stage means (ms) over the churn, from critsvc's histograms (as at idle). */
  stages?: Record<string, number>;
  targetRate: number;
  achievedOpsPerS: number;
  handledEventsPerS: number;
  maxWaiting: number;
  finalWaiting: number;
  failover: Summary;
  /** Why the failover trials stopped early, if they did (failover holds those done). */
  failoverError?: string;
  outage: OutageResult;
  handlerRssMb: number;
  redisMb: number;
}

/** One step of the scale curve. */
export interface CurveStep extends ScaleStart {
  pods: number;
  services: number;
  /** Time to add this step's pods (create + status), for the record. */
  populateS: number;
  /** Why the pipeline's start did not complete at this step. */
  error?: string;
}

export interface Population {
  seconds: number;
  services: number;
  critical: number;
  pods: number;
}

/** An earlier report's idle failover figures (its JSON's idle.median), for comparison. */
export type EarlierFigures = { name: string; critsvc: string } & Partial<IdleResult['median']>;

export interface ReportInput {
  date: string;
  machine: { cores: number; cpu: string; memoryGiB: number };
  versions: Record<string, string>;
  idle: IdleResult | undefined;
  standby?: StandbyResult | undefined;
  population: Population | undefined;
  starts: ScaleStart[];
  churns: ChurnResult[];
  curve: CurveStep[];
  /** Part `client`: the ClusterIP seen by clients on the real node. */
  client?: ClientResult | undefined;
  clusterMode: string;
  namespaces: number;
  churnSeconds: number;
  nodeOptions: string;
  /** FAST_PATH as the critsvc processes ran. */
  fastPath: string;
  healthyGrace: string;
  earlier: EarlierFigures[];
}

const ok = (v: boolean): string => (v ? 'met' : '**missed**');

/** Where the idle failover's time goes: the stages' means, from critsvc's own histograms. */
const STAGE_ROWS: [string, string][] = [
  ['queue', 'watcher event received → the handler has it (its fast-path message through Redis, else its job)'],
  ['decision_wait', 'handler: the Service waits for a decision worker'],
  ['decide', 'handler: decision (in memory)'],
  ['reads', 'handler: reads before the create (template, live check)'],
  ['create', 'handler: the create call, until the API server answered'],
];

function fastPathLine(counts: Record<string, number> | undefined): string {
  if (!counts) return 'not counted';
  return FAST_PATH_RESULTS.map((k) => `${k} ${counts[k] ?? 0}`).join(', ');
}

function idleSection(r: ReportInput, idle: IdleResult): string[] {
  const m = idle.median;
  const st = (k: string): number => median(idle.rounds.map((x) => x.critsvc.stages[k] ?? NaN));
  const stages: Record<string, number> = Object.fromEntries(STAGE_ROWS.map(([k]) => [k, st(k)]));
  const sum = STAGE_ROWS.reduce((a, [k]) => a + (stages[k] ?? 0), 0);
  const mean = st('failover_mean');
  return [
    '## Failover at idle',
    '',
    `Failover: from the DELETE of a critical Service's last real pod to the default pod's ADDED, both seen by one independent watch. Recovery: from a real pod's Ready (MODIFIED) to the default pod's DELETED. ${idle.rounds[0]?.critsvc.failover.n ?? 0} trials per run.`,
    'The physical floor is a bare one-process reactor (bench/lib/floor-bare.ts): its own pod watch, and on the DELETE event one POST of the stand-in on an already open keep-alive connection; no queue, no state, no reads, no client library. The second floor (bench/lib/floor-reactor.ts) does the same through @kubernetes/client-node as shipped (a new connection per call).',
    '',
    '| | p50 | p95 | p99 |',
    '|---|---|---|---|',
    `| critsvc failover | ${ms(m.critsvcP50)} | ${ms(m.critsvcP95)} | ${ms(m.critsvcP99)} |`,
    `| physical floor failover | ${ms(m.floorP50)} | ${ms(m.floorP95)} | ${ms(m.floorP99)} |`,
    `| **critsvc / physical floor** | **${m.ratioP50.toFixed(2)}×** | | **${m.ratioP99.toFixed(2)}×** |`,
    `| floor through client-node as shipped | ${ms(m.floorClientNodeP50)} | ${ms(m.floorClientNodeP95)} | ${ms(m.floorClientNodeP99)} |`,
    `| critsvc recovery (includes the healthy hold-off, HEALTHY_GRACE_SECONDS=${r.healthyGrace} in the bench) | ${ms(m.recoveryP50)} | | ${ms(m.recoveryP99)} |`,
    '',
    '### Where the time goes',
    '',
    "Means over the same trials, from critsvc's own histograms (`critsvc_watch_to_queue_seconds` in watcher-pods, `critsvc_failover_stage_seconds{stage}` in the handler; all processes on one clock). The rest is what neither side of critsvc sees: the DELETE reaching the pods watcher later than the bench's watch, and the created pod's ADDED reaching the bench's watch.",
    '',
    '| stage | mean |',
    '|---|---|',
    ...STAGE_ROWS.map(([k, label]) => `| ${label} | ${ms(stages[k] ?? NaN)} |`),
    `| **sum of the stages** | **${ms(sum)}** |`,
    `| failover as the bench saw it (mean) | ${ms(mean)} |`,
    `| the rest (watch delivery at both ends) | ${ms(mean - sum)} |`,
    '',
    `Beside the path: the watcher's event → its job stored in Redis, ${ms(st('watch_to_redis'))} (\`critsvc_watch_to_queue_seconds\`). Fast-path messages during the trials (\`critsvc_fast_path_messages_total\`, every pod event, not only the DELETEs; first run): ${fastPathLine(idle.rounds[0]?.critsvc.fastPath)}.`,
    '',
    '## Outage window at idle (what clients see)',
    '',
    `Judged by an independent watch on the Service's EndpointSlices (maintained by kube-controller-manager); kwok starts every pod with no delay. Outage window: the last real pod is deleted and its endpoint turns not ready → the default pod's endpoint is ready (critsvc's reaction + scheduling + start + the EndpointSlice controller). Hand-back: a new real pod starts; the default pod leaves HEALTHY_GRACE_SECONDS after it is Ready; the gap is the time with no ready endpoint meanwhile (goal: 0). ${idle.rounds[0]?.critsvc.outage.window.n ?? 0} trials per run.`,
    '',
    '| | p50 | p95 | p99 |',
    '|---|---|---|---|',
    `| outage window | ${ms(m.outageP50)} | | ${ms(m.outageP99)} |`,
    `| hand-back gap (max over all trials) | | | ${ms(m.gapMaxMs)} (${idle.rounds.map((x) => x.critsvc.outage.gapTrials).join(', ')} trial(s) with a gap) |`,
    '',
    ...outageStages(idle.rounds.map((x) => x.critsvc.outage)),
  ];
}

const OUTAGE_STAGE_ROWS: [keyof OutageStages, string][] = [
  ['react', 'critsvc: the real endpoint not ready → the stand-in serving the Service (created, or promoted)'],
  ['schedule', 'kube-scheduler: → bound to a node (0 for a warm pod)'],
  ['start', "kwok, the kubelet's part: → Ready (0 for a warm pod)"],
  ['publish', 'kube-controller-manager: → its endpoint ready in the EndpointSlice'],
];

/** Where the outage window goes: medians per trial, then the median over runs. */
function outageStages(runs: OutageResult[]): string[] {
  const withStages = runs.flatMap((o) => (o.stages ? [o.stages] : []));
  if (!withStages.length) return [];
  return [
    "Where the window goes (medians; one pod watch in the bench, on the EndpointSlice watch's clock; the stages' medians need not add up to the window's):",
    '',
    '| stage | median |',
    '|---|---|',
    ...OUTAGE_STAGE_ROWS.map(([k, label]) => `| ${label} | ${ms(median(withStages.map((st) => st[k])))} |`),
    '',
  ];
}

function scaleSection(r: ReportInput, pop: Population): string[] {
  const med = (f: (x: ScaleStart) => number): number => median(r.starts.map(f));
  return [
    '## Scale',
    '',
    `Populated: ${pop.services} Services (${pop.critical} critical, one CriticalService), ${pop.pods} pods (Running, Ready) in ${r.namespaces} namespaces, in ${pop.seconds.toFixed(0)} s.`,
    '',
    '| | median | runs |',
    '|---|---|---|',
    `| start → handler state complete (/readyz) | ${med((s) => s.handlerReadyS).toFixed(2)} s | ${r.starts.map((s) => s.handlerReadyS.toFixed(2)).join(', ')} |`,
    `| start → every watcher listed | ${med((s) => s.watchersReadyS).toFixed(2)} s | ${r.starts.map((s) => s.watchersReadyS.toFixed(2)).join(', ')} |`,
    `| start → initial list events drained from the queue | ${med((s) => s.drainedS).toFixed(2)} s | ${r.starts.map((s) => s.drainedS.toFixed(2)).join(', ')} |`,
    ...['handler', 'watcher-pods', 'watcher-services', 'watcher-crds'].map(
      (a) =>
        `| RSS ${a} after start | ${med((s) => s.rss[a] ?? NaN).toFixed(0)} MB | ${r.starts.map((s) => (s.rss[a] ?? NaN).toFixed(0)).join(', ')} |`,
    ),
    `| handler V8 heap used after start | ${med((s) => s.handlerHeapMb).toFixed(0)} MB | ${r.starts.map((s) => s.handlerHeapMb.toFixed(0)).join(', ')} |`,
    `| Redis used_memory after start | ${med((s) => s.redisMb).toFixed(1)} MB | ${r.starts.map((s) => s.redisMb.toFixed(1)).join(', ')} |`,
    `| processes restarted (OOM-killed or crashed) | | ${r.starts
      .map((s) =>
        Object.entries(s.restarts ?? {})
          .map(([a, n]) => `${a} ${n}`)
          .join(' '),
      )
      .join('; ')} |`,
    '',
  ];
}

function churnSection(r: ReportInput): string[] {
  const medC = (f: (x: ChurnResult) => number): number => median(r.churns.map(f));
  return [
    `## Churn: ${r.churns[0]?.targetRate ?? 0} pod events/s for ${r.churnSeconds} s`,
    '',
    'Pods created, made Ready and deleted at a steady rate (each unit is three events; one unit in four on a critical Service, which keeps its other Ready pods: decided and reflected in status, never lame), while failover trials run on another critical Service.',
    '',
    '| | median | runs |',
    '|---|---|---|',
    `| events issued / s | ${medC((c) => c.achievedOpsPerS).toFixed(0)} | ${r.churns.map((c) => c.achievedOpsPerS.toFixed(0)).join(', ')} |`,
    `| events handled / s (watchers → queue → handler) | ${medC((c) => c.handledEventsPerS).toFixed(0)} | ${r.churns.map((c) => c.handledEventsPerS.toFixed(0)).join(', ')} |`,
    `| queue depth (waiting): max / at the end | ${medC((c) => c.maxWaiting).toFixed(0)} / ${medC((c) => c.finalWaiting).toFixed(0)} | ${r.churns.map((c) => `${c.maxWaiting}/${c.finalWaiting}`).join(', ')} |`,
    `| failover under churn p50 / p99 | ${ms(medC((c) => c.failover.p50))} / ${ms(medC((c) => c.failover.p99))} | ${r.churns.map((c) => `${c.failover.p50.toFixed(0)}/${c.failover.p99.toFixed(0)} (n=${c.failover.n}${c.failoverError ? `; stopped: ${c.failoverError}` : ''})`).join(', ')} |`,
    `| outage window under churn p50 / p99 | ${ms(medC((c) => c.outage.window.p50))} / ${ms(medC((c) => c.outage.window.p99))} | ${r.churns.map((c) => `${c.outage.window.p50.toFixed(0)}/${c.outage.window.p99.toFixed(0)} (n=${c.outage.window.n}${c.outage.error ? `; stopped: ${c.outage.error}` : ''})`).join(', ')} |`,
    `| hand-back gap under churn (max) | ${ms(Math.max(...r.churns.map((c) => c.outage.gapMaxMs)))} | ${r.churns.map((c) => `${c.outage.gapTrials} with a gap`).join(', ')} |`,
    `| handler RSS / Redis after churn | ${medC((c) => c.handlerRssMb).toFixed(0)} MB / ${medC((c) => c.redisMb).toFixed(1)} MB | |`,
    `| failover stage means under churn: ${STAGE_ROWS.map(([k]) => k).join(', ')} | | ${r.churns.map((c) => STAGE_ROWS.map(([k]) => ms(c.stages?.[k] ?? NaN)).join(', ')).join('; ')} |`,
    '',
  ];
}

function curveSection(r: ReportInput): string[] {
  const c = r.curve;
  const first = c.find((x) => !x.error);
  const last = c.filter((x) => !x.error).at(-1);
  const per10k = (f: (x: CurveStep) => number): string =>
    first && last && last.pods > first.pods
      ? `${(((f(last) - f(first)) / (last.pods - first.pods)) * 10_000).toFixed(1)}`
      : 'n/a';
  const apps = ['handler', 'watcher-pods', 'watcher-services', 'watcher-crds'];
  return [
    '## Scale curve',
    '',
    `One cluster grown step by step (${first?.services ?? 0} Services in ${CURVE_NS_NOTE}, a quarter of them critical; pods Running and Ready, spread over the Services), the pipeline started afresh at each step with every namespace watched. RSS is read from /proc after the start-up backlog is drained.`,
    '',
    `| pods | start → state complete | → queue drained | ${apps.map((a) => `RSS ${a}`).join(' | ')} | handler heap used | Redis | restarts |`,
    `|---|---|---|${apps.map(() => '---').join('|')}|---|---|---|`,
    ...c.map(
      (x) =>
        `| ${x.pods} | ${x.handlerReadyS.toFixed(1)} s | ${x.drainedS.toFixed(1)} s | ${apps.map((a) => `${(x.rss[a] ?? NaN).toFixed(0)} MB`).join(' | ')} | ${x.handlerHeapMb.toFixed(0)} MB | ${x.redisMb.toFixed(1)} MB | ${Object.values(x.restarts ?? {}).reduce((a, b) => a + b, 0)} |`,
    ),
    `| growth per 10,000 pods | ${per10k((x) => x.handlerReadyS)} s | ${per10k((x) => x.drainedS)} s | ${apps.map((a) => `${per10k((x) => x.rss[a] ?? NaN)} MB`).join(' | ')} | ${per10k((x) => x.handlerHeapMb)} MB | ${per10k((x) => x.redisMb)} MB | |`,
    '',
    ...c
      .filter((x) => x.error)
      .flatMap((x) => [
        `Where this machine stopped: at ${x.pods} pods the pipeline did not complete its start: ${x.error}`,
        '',
      ]),
  ];
}
const CURVE_NS_NOTE = 'the bench-curve-* namespaces';

/** Issue 12's targets, for the parts that ran. */
function targets(r: ReportInput): string[] {
  const rows: string[] = [];
  const m = r.idle?.median;
  if (m) {
    rows.push(`| idle failover p50 ≤ 8 ms | ${ms(m.critsvcP50)} | ${ok(m.critsvcP50 <= 8)} |`);
    rows.push(`| idle failover p99 ≤ 20 ms | ${ms(m.critsvcP99)} | ${ok(m.critsvcP99 <= 20)} |`);
    rows.push(
      `| idle failover p99 within 1.5× the physical floor | ${m.ratioP99.toFixed(2)}× | ${ok(m.ratioP99 <= 1.5)} |`,
    );
  }
  if (r.churns.length) {
    const p99 = median(r.churns.map((c) => c.failover.p99));
    rows.push(
      `| failover p99 < 60 ms under ${r.churns[0]?.targetRate ?? 0} pod events/s (target: at 1,000/s) | ${ms(p99)} | ${ok(p99 < 60 && (r.churns[0]?.targetRate ?? 0) >= 1000)} |`,
    );
  }
  const top = r.curve.at(-1);
  if (top) {
    const watchers = Math.max(...['watcher-pods', 'watcher-services', 'watcher-crds'].map((a) => top.rss[a] ?? NaN));
    rows.push(
      `| start → state complete < 30 s at 150,000 pods (curve's largest step: ${top.pods}) | ${top.handlerReadyS.toFixed(1)} s | ${ok(top.handlerReadyS < 30 && top.pods >= 150_000)} |`,
    );
    rows.push(
      `| handler RSS < 250 MB (at ${top.pods} pods) | ${(top.rss.handler ?? NaN).toFixed(0)} MB | ${ok((top.rss.handler ?? Infinity) < 250)} |`,
    );
    rows.push(
      `| each watcher RSS < 150 MB (at ${top.pods} pods) | ${watchers.toFixed(0)} MB (largest) | ${ok(watchers < 150)} |`,
    );
    rows.push(`| Redis < 100 MB (at ${top.pods} pods) | ${top.redisMb.toFixed(1)} MB | ${ok(top.redisMb < 100)} |`);
  }
  if (r.starts.length) {
    const med = (f: (x: ScaleStart) => number): number => median(r.starts.map(f));
    const redis = Math.max(...r.starts.map((s) => s.redisMb), ...r.churns.map((c) => c.redisMb));
    const watchers = Math.max(
      ...['watcher-pods', 'watcher-services', 'watcher-crds'].map((a) => med((s) => s.rss[a] ?? NaN)),
    );
    const pods = r.population?.pods ?? 0;
    rows.push(
      `| start → state complete < 30 s (at ${pods} pods; target at 150,000) | ${med((s) => s.handlerReadyS).toFixed(2)} s | ${ok(med((s) => s.handlerReadyS) < 30)} |`,
    );
    rows.push(
      `| handler RSS < 250 MB (at ${pods} pods) | ${med((s) => s.rss.handler ?? NaN).toFixed(0)} MB | ${ok(med((s) => s.rss.handler ?? NaN) < 250)} |`,
    );
    rows.push(
      `| each watcher RSS < 150 MB (at ${pods} pods) | ${watchers.toFixed(0)} MB (largest) | ${ok(watchers < 150)} |`,
    );
    rows.push(`| Redis < 100 MB | ${redis.toFixed(1)} MB (max seen) | ${ok(redis < 100)} |`);
  }
  return rows.length ? ['## Targets', '', '| target | measured | |', '|---|---|---|', ...rows, ''] : [];
}

function earlierSection(r: ReportInput): string[] {
  if (!r.earlier.length) return [];
  const f = (v: number | undefined): string => (v === undefined ? '' : ms(v));
  return [
    '## Earlier reports (idle failover, for comparison)',
    '',
    'From the JSON files next to this one. Their floor is the one of their day (until 2026-11-29: through client-node, a new connection per call).',
    '',
    '| report | critsvc | failover p50 | p99 | floor p50 | p99 | outage window p50 | p99 |',
    '|---|---|---|---|---|---|---|---|',
    ...r.earlier.map(
      (e) =>
        `| ${e.name} | ${e.critsvc} | ${f(e.critsvcP50)} | ${f(e.critsvcP99)} | ${f(e.floorP50)} | ${f(e.floorP99)} | ${f(e.outageP50)} | ${f(e.outageP99)} |`,
    ),
    '',
  ];
}

function standbySection(sb: StandbyResult): string[] {
  const row = (what: string, pick: (x: { cold: OutageResult; hot: OutageResult }) => OutageResult): string =>
    `| ${what} | ${sb.runs.map((x) => `${ms(pick(x).window.p50)} / ${ms(pick(x).window.p99)}`).join(' | ')} | ${sb.runs.map((x) => ms(pick(x).gapMaxMs)).join(', ')} |`;
  return [
    '## Hot standby: outage window cold vs hot',
    '',
    `Default pods take ${sb.startDelay} to start (kwok's pod-ready stage delay, set by the template's pod annotation \`critsvc.test/start-delay\`); real pods start at once. Same Service, same pipeline, the CriticalService's \`spec.defaultPod.hotStandby\` off then on. Outage window as at idle: the last real pod's endpoint gone → a stand-in's endpoint ready (EndpointSlices). Cold: the default pod is created on lameness, then scheduled and started. Hot: the warm pod, Ready in advance outside the selector, is relabelled into the Service (one PATCH); each trial starts once a new warm pod is Ready. ${sb.runs[0]?.cold.window.n ?? 0} trials per mode per run.`,
    '',
    `| mode | ${sb.runs.map((_, i) => `run ${i + 1} p50 / p99`).join(' | ')} | hand-back gap max |`,
    `|---|${sb.runs.map(() => '---|').join('')}---|`,
    row('cold (create on lameness)', (x) => x.cold),
    row('hot standby (promote)', (x) => x.hot),
    '',
    `Median over runs: cold p50 ${ms(sb.median.coldP50)}, p99 ${ms(sb.median.coldP99)}; hot p50 ${ms(sb.median.hotP50)}, p99 ${ms(sb.median.hotP99)}.`,
    '',
    'Cold:',
    '',
    ...outageStages(sb.runs.map((x) => x.cold)),
    'Hot:',
    '',
    ...outageStages(sb.runs.map((x) => x.hot)),
  ];
}

export function report(r: ReportInput): string {
  return [
    `# critsvc benchmark — ${r.date.slice(0, 10)}`,
    '',
    `Machine: ${r.machine.cores} cores (${r.machine.cpu}), ${r.machine.memoryGiB} GiB. Versions: ${Object.entries(
      r.versions,
    )
      .map(([k, v]) => `${k} ${v}`)
      .join('; ')}.`,
    `Everything ran on this one machine: ${r.clusterMode === 'bare' ? "etcd and kube-apiserver alone (a bare control plane: the load generator sets the pods' status)" : 'etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kwok'}, redis-server, the four critsvc processes, the load generator and the measuring watches.`,
    `Each figure is the median over ${Math.max(r.idle?.rounds.length ?? 0, r.standby?.runs.length ?? 0, r.starts.length, 1)} runs (rounds); the per-run values are in the JSON next to this file. critsvc processes ran with NODE_OPTIONS=\`${r.nodeOptions}\` and FAST_PATH=${r.fastPath}.`,
    '',
    ...(r.idle ? idleSection(r, r.idle) : []),
    ...(r.standby ? standbySection(r.standby) : []),
    ...(r.population ? scaleSection(r, r.population) : []),
    ...(r.churns.length ? churnSection(r) : []),
    ...(r.curve.length ? curveSection(r) : []),
    ...(r.client ? clientSection(r.client) : []),
    ...targets(r),
    ...earlierSection(r),
  ].join('\n');
}
