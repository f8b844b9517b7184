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
import { ensureNamespace, freshNamespace, kube, MANUAL, setPodStatus, statusOf } from '../support/kube.ts';
import { createTemplate, deleteCrit, GROUP, isOwned } from '../support/objects.ts';
import { PodWatch, type SeenPod } from '../support/pod-watch.ts';
import { ensureCrd, Pipeline } from '../support/pipeline.ts';
import { TestRedis } from '../support/redis.ts';
import { eventually, stays } from '../support/wait.ts';

const k = kube();
const SEED = Number(process.env.CHURN_SEED ?? 20261123);
const RUNS = Number(process.env.CHURN_RUNS ?? 10);
const OPS = Number(process.env.CHURN_OPS ?? 16);
/** Sequences whose end state needed at least one default pod: a run without any proves little. */
let exercised = 0;
/** Sequences that ended with a critical Service kept healthy by a real pod (nothing to create). */
let protectedByRealPod = 0;
/** Service → [time, selector app] of each creation, to judge health at a given moment. */
const selectors = new Map<string, [number, string][]>();
const regressionsFile = join(dirname(fileURLToPath(import.meta.url)), 'churn-regressions.json');

const SVCS = ['s1', 's2'] as const;
const PODS = ['p1', 'p2', 'p3'] as const;
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

const svcArb = fc.record({
  op: fc.constant('svc' as const),
  name: fc.constantFrom(...SVCS),
  tier: fc.constantFrom(...TIERS),
  app: fc.constantFrom(...APPS),
});
const critArb = fc.record({
  op: fc.constant('crit' as const),
  name: fc.constantFrom(...CRITS),
  tier: fc.constantFrom(...TIERS),
});
const podArb = fc.record({
  op: fc.constant('pod' as const),
  name: fc.constantFrom(...PODS),
  app: fc.constantFrom(...APPS),
  ready: fc.boolean(),
});

// Creations weigh more than removals, so that sequences end with things to protect.
const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      op: fc.constant('svc' as const),
      name: fc.constantFrom(...SVCS),
      tier: fc.constantFrom(...TIERS),
      app: fc.constantFrom(...APPS),
    }),
  },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('delSvc' as const), name: fc.constantFrom(...SVCS) }) },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant('relabel' as const),
      name: fc.constantFrom(...SVCS),
      tier: fc.constantFrom(...TIERS),
    }),
  },
  {
    weight: 4,
    arbitrary: fc.record({
      op: fc.constant('pod' as const),
      name: fc.constantFrom(...PODS),
      app: fc.constantFrom(...APPS),
      ready: fc.boolean(),
    }),
  },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('delPod' as const), name: fc.constantFrom(...PODS) }) },
  {
    weight: 2,
    arbitrary: fc.record({ op: fc.constant('ready' as const), name: fc.constantFrom(...PODS), ready: fc.boolean() }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      op: fc.constant('crit' as const),
      name: fc.constantFrom(...CRITS),
      tier: fc.constantFrom(...TIERS),
    }),
  },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('delCrit' as const), name: fc.constantFrom(...CRITS) }) },
  { weight: 1, arbitrary: fc.constant({ op: 'delTemplate' as const }) },
  { weight: 1, arbitrary: fc.constant({ op: 'template' as const }) },
);

let redis: TestRedis;
let pipeline: Pipeline;
// One namespace, emptied between sequences (shrinking replays many of them).
let ns = '';
const critName = (c: string): string => `${ns}-${c}`;

beforeAll(async () => {
  await ensureCrd(k);
  await ensureNamespace(k, 'linux-mag'); // where its PodTemplate lives; a fresh cluster lacks it
  redis = await TestRedis.start();
  ns = await freshNamespace(k, 'churn');
  // A short healthy hold-off: the invariants, not the hold-offs, are under test here.
  pipeline = await Pipeline.start({
    namespaces: [ns],
    redisUrl: redis.url,
    templateNamespace: 'linux-mag',
    templateName: 'churn-template',
    env: { TEMPLATE_RETRY_SECONDS: '1', HEALTHY_GRACE_SECONDS: '1' },
  });
}, 120_000);
afterAll(async () => {
  for (const c of CRITS) await deleteCrit(k, critName(c));
  await pipeline?.stop();
  await redis?.stop();
});

const ignore =
  (...codes: number[]) =>
  (err: unknown): void => {
    if (!codes.includes(statusOf(err) ?? 0)) throw err;
  };

async function apply(o: Op, mine: { deleted: Set<string>; patches: Map<string, number> }): Promise<void> {
  switch (o.op) {
    case 'svc': {
      const created = await k.core
        .createNamespacedService({
          namespace: ns,
          body: {
            metadata: { name: o.name, labels: { tier: o.tier } },
            spec: { selector: { app: o.app }, ports: [{ port: 80 }] },
          },
        })
        .catch(ignore(409));
      if (created) selectors.set(o.name, [...(selectors.get(o.name) ?? []), [Date.now(), o.app]]);
      return;
    }
    case 'delSvc':
      return void (await k.core.deleteNamespacedService({ namespace: ns, name: o.name }).catch(ignore(404)));
    case 'relabel':
      return void (await k.core
        .patchNamespacedService({
          namespace: ns,
          name: o.name,
          body: [{ op: 'replace', path: '/metadata/labels', value: { tier: o.tier } }],
        })
        .catch(ignore(404)));
    case 'pod': {
      // MANUAL: kwok leaves these pods alone; the sequence sets each readiness itself, exactly when it
      // says. Bound to a Node already, so that no one but the test (no scheduler) changes them.
      const created = await k.core
        .createNamespacedPod({
          namespace: ns,
          body: {
            metadata: { name: o.name, labels: { app: o.app }, annotations: MANUAL },
            spec: { nodeName: 'kwok-node-0', containers: [{ name: 'c', image: 'nginx' }] },
          },
        })
        .catch(ignore(409));
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
      return void (await k.core
        .deleteNamespacedPod({ namespace: ns, name: o.name, gracePeriodSeconds: 0 })
        .catch(ignore(404)));
    }
    case 'ready': {
      const ok = await setPodStatus(k, ns, o.name, { ready: o.ready }).catch(ignore(404));
      if (ok) mine.patches.set(o.name, (mine.patches.get(o.name) ?? 0) + 1);
      return;
    }
    case 'crit':
      return void (await k.custom
        .createClusterCustomObject({
          ...GROUP,
          body: {
            apiVersion: 'mycrd.com/v1',
            kind: 'CriticalService',
            metadata: { name: critName(o.name) },
            spec: { namespace: ns, matchLabels: [{ key: 'tier', value: o.tier }] },
          },
        })
        .catch(ignore(409)));
    case 'delCrit':
      return deleteCrit(k, critName(o.name));
    case 'delTemplate':
      return void (await k.core
        .deleteNamespacedPodTemplate({ namespace: 'linux-mag', name: 'churn-template' })
        .catch(ignore(404)));
    case 'template':
      return createTemplate(k, 'linux-mag', 'churn-template');
  }
}

/** What must hold at quiescence, computed from the API's final state (independently of critsvc's code). */
async function expected(): Promise<string[]> {
  let healthyCritical = false;
  const svcs = (await k.core.listNamespacedService({ namespace: ns })).items;
  const pods = (await k.core.listNamespacedPod({ namespace: ns })).items;
  const crits = (
    (await k.custom.listClusterCustomObject({ ...GROUP })) as {
      items: { spec?: { namespace?: string; matchLabels?: { key: string; value: string }[] } }[];
    }
  ).items;
  const lame = svcs
    .filter((s) => {
      const sel = s.spec?.selector ?? {};
      const critical = crits.some(
        (c) =>
          c.spec?.namespace === ns && (c.spec.matchLabels ?? []).every((m) => s.metadata?.labels?.[m.key] === m.value),
      );
      // Real = a ready endpoint (the default rule): Ready, not terminating, not finished.
      const real = pods.some(
        (p) =>
          !isOwned(p) &&
          !p.metadata?.deletionTimestamp &&
          !['Succeeded', 'Failed'].includes(p.status?.phase ?? '') &&
          p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') &&
          Object.entries(sel).every(([key, v]) => p.metadata?.labels?.[key] === v),
      );
      healthyCritical ||= critical && real;
      return critical && !real;
    })
    .map((s) => `service-watcher-${s.metadata?.name}`)
    .sort();
  if (healthyCritical) protectedByRealPod++;
  return lame;
}

/** Back to an empty namespace: CriticalServices first (critsvc then removes its pods), then the rest. */
async function reset(): Promise<void> {
  for (const c of CRITS) await deleteCrit(k, critName(c));
  for (const s of SVCS) await k.core.deleteNamespacedService({ namespace: ns, name: s }).catch(ignore(404));
  for (const p of PODS)
    await k.core.deleteNamespacedPod({ namespace: ns, name: p, gracePeriodSeconds: 0 }).catch(ignore(404));
  await eventually(
    'an empty namespace (critsvc removed its default pods)',
    async () => (await k.core.listNamespacedPod({ namespace: ns })).items.length === 0,
    30_000,
  );
}

/**
 * No default pod was created for a Service that was healthy at the time: at each default pod's
 * ADDED (in the watch's order), no real pod matching the Service's selector had been there for
 * a second already (a second allows for the pipeline hearing of a pod that just appeared).
 */
function createdWhileHealthy(seen: SeenPod[]): string[] {
  const live = new Map<string, SeenPod & { since: number }>();
  const wrong: string[] = [];
  for (const e of seen) {
    if (e.type === 'DELETED') live.delete(e.name);
    else {
      // `since`: when this pod became a ready endpoint (a readiness flip starts it again).
      const prev = live.get(e.name);
      const continued = prev?.uid === e.uid && prev.ready && prev.ready === e.ready;
      live.set(e.name, { ...e, since: continued ? prev.since : e.at });
    }
    if (e.type !== 'ADDED' || !e.owned || !e.service) continue;
    const app = (selectors.get(e.service) ?? []).filter(([t]) => t <= e.at).at(-1)?.[1];
    const healthy = [...live.values()].some(
      (p) =>
        !p.owned &&
        p.ready &&
        !p.terminating &&
        p.labels.app === app &&
        p.since <= e.at - 1_000 &&
        !['Succeeded', 'Failed'].includes(p.phase),
    );
    if (healthy) wrong.push(`${e.name} while ${e.service} had a real pod`);
  }
  return wrong;
}

async function runSequence(ops: Op[]): Promise<void> {
  await reset();
  selectors.clear();
  const watch = await PodWatch.start(k, ns);
  const mine = { deleted: new Set<string>(), patches: new Map<string, number>() };
  try {
    for (const o of ops) await apply(o, mine);
    await createTemplate(k, 'linux-mag', 'churn-template'); // so that every lame critical Service can be served
    const want = await expected();
    const current = async (): Promise<string> =>
      (await k.core.listNamespacedPod({ namespace: ns })).items
        .filter((p) => isOwned(p) && !p.metadata?.deletionTimestamp)
        .map((p) => p.metadata?.name)
        .sort()
        .join();
    // 1. Every lame critical Service has exactly one default pod; no other Service has one.
    await eventually(
      `default pods exactly ${want.join() || '(none)'}`,
      async () => (await current()) === want.join(),
      30_000,
    );
    await stays('default pods stable', async () => (await current()) === want.join(), 1_000);
    if (want.length) exercised++;
    // 2. No pod without the ownership marks was deleted or changed by anyone but the test.
    for (const e of watch.seen.filter((x) => !x.owned)) {
      if (e.type === 'DELETED')
        expect(mine.deleted.has(e.uid), `user pod ${e.name} deleted by someone else`).toBe(true);
    }
    for (const name of PODS) {
      // The test's own deletes show as a MODIFIED (deletionTimestamp set) before the DELETED.
      const modified = watch.seen.filter(
        (x) => !x.owned && x.name === name && x.type === 'MODIFIED' && !(x.terminating && mine.deleted.has(x.uid)),
      ).length;
      expect(modified, `user pod ${name} modified by someone else`).toBeLessThanOrEqual(mine.patches.get(name) ?? 0);
    }
    // 3. No default pod for a Service that was healthy at the time.
    expect(createdWhileHealthy(watch.seen)).toEqual([]);
  } finally {
    watch.stop();
  }
}

describe('random churn', () => {
  const saved: Op[][] = existsSync(regressionsFile)
    ? (JSON.parse(readFileSync(regressionsFile, 'utf8')) as Op[][])
    : [];
  it.each(saved.map((ops, i) => [i, ops] as const))(
    'saved counterexample %i still holds',
    async (_i, ops) => {
      await runSequence(ops);
    },
    120_000,
  );

  it(`${RUNS} random sequences of ${OPS} changes keep the invariants (seed ${SEED})`, async () => {
    // Every sequence starts from some Services, CriticalServices and pods, then changes at random.
    const sequence = fc
      .tuple(
        fc.array(svcArb, { minLength: 1, maxLength: 2 }),
        fc.array(critArb, { minLength: 1, maxLength: 2 }),
        fc.array(podArb, { maxLength: 3 }),
        fc.array(opArb, { maxLength: OPS }),
      )
      .map((parts): Op[] => parts.flat());
    const result = await fc.check(
      fc.asyncProperty(sequence, async (ops) => {
        await runSequence(ops);
      }),
      {
        seed: SEED,
        numRuns: RUNS,
        endOnFailure: false,
        interruptAfterTimeLimit: 600_000,
        markInterruptAsFailure: false,
      },
    );
    if (result.failed && result.counterexample) {
      writeFileSync(regressionsFile, `${JSON.stringify([...saved, result.counterexample[0]], null, 2)}\n`);
    }
    expect(result.failed, fc.defaultReportMessage(result) ?? '').toBe(false);
    expect(exercised, 'sequences whose end state needed a default pod').toBeGreaterThan(0);
    expect(protectedByRealPod, 'sequences ending with a critical Service served by a real pod').toBeGreaterThan(0);
  }, 900_000);
});
