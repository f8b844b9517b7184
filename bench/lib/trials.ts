// The latency trials of `pnpm bench`: failover and recovery seen on pod events, the outage window
// and hand-back gap seen on EndpointSlices. Both ends of each figure come from one watch.
import { performance } from 'node:perf_hooks';
import { Watch, type KubeConfig } from '@kubernetes/client-node';
import { EndpointWatch } from '../../test/support/endpoint-watch.ts';
import { kwokPodBody, podBody, readyStatus, type RawApi } from './api.ts';
import { Recorder } from './recorder.ts';
import type { OutageResult, OutageStages } from './report.ts';
import { summarize } from './stats.ts';

export interface TrialCtx {
  kc: KubeConfig;
  api: RawApi;
  /** The pipeline's HEALTHY_GRACE_SECONDS, in ms: a stand-in leaves that long after its Service is healthy. */
  healthyGraceMs: number;
}

export async function waitUntil(
  what: string,
  check: () => Promise<boolean>,
  timeoutMs = 120_000,
  everyMs = 20,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`bench: timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/**
 * Failover: DELETE of the last real pod → stand-in ADDED; recovery: real pod Ready → stand-in DELETED.
 * keepPartial (under load): a trial that fails ends the trials, and those done are the result,
 * with the error; otherwise it throws.
 */
export async function trials(
  ctx: TrialCtx,
  namespace: string,
  svc: string,
  n: number,
  standin: (e: { owned: boolean; labels: Record<string, string> }) => boolean,
  floor: boolean,
  timeoutMs = 30_000,
  keepPartial = false,
): Promise<{ failover: number[]; recovery: number[]; error?: string }> {
  const list = await ctx.api.must<{ metadata: { resourceVersion: string } }>(
    'GET',
    `/api/v1/namespaces/${namespace}/pods`,
  );
  const rec = await Recorder.start(ctx.kc, namespace, list.metadata.resourceVersion);
  rec.timeoutMs = timeoutMs;
  const failover: number[] = [];
  const recovery: number[] = [];
  const labels = { role: svc, ...(floor ? { 'critsvc-bench/floor': svc } : {}) };
  const base = `/api/v1/namespaces/${namespace}/pods`;
  try {
    let real = `${svc}-real-0`;
    const readyAgain = rec.next((e) => e.name === real && e.ready);
    await ctx.api.must('POST', base, podBody(real, labels));
    await ctx.api.must('PATCH', `${base}/${real}/status`, readyStatus(), 'application/merge-patch+json');
    await readyAgain;
    // A stand-in from before (made while the Service had no pod yet) leaves after the healthy
    // hold-off: wait until none has been there for longer than that.
    let clearSince = performance.now();
    await waitUntil(
      'no stand-in before the first trial',
      async () => {
        const l = await ctx.api.must<{
          items: {
            metadata: {
              labels?: Record<string, string>;
              annotations?: Record<string, string>;
              deletionTimestamp?: string;
            };
          }[];
        }>('GET', base);
        if (
          l.items.some(
            (p) =>
              !p.metadata.deletionTimestamp &&
              standin({
                owned: p.metadata.annotations?.['service-watcher'] === 'owned',
                labels: p.metadata.labels ?? {},
              }),
          )
        )
          clearSince = performance.now();
        return performance.now() - clearSince > ctx.healthyGraceMs + 500;
      },
      60_000,
      100,
    );
    for (let i = 1; i <= n; i++) real = await trial(i, real);
  } catch (err) {
    if (!keepPartial) throw err;
    return { failover, recovery, error: err instanceof Error ? err.message : String(err) };
  } finally {
    rec.stop();
  }
  return { failover, recovery };

  /** One trial from `real`, the Service's only pod; gives the next one. */
  async function trial(i: number, real: string): Promise<string> {
    const gone = rec.next((e) => e.type === 'DELETED' && e.name === real, `trial ${i}: ${real} DELETED`);
    const up = rec.next((e) => e.type === 'ADDED' && standin(e), `trial ${i}: the stand-in ADDED`);
    await ctx.api.must('DELETE', `${base}/${real}`, { gracePeriodSeconds: 0 });
    const [g, u] = await Promise.all([gone, up]);
    failover.push(u.t - g.t);
    real = `${svc}-real-${i}`;
    if (floor) {
      const floorGone = rec.next((e) => e.type === 'DELETED' && standin(e));
      await ctx.api.must('DELETE', `${base}/floor-${svc}`, { gracePeriodSeconds: 0 });
      await floorGone;
      const r = rec.next((e) => e.name === real && e.ready);
      await ctx.api.must('POST', base, podBody(real, labels));
      await ctx.api.must('PATCH', `${base}/${real}/status`, readyStatus(), 'application/merge-patch+json');
      await r;
    } else {
      const readyEv = rec.next((e) => e.name === real && e.ready, `trial ${i}: ${real} Ready`);
      const standinGone = rec.next((e) => e.type === 'DELETED' && standin(e), `trial ${i}: the stand-in DELETED`);
      await ctx.api.must('POST', base, podBody(real, labels));
      await ctx.api.must('PATCH', `${base}/${real}/status`, readyStatus(), 'application/merge-patch+json');
      const [rd, sg] = await Promise.all([readyEv, standinGone]);
      recovery.push(sg.t - rd.t);
    }
    return real;
  }
}

/**
 * What clients see, judged by an independent EndpointSlice watch; kwok starts every pod.
 * Outage window: a critical Service's last real pod is deleted (its endpoint turns not ready at
 * once) → the default pod's endpoint is ready. Hand-back gap: time without any ready endpoint
 * while a new real pod takes over and the default pod leaves (the goal is 0).
 */
/**
 * Outage-window trials. hot: the Service's CriticalService asks for hot standby, so the stand-in is
 * a warm pod promoted (named service-watcher-<svc>-standby-…), and each trial starts once a new
 * warm pod is Ready again.
 */
export async function outage(
  ctx: TrialCtx,
  namespace: string,
  svc: string,
  n: number,
  timeoutMs = 30_000,
  hot = false,
  keepPartial = false,
): Promise<OutageResult> {
  const ep = await EndpointWatch.start(ctx.kc, namespace, svc, () => performance.now());
  ep.timeoutMs = timeoutMs;
  const base = `/api/v1/namespaces/${namespace}/pods`;
  // The default pod, or a warm pod promoted: warm pods are outside the selector, never endpoints before.
  const isStandIn = (name: string): boolean => name.startsWith(`service-watcher-${svc}`);
  const windows: number[] = [];
  const gaps: number[] = [];
  const marks = await StandInMarks.start(ctx.kc, namespace, isStandIn, svc);
  const parts: Record<keyof OutageStages, number[]> = { react: [], schedule: [], start: [], publish: [] };
  let error = '';
  try {
    let real = `${svc}-ep-0`;
    await ctx.api.must('POST', base, kwokPodBody(real, { app: svc }));
    await ep.until((c) => c.ready.join() === real);
    await waitUntil(
      'no stand-in left (hot: a warm pod Ready)',
      async () =>
        settled(
          await ctx.api.call('GET', `${base}?labelSelector=${encodeURIComponent(`${SERVICE_LABEL}=${svc}`)}`),
          hot,
        ),
      30_000,
      50,
    );
    for (let i = 1; i <= n; i++) {
      // Under load the EndpointSlice controller may publish "real gone, default pod ready" in one
      // update: clients then never saw zero endpoints, and the window is 0.
      const lost = ep.until((c) => !c.ready.includes(real));
      const back = ep.until((c) => c.ready.some(isStandIn));
      marks.reset();
      const [l, b] = await Promise.all([lost, back, ctx.api.must('DELETE', `${base}/${real}`)]);
      windows.push(Math.max(0, b.at - l.at));
      const m = marks.of(b.ready.find(isStandIn) ?? '');
      if (m) {
        const bound = Math.max(m.bound ?? m.serving, m.serving);
        const ready = Math.max(m.ready ?? bound, bound);
        parts.react.push(m.serving - l.at);
        parts.schedule.push(bound - m.serving);
        parts.start.push(ready - bound);
        parts.publish.push(b.at - ready);
      }
      const next = `${svc}-ep-${i}`;
      const t0 = performance.now();
      const [handed] = await Promise.all([
        ep.until((c) => c.ready.join() === next),
        ctx.api.must('POST', base, kwokPodBody(next, { app: svc })),
      ]);
      gaps.push(ep.zeroMs(t0, handed.at));
      // The next default pod reuses the name: wait until this one is gone (and, hot, a warm pod is Ready again).
      await waitUntil(
        'the stand-in gone',
        async () =>
          settled(
            await ctx.api.call('GET', `${base}?labelSelector=${encodeURIComponent(`${SERVICE_LABEL}=${svc}`)}`),
            hot,
          ),
        30_000,
        50,
      );
      real = next;
    }
  } catch (err) {
    // Under load (keepPartial): the trials done so far are the result, with why the rest were not.
    if (!keepPartial) throw err;
    error = err instanceof Error ? err.message : String(err);
  } finally {
    ep.stop();
    marks.stop();
  }
  const p50 = (xs: number[]): number => summarize(xs).p50;
  const stages = {
    react: p50(parts.react),
    schedule: p50(parts.schedule),
    start: p50(parts.start),
    publish: p50(parts.publish),
  };
  return {
    window: summarize(windows),
    gapMaxMs: Math.max(0, ...gaps),
    gapTrials: gaps.filter((g) => g > 0).length,
    stages,
    ...(error ? { error } : {}),
  };
}

interface Marks {
  /** First seen with the Service's label: created (cold) or promoted (hot). */
  serving: number;
  bound?: number;
  ready?: number;
}

/**
 * When each stand-in was first seen serving the Service, bound to a node and Ready, by one pod
 * watch in the bench's process (the same clock as the EndpointSlice watch): where an outage
 * window goes. Names are reused from trial to trial: reset() before each.
 */
class StandInMarks {
  private readonly marks = new Map<string, Marks>();
  private ctrl: AbortController | undefined;

  static async start(
    kc: KubeConfig,
    namespace: string,
    isStandIn: (name: string) => boolean,
    app: string,
  ): Promise<StandInMarks> {
    const w = new StandInMarks();
    type RawPod = {
      metadata?: { name?: string; labels?: Record<string, string> };
      spec?: { nodeName?: string };
      status?: { conditions?: { type: string; status: string }[] };
    };
    w.ctrl = await new Watch(kc).watch(
      `/api/v1/namespaces/${namespace}/pods`,
      {},
      (type: string, p: RawPod) => {
        const name = p.metadata?.name ?? '';
        if (type === 'DELETED' || !isStandIn(name) || p.metadata?.labels?.app !== app) return;
        const t = performance.now();
        const m = w.marks.get(name) ?? { serving: t };
        if (p.spec?.nodeName) m.bound ??= t;
        if (p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')) m.ready ??= t;
        w.marks.set(name, m);
      },
      () => undefined,
    );
    return w;
  }

  of(name: string): Marks | undefined {
    return this.marks.get(name);
  }

  reset(): void {
    this.marks.clear();
  }

  stop(): void {
    this.ctrl?.abort();
  }
}

const SERVICE_LABEL = 'critsvc.mycrd.com/service';
const STANDBY_LABEL = 'critsvc.mycrd.com/standby';

interface ListedPod {
  metadata?: { labels?: Record<string, string>; deletionTimestamp?: string };
  status?: { conditions?: { type: string; status: string }[] };
}

/** No default pod of the Service left, terminating or not; hot: one warm pod, Ready. */
function settled(res: { status: number; body: unknown }, hot: boolean): boolean {
  const items = (res.body as { items?: ListedPod[] }).items ?? [];
  const warm = items.filter((p) => p.metadata?.labels?.[STANDBY_LABEL] === 'true');
  if (warm.length !== items.length) return false;
  if (!hot) return true;
  return warm.some(
    (p) =>
      !p.metadata?.deletionTimestamp &&
      (p.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True'),
  );
}
