// The churn part of `pnpm bench`: pods of non-critical and critical Services created, made Ready
// and deleted at a steady rate while failover and outage-window trials run alongside.
import { performance } from 'node:perf_hooks';
import type { ClusterState } from '../../scripts/cluster/state.ts';
import type { App, Supervisor } from '../../scripts/run/supervisor.ts';
import { CHURN_NODE, podBody, readyStatus } from './api.ts';
import { meansMs, metric, redisMemoryMb, rssMb, stageScrape } from './metrics.ts';
import type { ChurnResult, OutageResult } from './report.ts';
import { summarize } from './stats.ts';
import { outage, trials, type TrialCtx } from './trials.ts';

export interface ChurnCtx extends TrialCtx {
  state: ClusterState;
}

/** A running pipeline: its processes and their HTTP ports. */
export interface Pipeline {
  sup: Supervisor;
  ports: Record<App, number>;
}

export interface ChurnOptions {
  /** Pod events per second asked of the load generator. */
  rate: number;
  seconds: number;
  /** The scale population's shape (bench-scale-NN namespaces, svc-NNN Services, the first criticalPerNs critical). */
  namespaces: number;
  servicesPerNs: number;
  criticalPerNs: number;
  /** Churn units (3 API calls each) in flight at most. */
  inFlight: number;
  outageTrials: number;
}

const SERVICE_LABEL = 'critsvc.mycrd.com/service';

/** Outage trials alongside churn: a trial that times out is reported, not fatal (the EndpointSlice controller may lag). */
async function outageUnderLoad(
  ctx: ChurnCtx,
  namespace: string,
  svc: string,
  n: number,
  log: (msg: string) => void,
): Promise<OutageResult> {
  try {
    const r = await outage(ctx, namespace, svc, n, 120_000, false, true);
    if (r.error) log(`outage trials under churn stopped after ${r.window.n}: ${r.error}`);
    return r;
  } catch (err) {
    log(`outage trials under churn stopped: ${err instanceof Error ? err.message : String(err)}`);
    return {
      window: summarize([]),
      gapMaxMs: NaN,
      gapTrials: 0,
      error: err instanceof Error ? err.message : String(err),
    };
  }
}

/** Pods of non-critical Services deleted, re-created and made Ready at a steady rate. */
export async function churn(
  ctx: ChurnCtx,
  p: Pipeline,
  round: number,
  o: ChurnOptions,
  log: (msg: string) => void,
): Promise<ChurnResult> {
  const target = `bench-churn-${round}`;
  await ctx.api.must('POST', '/api/v1/namespaces', { metadata: { name: target } });
  await ctx.api.must('POST', `/api/v1/namespaces/${target}/services`, {
    metadata: { name: 'frontend', labels: { critical: 'true' } },
    spec: { selector: { role: 'frontend' }, ports: [{ port: 80 }] },
  });
  await ctx.api.must('POST', `/api/v1/namespaces/${target}/services`, {
    metadata: { name: 'web', labels: { critical: 'true' } },
    spec: { selector: { app: 'web' }, ports: [{ port: 80 }] },
  });
  const before = await metric(p.ports.handler, 'critsvc_events_processed_total');
  const s0 = await stageScrape(p.ports);
  const t0 = performance.now();
  let ops = 0;
  let inFlight = 0;
  let maxWaiting = 0;
  let stop = false;
  const interval = 1000 / o.rate;
  const gen = (async () => {
    let k = 0;
    while (!stop) {
      const nsName = `bench-scale-${String(k % o.namespaces).padStart(2, '0')}`;
      // One unit in four on a critical Service (it keeps its other Ready pods: decided, never lame).
      const i = Math.floor(k / o.namespaces);
      const svc = `svc-${String(k % 4 === 3 ? i % o.criticalPerNs : o.criticalPerNs + (i % (o.servicesPerNs - o.criticalPerNs))).padStart(3, '0')}`;
      const name = `${svc}-churn-${round}-${k}`;
      const base = `/api/v1/namespaces/${nsName}/pods`;
      const due = t0 + ops * interval;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      // One churn unit = 3 events (ADDED, MODIFIED Ready, DELETED), issued without waiting for
      // them, but at most o.inFlight units at once: past what the API server answers, the
      // generator falls behind (the achieved rate is reported) instead of burying it.
      while (inFlight >= o.inFlight && !stop) await new Promise((r) => setTimeout(r, 1));
      inFlight++;
      void ctx.api
        .call('POST', base, podBody(name, { app: svc }, CHURN_NODE))
        .then(() => ctx.api.call('PATCH', `${base}/${name}/status`, readyStatus(), 'application/merge-patch+json'))
        .then(() => ctx.api.call('DELETE', `${base}/${name}`, { gracePeriodSeconds: 0 }))
        .catch(() => undefined) // counted by what the handler saw, not by what was answered
        .finally(() => inFlight--);
      ops += 3;
      k++;
    }
  })();
  const sampler = setInterval(() => {
    void metric(p.ports.handler, 'critsvc_event_queue_jobs', 'state="waiting"').then(
      (w) => (maxWaiting = Math.max(maxWaiting, w)),
      () => undefined,
    );
  }, 500);
  log(`churn round ${round}: ${o.rate} pod events/s for ${o.seconds}s, with failover trials alongside`);
  const failoverTrials = Math.max(20, Math.round(o.seconds * 1.5));
  // Under load a trial may wait long (the queue's backlog is the measure): it is reported, not fatal.
  let trialError = '';
  const trialRun = trials(
    ctx,
    target,
    'frontend',
    failoverTrials,
    (e) => e.owned && e.labels[SERVICE_LABEL] === 'frontend',
    false,
    120_000,
    true,
  )
    .catch((err: unknown) => ({
      failover: [] as number[],
      recovery: [] as number[],
      error: err instanceof Error ? err.message : String(err),
    }))
    .then((r) => {
      if (r.error) log(`failover trials under churn stopped: ${(trialError = r.error)}`);
      return r;
    });
  // Outage trials need kwok and the EndpointSlice controller: not on a bare control plane.
  const outageRun =
    ctx.state.mode === 'bare'
      ? Promise.resolve({ window: summarize([]), gapMaxMs: NaN, gapTrials: 0, error: 'not run (bare control plane)' })
      : outageUnderLoad(ctx, target, 'web', Math.min(o.outageTrials, failoverTrials), log);
  await new Promise((r) => setTimeout(r, o.seconds * 1000));
  const elapsed = (performance.now() - t0) / 1000;
  const issued = ops;
  const handled = (await metric(p.ports.handler, 'critsvc_events_processed_total')) - before;
  const { failover } = await trialRun;
  if (trialError) log(`failover trials under churn: ${failover.length} completed before: ${trialError}`);
  const outageResult = await outageRun;
  stop = true;
  await gen;
  clearInterval(sampler);
  const rss = rssMb(p.sup.pid('handler'));
  const s1 = await stageScrape(p.ports);
  return {
    stages: { ...meansMs(s0.handler, s1.handler), watch_to_redis: meansMs(s0.watcher, s1.watcher)[''] ?? NaN },
    targetRate: o.rate,
    achievedOpsPerS: issued / elapsed,
    handledEventsPerS: handled / elapsed,
    maxWaiting,
    finalWaiting: await metric(p.ports.handler, 'critsvc_event_queue_jobs', 'state="waiting"'),
    failover: summarize(failover),
    ...(trialError ? { failoverError: trialError } : {}),
    outage: outageResult,
    handlerRssMb: rss,
    redisMb: await redisMemoryMb(ctx.state.redisUrl),
  };
}
