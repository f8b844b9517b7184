// Random churn, property-based (fast-check, seeded): random sequences of Service, pod,
// CriticalService and PodTemplate changes against the real pipeline; after each sequence and
// quiescence, the invariants hold. A failing sequence is shrunk and saved to
// churn-regressions.json, which is replayed first on every run.
//   CHURN_SEED, CHURN_RUNS, CHURN_OPS tune it; `pnpm test:soak` runs it longer.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshNamespace, kube, setPodStatus, statusOf } from '../support/kube.ts';
import { createTemplate, deleteCrit, GROUP, isOwned } from '../support/objects.ts';
import { PodWatch } from '../support/pod-watch.ts';
import { ensureCrd, Pipeline } from '../support/pipeline.ts';
import { TestRedis } from '../support/redis.ts';
import { eventually, stays } from '../support/wait.ts';

const k = kube();
const SEED = Number(process.env.CHURN_SEED ?? 20261123);
const RUNS = Number(process.env.CHURN_RUNS ?? 4);
const OPS = Number(process.env.CHURN_OPS ?? 12);
const regressionsFile = join(dirname(fileURLToPath(import.meta.url)), 'churn-regressions.json');

const SVCS = ['s1', 's2', 's3'] as const;
const PODS = ['p1', 'p2', 'p3', 'p4'] as const;
const APPS = ['x', 'y'] as const;
const TIERS = ['gold', 'bronze'] as const;
const CRITS = ['c1', 'c2'] as const;

type Op =
  | { op: 'svc'; name: string; tier: string; app: string }
  | { op: 'delSvc'; name: string }
  | { op: 'relabel'; name: string; tier: string }
  | { op: 'pod'; name: string; app: string; ready: boolean }
  | { op: 'delPod'; name: string }
  | { op: 'ready'; name: string; ready: boolean }
  | { op: 'crit'; name: string; tier: string }
  | { op: 'delCrit'; name: string }
  | { op: 'delTemplate' }
  | { op: 'template' };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ op: fc.constant('svc' as const), name: fc.constantFrom(...SVCS), tier: fc.constantFrom(...TIERS), app: fc.constantFrom(...APPS) }),
  fc.record({ op: fc.constant('delSvc' as const), name: fc.constantFrom(...SVCS) }),
  fc.record({ op: fc.constant('relabel' as const), name: fc.constantFrom(...SVCS), tier: fc.constantFrom(...TIERS) }),
  fc.record({ op: fc.constant('pod' as const), name: fc.constantFrom(...PODS), app: fc.constantFrom(...APPS), ready: fc.boolean() }),
  fc.record({ op: fc.constant('delPod' as const), name: fc.constantFrom(...PODS) }),
  fc.record({ op: fc.constant('ready' as const), name: fc.constantFrom(...PODS), ready: fc.boolean() }),
  fc.record({ op: fc.constant('crit' as const), name: fc.constantFrom(...CRITS), tier: fc.constantFrom(...TIERS) }),
  fc.record({ op: fc.constant('delCrit' as const), name: fc.constantFrom(...CRITS) }),
  fc.constant({ op: 'delTemplate' as const }),
  fc.constant({ op: 'template' as const }),
);

let redis: TestRedis;
let pipeline: Pipeline;
// One namespace, emptied between sequences (shrinking replays many of them).
let ns = '';
const critName = (c: string): string => `${ns}-${c}`;

beforeAll(async () => {
  await ensureCrd(k);
  redis = await TestRedis.start();
  ns = await freshNamespace(k, 'churn');
  pipeline = await Pipeline.start({ namespaces: [ns], redisUrl: redis.url, templateNamespace: 'linux-mag', templateName: 'churn-template', env: { TEMPLATE_RETRY_SECONDS: '1' } });
}, 120_000);
afterAll(async () => {
  for (const c of CRITS) await deleteCrit(k, critName(c));
  await pipeline?.stop();
  await redis?.stop();
});

const ignore = (...codes: number[]) => (err: unknown): void => {
  if (!codes.includes(statusOf(err) ?? 0)) throw err;
};

async function apply(o: Op, mine: { deleted: Set<string>; patches: Map<string, number> }): Promise<void> {
  switch (o.op) {
    case 'svc':
      return void (await k.core.createNamespacedService({ namespace: ns, body: { metadata: { name: o.name, labels: { tier: o.tier } }, spec: { selector: { app: o.app }, ports: [{ port: 80 }] } } }).catch(ignore(409)));
    case 'delSvc':
      return void (await k.core.deleteNamespacedService({ namespace: ns, name: o.name }).catch(ignore(404)));
    case 'relabel':
      return void (await k.core.patchNamespacedService({ namespace: ns, name: o.name, body: [{ op: 'replace', path: '/metadata/labels', value: { tier: o.tier } }] }).catch(ignore(404)));
    case 'pod': {
      const created = await k.core.createNamespacedPod({ namespace: ns, body: { metadata: { name: o.name, labels: { app: o.app } }, spec: { containers: [{ name: 'c', image: 'nginx' }] } } }).catch(ignore(409));
      if (created) {
        await setPodStatus(k, ns, o.name, { ready: o.ready });
        mine.patches.set(o.name, (mine.patches.get(o.name) ?? 0) + 1);
      }
      return;
    }
    case 'delPod': {
      const pod = await k.core.readNamespacedPod({ namespace: ns, name: o.name }).catch(ignore(404));
      if (!pod) return;
      mine.deleted.add(pod.metadata?.uid ?? '');
      return void (await k.core.deleteNamespacedPod({ namespace: ns, name: o.name, gracePeriodSeconds: 0 }).catch(ignore(404)));
    }
    case 'ready': {
      const ok = await setPodStatus(k, ns, o.name, { ready: o.ready }).catch(ignore(404));
      if (ok) mine.patches.set(o.name, (mine.patches.get(o.name) ?? 0) + 1);
      return;
    }
    case 'crit':
      return void (await k.custom.createClusterCustomObject({ ...GROUP, body: { apiVersion: 'mycrd.com/v1', kind: 'CriticalService', metadata: { name: critName(o.name) }, spec: { namespace: ns, matchLabels: [{ key: 'tier', value: o.tier }] } } }).catch(ignore(409)));
    case 'delCrit':
      return deleteCrit(k, critName(o.name));
    case 'delTemplate':
      return void (await k.core.deleteNamespacedPodTemplate({ namespace: 'linux-mag', name: 'churn-template' }).catch(ignore(404)));
    case 'template':
      return createTemplate(k, 'linux-mag', 'churn-template');
  }
}

/** What must hold at quiescence, computed from the API's final state (independently of critsvc's code). */
async function expected(): Promise<string[]> {
  const svcs = (await k.core.listNamespacedService({ namespace: ns })).items;
  const pods = (await k.core.listNamespacedPod({ namespace: ns })).items;
  const crits = ((await k.custom.listClusterCustomObject({ ...GROUP })) as { items: { spec?: { namespace?: string; matchLabels?: { key: string; value: string }[] } }[] }).items;
  return svcs.filter((s) => {
    const sel = s.spec?.selector ?? {};
    const critical = crits.some((c) => c.spec?.namespace === ns && (c.spec.matchLabels ?? []).every((m) => s.metadata?.labels?.[m.key] === m.value));
    const real = pods.some((p) => !isOwned(p) && !p.metadata?.deletionTimestamp && !['Succeeded', 'Failed'].includes(p.status?.phase ?? '')
      && Object.entries(sel).every(([key, v]) => p.metadata?.labels?.[key] === v));
    return critical && !real;
  }).map((s) => `service-watcher-${s.metadata?.name}`).sort();
}

/** Back to an empty namespace: CriticalServices first (critsvc then removes its pods), then the rest. */
async function reset(): Promise<void> {
  for (const c of CRITS) await deleteCrit(k, critName(c));
  for (const s of SVCS) await k.core.deleteNamespacedService({ namespace: ns, name: s }).catch(ignore(404));
  for (const p of PODS) await k.core.deleteNamespacedPod({ namespace: ns, name: p, gracePeriodSeconds: 0 }).catch(ignore(404));
  await eventually('an empty namespace (critsvc removed its default pods)', async () => (await k.core.listNamespacedPod({ namespace: ns })).items.length === 0, 30_000);
}

async function runSequence(ops: Op[]): Promise<void> {
  await reset();
  const watch = await PodWatch.start(k, ns);
  const mine = { deleted: new Set<string>(), patches: new Map<string, number>() };
  try {
    for (const o of ops) await apply(o, mine);
    await createTemplate(k, 'linux-mag', 'churn-template'); // so that every lame critical Service can be served
    const want = await expected();
    const current = async (): Promise<string> => (await k.core.listNamespacedPod({ namespace: ns })).items.filter((p) => isOwned(p) && !p.metadata?.deletionTimestamp).map((p) => p.metadata?.name).sort().join();
    // 1. Every lame critical Service has exactly one default pod; no other Service has one.
    await eventually(`default pods exactly ${want.join() || '(none)'}`, async () => (await current()) === want.join(), 30_000);
    await stays('default pods stable', async () => (await current()) === want.join(), 1_000);
    // 2. No pod without the ownership marks was deleted or changed by anyone but the test.
    for (const e of watch.seen.filter((x) => !x.owned)) {
      if (e.type === 'DELETED') expect(mine.deleted.has(e.uid), `user pod ${e.name} deleted by someone else`).toBe(true);
    }
    for (const name of PODS) {
      const modified = watch.seen.filter((x) => !x.owned && x.name === name && x.type === 'MODIFIED').length;
      expect(modified, `user pod ${name} modified by someone else`).toBeLessThanOrEqual(mine.patches.get(name) ?? 0);
    }
  } finally {
    watch.stop();
  }
}

describe('random churn', () => {
  const saved: Op[][] = existsSync(regressionsFile) ? (JSON.parse(readFileSync(regressionsFile, 'utf8')) as Op[][]) : [];
  it.each(saved.map((ops, i) => [i, ops] as const))('saved counterexample %i still holds', async (_i, ops) => {
    await runSequence(ops);
  }, 120_000);

  it(`${RUNS} random sequences of ${OPS} changes keep the invariants (seed ${SEED})`, async () => {
    const result = await fc.check(fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: OPS }), async (ops) => {
      await runSequence(ops);
    }), { seed: SEED, numRuns: RUNS, endOnFailure: false, interruptAfterTimeLimit: 600_000, markInterruptAsFailure: false });
    if (result.failed && result.counterexample) {
      writeFileSync(regressionsFile, `${JSON.stringify([...saved, result.counterexample[0]], null, 2)}\n`);
    }
    expect(result.failed, fc.defaultReportMessage(result) ?? '').toBe(false);
  }, 900_000);
});
