// Issue 14 item 3: the queue survives its node. Redis runs as a primary and a replica watched by
// three Sentinels; the four processes reach it through REDIS_URL=redis+sentinel://. While pods
// change, the primary is SIGKILLed: the Sentinels promote the replica, the watchers and the
// handler follow it, and nothing is lost: the end state is right for every Service, and a change
// made after the failover travels through the promoted queue.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { freshNamespace, kube, suffix } from '../support/kube.ts';
import {
  createCrit,
  createRealPod,
  createService,
  createTemplate,
  defaultPods,
  deleteCrit,
  deletePod,
  pods,
  isOwned,
} from '../support/objects.ts';
import { ensureCrd, Pipeline, PROCESSES } from '../support/pipeline.ts';
import { SentinelRedis } from '../support/sentinel.ts';
import { eventually } from '../support/wait.ts';

const k = kube();
let redis: SentinelRedis;
let pipeline: Pipeline | undefined;
const crits: string[] = [];

beforeAll(async () => {
  await ensureCrd(k);
  redis = await SentinelRedis.start();
});
afterEach(async (ctx) => {
  if (ctx.task.result?.state === 'fail' && pipeline)
    console.error(pipeline.tail(process.env.SENTINEL_TAIL ? Number(process.env.SENTINEL_TAIL) : 30));
  await pipeline?.stop();
  pipeline = undefined;
  for (const c of crits.splice(0)) await deleteCrit(k, c);
});
afterAll(async () => {
  await redis?.stop();
});

const SERVICES = ['s0', 's1', 's2', 's3', 's4', 's5'];
const sum = (metrics: string, name: string, label = ''): number =>
  [...metrics.matchAll(new RegExp(`^${name}(\\{[^}]*${label}[^}]*\\})? (\\d+)`, 'gm'))].reduce(
    (n, m) => n + Number(m[2]),
    0,
  );

/** Every Service: a real pod and no default pod, or no real pod and exactly one default pod.
 * Throws what is wrong (the Services that differ), so a timeout says it. */
async function converged(ns: string, real: Map<string, string | undefined>): Promise<true> {
  const all = await pods(k, ns);
  const wrong = SERVICES.flatMap((s) => {
    const defaults = all.filter(
      (p) => isOwned(p) && !p.metadata?.deletionTimestamp && p.metadata?.labels?.['critsvc.mycrd.com/service'] === s,
    );
    return defaults.length === (real.get(s) ? 0 : 1)
      ? []
      : [`${s} (real pod ${real.get(s) ?? 'none'}): ${defaults.length} default pods`];
  });
  if (wrong.length > 0) throw new Error(wrong.join('; '));
  return true;
}

/** A small seeded generator: the same churn on every run. */
function rng(seed: number): () => number {
  let x = seed;
  return () => {
    x = (x * 1103515245 + 12345) % 2147483648;
    return x / 2147483648;
  };
}

describe('Redis with Sentinel', () => {
  it('the primary SIGKILLed while pods change: the replica is promoted, watchers and handler follow, no change is lost', async () => {
    const ns = await freshNamespace(k, 'sentinel');
    await createTemplate(k, ns);
    const crit = `sentinel-${suffix()}`;
    crits.push(crit);
    await createCrit(k, crit, { namespace: ns, matchLabels: [{ key: 'role', value: 'frontend' }] });
    // Service → the name of its real pod (undefined: it has none).
    const real = new Map<string, string | undefined>();
    for (const s of SERVICES) {
      await createService(k, ns, s, { labels: { role: 'frontend' }, selector: { app: s } });
      real.set(s, undefined);
    }
    pipeline = await Pipeline.start({ namespaces: [ns], redisUrl: redis.url, templateNamespace: ns });
    const p = pipeline;
    await eventually(
      'a default pod per Service',
      async () => (await defaultPods(k, ns)).length === SERVICES.length,
      20_000,
    );

    const random = rng(14);
    let n = 0;
    const churn = async (steps: number): Promise<void> => {
      for (let i = 0; i < steps; i++) {
        const s = SERVICES[Math.floor(random() * SERVICES.length)]!;
        const pod = real.get(s);
        if (pod) {
          await deletePod(k, ns, pod);
          real.set(s, undefined);
        } else {
          const name = `${s}-real-${n++}`;
          await createRealPod(k, ns, name, { app: s });
          real.set(s, name);
        }
      }
    };

    await churn(10);
    const primary = await redis.primaryPort();
    const t0 = Date.now();
    // The pods keep changing while the primary dies and the Sentinels elect its replica.
    await Promise.all([redis.kill(primary), churn(20)]);
    const promoted = await eventually(
      'the replica promoted',
      async () => {
        const port = await redis.primaryPort();
        return port !== primary && /role:master/.test(await redis.replication(port)) ? port : undefined;
      },
      30_000,
    );
    console.log(`failover: replica ${promoted} promoted ${Date.now() - t0} ms after the primary was killed`);
    await churn(10);

    await eventually('every Service right after the failover', async () => converged(ns, real), 40_000, 250);
    console.log(`converged ${Date.now() - t0} ms after the primary was killed`);
    for (const name of PROCESSES) expect(p.procs[name].exits, `${name} still running`).toEqual([]);
    // The handler noticed a failover (not a restart: the promoted node's replid2 is the old
    // primary's replid) and listed everything again: the safety net for writes the old primary
    // acknowledged but had not replicated.
    await eventually(
      'the handler to relist after the failover',
      async () => sum(await p.metrics(), 'critsvc_relists_total', 'redis-failover') >= 1,
      10_000,
    );
    expect(p.logs('handler').some((l) => l.msg.startsWith('Redis failed over to a replica'))).toBe(true);
    expect(sum(await p.metrics(), 'critsvc_relists_total', 'redis-restarted')).toBe(0);

    // A change after the failover travels through the promoted queue (no relist involved).
    const relists = sum(await p.metrics(), 'critsvc_relists_total');
    const processed = sum(await p.metrics(), 'critsvc_events_processed_total');
    const healthy = SERVICES.find((s) => real.get(s));
    const lame = SERVICES.find((s) => !real.get(s));
    if (healthy) {
      await deletePod(k, ns, real.get(healthy)!);
      real.set(healthy, undefined);
    }
    if (lame) {
      await createRealPod(k, ns, `${lame}-after`, { app: lame });
      real.set(lame, `${lame}-after`);
    }
    await eventually('the changes after the failover applied', async () => converged(ns, real), 20_000, 250);
    const after = await p.metrics();
    // A worker left stuck by the failover (its blocking connection back, yet taking nothing) is replaced.
    console.log(`queue workers replaced: ${sum(after, 'critsvc_queue_worker_restarts_total')}`);
    expect(sum(after, 'critsvc_relists_total')).toBe(relists);
    expect(sum(after, 'critsvc_events_processed_total')).toBeGreaterThan(processed);
    for (const w of ['watcher-pods', 'watcher-services', 'watcher-crds'] as const) {
      expect(p.procs[w].exits).toEqual([]);
    }
    expect(await redis.primaryPort()).toBe(promoted);
  });
});
