// Renders the benchmark's markdown report from its results.
import { median, ms, type Summary } from './stats.ts';

export interface OutageResult {
  /** Last ready endpoint gone → the default pod's endpoint ready. */
  window: Summary;
  /** The longest time without a ready endpoint during a hand-back, and how many hand-backs had any. */
  gapMaxMs: number;
  gapTrials: number;
  /** Why the trials stopped early, if they did. */
  error?: string;
}

export interface IdleResult {
  rounds: { critsvc: { failover: Summary; recovery: Summary; outage: OutageResult }; floor: { failover: Summary } }[];
  median: { critsvcP50: number; critsvcP95: number; critsvcP99: number; floorP50: number; floorP95: number; floorP99: number; recoveryP50: number; recoveryP99: number; ratioP50: number; ratioP99: number; outageP50: number; outageP99: number; gapMaxMs: number };
}

export interface ScaleStart {
  handlerReadyS: number;
  watchersReadyS: number;
  drainedS: number;
  rss: Record<string, number>;
  handlerHeapMb: number;
  redisMb: number;
}

export interface ChurnResult {
  targetRate: number;
  achievedOpsPerS: number;
  handledEventsPerS: number;
  maxWaiting: number;
  finalWaiting: number;
  failover: Summary;
  outage: OutageResult;
  handlerRssMb: number;
  redisMb: number;
}

export interface Population {
  seconds: number;
  services: number;
  critical: number;
  pods: number;
}

export interface ReportInput {
  date: string;
  machine: { cores: number; cpu: string; memoryGiB: number };
  versions: Record<string, string>;
  idle: IdleResult;
  population: Population;
  starts: ScaleStart[];
  churns: ChurnResult[];
  namespaces: number;
  churnSeconds: number;
  nodeOptions: string;
  healthyGrace: string;
}

export function report(r: ReportInput): string {
  const m = r.idle.median;
  const med = (f: (x: ScaleStart) => number): number => median(r.starts.map(f));
  const medC = (f: (x: ChurnResult) => number): number => median(r.churns.map(f));
  const ok = (v: boolean): string => (v ? 'met' : '**missed**');
  const handlerRss = med((s) => s.rss.handler ?? NaN);
  const redisMb = Math.max(...r.starts.map((s) => s.redisMb), ...r.churns.map((c) => c.redisMb));
  const churnP99 = medC((c) => c.failover.p99);
  const lines = [
    `# critsvc benchmark — ${r.date.slice(0, 10)}`,
    '',
    `Machine: ${r.machine.cores} cores (${r.machine.cpu}), ${r.machine.memoryGiB} GiB. Versions: ${Object.entries(r.versions).map(([k, v]) => `${k} ${v}`).join('; ')}.`,
    `Everything ran on this one machine: etcd, kube-apiserver, redis-server, the four critsvc processes, the load generator and the measuring watch.`,
    `Each figure is the median over ${r.idle.rounds.length} runs (rounds); the per-run values are in the JSON next to this file. critsvc processes ran with NODE_OPTIONS=\`${r.nodeOptions}\`.`,
    '',
    '## Failover at idle',
    '',
    `Failover: from the DELETE of a critical Service's last real pod to the default pod's ADDED, both seen by one independent watch. Recovery: from a real pod's Ready (MODIFIED) to the default pod's DELETED. ${r.idle.rounds[0]?.critsvc.failover.n ?? 0} trials per run. The floor is a one-process reactor that creates the stand-in directly on the DELETE event (bench/lib/floor-reactor.ts).`,
    '',
    '| | p50 | p95 | p99 |',
    '|---|---|---|---|',
    `| critsvc failover | ${ms(m.critsvcP50)} | ${ms(m.critsvcP95)} | ${ms(m.critsvcP99)} |`,
    `| floor failover | ${ms(m.floorP50)} | ${ms(m.floorP95)} | ${ms(m.floorP99)} |`,
    `| **critsvc / floor** | **${m.ratioP50.toFixed(2)}×** | | **${m.ratioP99.toFixed(2)}×** |`,
    `| critsvc recovery (includes the healthy hold-off, HEALTHY_GRACE_SECONDS=${r.healthyGrace} in the bench) | ${ms(m.recoveryP50)} | | ${ms(m.recoveryP99)} |`,
    '',
    '## Outage window at idle (what clients see)',
    '',
    `Judged by an independent watch on the Service's EndpointSlices (maintained by kube-controller-manager); kwok starts every pod with no delay. Outage window: the last real pod is deleted and its endpoint turns not ready → the default pod's endpoint is ready (critsvc's reaction + scheduling + start + the EndpointSlice controller). Hand-back: a new real pod starts; the default pod leaves HEALTHY_GRACE_SECONDS after it is Ready; the gap is the time with no ready endpoint meanwhile (goal: 0). ${r.idle.rounds[0]?.critsvc.outage.window.n ?? 0} trials per run.`,
    '',
    '| | p50 | p95 | p99 |',
    '|---|---|---|---|',
    `| outage window | ${ms(m.outageP50)} | | ${ms(m.outageP99)} |`,
    `| hand-back gap (max over all trials) | | | ${ms(m.gapMaxMs)} (${r.idle.rounds.map((x) => x.critsvc.outage.gapTrials).join(', ')} trial(s) with a gap) |`,
    '',
    '## Scale',
    '',
    `Populated: ${r.population.services} Services (${r.population.critical} critical, one CriticalService), ${r.population.pods} pods (Running, Ready) in ${r.namespaces} namespaces, in ${r.population.seconds.toFixed(0)} s.`,
    '',
    '| | median | runs |',
    '|---|---|---|',
    `| start → handler state complete (/readyz) | ${med((s) => s.handlerReadyS).toFixed(2)} s | ${r.starts.map((s) => s.handlerReadyS.toFixed(2)).join(', ')} |`,
    `| start → every watcher listed | ${med((s) => s.watchersReadyS).toFixed(2)} s | ${r.starts.map((s) => s.watchersReadyS.toFixed(2)).join(', ')} |`,
    `| start → initial list events drained from the queue | ${med((s) => s.drainedS).toFixed(2)} s | ${r.starts.map((s) => s.drainedS.toFixed(2)).join(', ')} |`,
    ...['handler', 'watcher-pods', 'watcher-services', 'watcher-crds'].map((a) => `| RSS ${a} after start | ${med((s) => s.rss[a] ?? NaN).toFixed(0)} MB | ${r.starts.map((s) => (s.rss[a] ?? NaN).toFixed(0)).join(', ')} |`),
    `| handler V8 heap used after start | ${med((s) => s.handlerHeapMb).toFixed(0)} MB | ${r.starts.map((s) => s.handlerHeapMb.toFixed(0)).join(', ')} |`,
    `| Redis used_memory after start | ${med((s) => s.redisMb).toFixed(1)} MB | ${r.starts.map((s) => s.redisMb.toFixed(1)).join(', ')} |`,
    '',
    `## Churn: ${r.churns[0]?.targetRate ?? 0} pod events/s for ${r.churnSeconds} s`,
    '',
    'Pods of non-critical Services created, made Ready and deleted at a steady rate (each unit is three events), while failover trials run on a critical Service.',
    '',
    '| | median | runs |',
    '|---|---|---|',
    `| events issued / s | ${medC((c) => c.achievedOpsPerS).toFixed(0)} | ${r.churns.map((c) => c.achievedOpsPerS.toFixed(0)).join(', ')} |`,
    `| events handled / s (watchers → queue → handler) | ${medC((c) => c.handledEventsPerS).toFixed(0)} | ${r.churns.map((c) => c.handledEventsPerS.toFixed(0)).join(', ')} |`,
    `| queue depth (waiting): max / at the end | ${medC((c) => c.maxWaiting).toFixed(0)} / ${medC((c) => c.finalWaiting).toFixed(0)} | ${r.churns.map((c) => `${c.maxWaiting}/${c.finalWaiting}`).join(', ')} |`,
    `| failover under churn p50 / p99 | ${ms(medC((c) => c.failover.p50))} / ${ms(churnP99)} | ${r.churns.map((c) => `${c.failover.p50.toFixed(0)}/${c.failover.p99.toFixed(0)} (n=${c.failover.n})`).join(', ')} |`,
    `| outage window under churn p50 / p99 | ${ms(medC((c) => c.outage.window.p50))} / ${ms(medC((c) => c.outage.window.p99))} | ${r.churns.map((c) => `${c.outage.window.p50.toFixed(0)}/${c.outage.window.p99.toFixed(0)} (n=${c.outage.window.n}${c.outage.error ? `; stopped: ${c.outage.error}` : ''})`).join(', ')} |`,
    `| hand-back gap under churn (max) | ${ms(Math.max(...r.churns.map((c) => c.outage.gapMaxMs)))} | ${r.churns.map((c) => `${c.outage.gapTrials} with a gap`).join(', ')} |`,
    `| handler RSS / Redis after churn | ${medC((c) => c.handlerRssMb).toFixed(0)} MB / ${medC((c) => c.redisMb).toFixed(1)} MB | |`,
    '',
    '## Targets',
    '',
    '| target | measured | |',
    '|---|---|---|',
    `| failover p99 < 100 ms at idle | ${ms(m.critsvcP99)} | ${ok(m.critsvcP99 < 100)} |`,
    `| failover within 3× the floor at idle (p99) | ${m.ratioP99.toFixed(2)}× | ${ok(m.ratioP99 <= 3)} |`,
    `| failover p99 < 200 ms under ${r.churns[0]?.targetRate ?? 0} events/s | ${ms(churnP99)} | ${ok(churnP99 < 200)} |`,
    `| handler RSS < 200 MB at scale | ${handlerRss.toFixed(0)} MB | ${ok(handlerRss < 200)} |`,
    `| Redis < 100 MB at scale | ${redisMb.toFixed(1)} MB (max seen) | ${ok(redisMb < 100)} |`,
    `| start-to-synced < 15 s | ${med((s) => s.handlerReadyS).toFixed(2)} s (handler), ${med((s) => s.drainedS).toFixed(2)} s (queue drained) | ${ok(med((s) => s.drainedS) < 15)} |`,
    '',
  ];
  return lines.join('\n');
}
