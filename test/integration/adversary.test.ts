// An attacker who holds only the Redis password: forged jobs pushed on the real queue as any Redis
// client would, against the real pipeline and API server. For each forgery: no default pod that a
// lame critical Service needs is deleted, no foreign pod is touched, and once the forgery stops
// every Service is protected again without a restart (its true events are believed again).
import { Queue } from 'bullmq';
import { requestJson } from '../../packages/shared/src/index.ts';
import { describe, expect, it } from 'vitest';
import { freshNamespace, kube, suffix } from '../support/kube.ts';
import {
  createCrit,
  createRealPod,
  createService,
  createTemplate,
  defaultPods,
  deletePod,
  pods,
} from '../support/objects.ts';
import { pipelineHarness } from '../support/harness.ts';
import { Pipeline } from '../support/pipeline.ts';
import { eventually, stays } from '../support/wait.ts';

const k = kube();
const h = pipelineHarness(k, 30);
const FUTURE = '99999999999';
/** Longer than the healthy hold-off (HEALTHY_GRACE_SECONDS=1 here) and the revision check. */
const HOLD_MS = 4_000;

interface Scene {
  ns: string;
  crit: string;
  /** The default pod of the lame critical Service "frontend" (selector app=web). */
  defaultUid: string;
  /** A pod critsvc does not own, in the same namespace: never touched. */
  foreign: string;
}

/** A lame critical Service with its default pod, and a foreign pod beside it. */
async function scene(prefix: string, env: Record<string, string> = {}): Promise<Scene> {
  const ns = await freshNamespace(k, prefix);
  await createTemplate(k, ns);
  await createService(k, ns, 'frontend', { labels: { role: 'frontend' }, selector: { app: 'web' } });
  const foreign = await createRealPod(k, ns, 'foreign', { app: 'db' });
  const crit = `${prefix}-${suffix()}`;
  h.crits.push(crit);
  await createCrit(k, crit, { namespace: ns, matchLabels: [{ key: 'role', value: 'frontend' }] });
  h.pipeline = await Pipeline.start({
    namespaces: [ns],
    redisUrl: h.redis.url,
    templateNamespace: ns,
    env: { HEALTHY_GRACE_SECONDS: '1', ...env },
  });
  const [dp] = await eventually('the default pod of the lame Service', async () => {
    const list = (await defaultPods(k, ns)).filter((p) => !p.metadata?.deletionTimestamp);
    return list.length === 1 ? list : undefined;
  });
  return {
    ns,
    crit,
    defaultUid: dp?.metadata?.uid ?? '',
    foreign: `${foreign.metadata?.uid}/${foreign.metadata?.resourceVersion}`,
  };
}

async function push(jobs: object[]): Promise<void> {
  const queue = new Queue(h.pipeline?.queue ?? '', { connection: { host: '127.0.0.1', port: h.redis.port } });
  try {
    await queue.addBulk(jobs.map((data) => ({ name: 'forged', data: { seenAt: Date.now(), ...data } })));
  } finally {
    await queue.close();
  }
}

/** The default pod is still the one created for the outage, and the foreign pod is as it was. */
async function untouched(s: Scene): Promise<boolean> {
  const all = await pods(k, s.ns);
  const dp = all.filter((p) => p.metadata?.name === 'service-watcher-frontend' && !p.metadata?.deletionTimestamp);
  const foreign = all.find((p) => p.metadata?.name === 'foreign');
  return (
    dp.length === 1 &&
    dp[0]?.metadata?.uid === s.defaultUid &&
    `${foreign?.metadata?.uid}/${foreign?.metadata?.resourceVersion}` === s.foreign
  );
}

/** After the forgery: the true events work again. A real pod comes (hand-back), then goes (a new default pod). */
async function protectedAgain(s: Scene): Promise<void> {
  await createRealPod(k, s.ns, 'web-1', { app: 'web' });
  await eventually(
    'the hand-back once a real pod serves',
    async () => (await defaultPods(k, s.ns)).filter((p) => !p.metadata?.deletionTimestamp).length === 0,
    30_000,
  );
  await deletePod(k, s.ns, 'web-1');
  await eventually(
    'a default pod again once the real pod is gone',
    async () => (await defaultPods(k, s.ns)).filter((p) => !p.metadata?.deletionTimestamp).length === 1,
    30_000,
  );
}

const readyPod = (ns: string, name: string, rv: string, labels: Record<string, string> = { app: 'web' }): object => ({
  metadata: { name, namespace: ns, uid: `ghost-${name}`, resourceVersion: rv, labels },
  status: { phase: 'Running', podIP: '10.0.0.99', conditions: [{ type: 'Ready', status: 'True' }] },
});

describe('forged queue jobs (an attacker with the Redis password)', () => {
  it('list markers in the old keys form, empty, for Services and pods: nothing is deleted, and true events are believed after', async () => {
    const s = await scene('adv-keys');
    await push([
      { kind: 'Service', type: 'SYNCED', scope: '', resourceVersion: FUTURE, keys: [] },
      { kind: 'Service', type: 'SYNCED', scope: s.ns, resourceVersion: FUTURE, keys: [] },
      { kind: 'Pod', type: 'SYNCED', scope: s.ns, resourceVersion: FUTURE, keys: [] },
      { kind: 'CriticalService', type: 'SYNCED', scope: '', resourceVersion: FUTURE, keys: [] },
    ]);
    await stays('the default pod stays, the foreign pod untouched', () => untouched(s), HOLD_MS);
    await protectedAgain(s);
  });

  it('list markers naming a list of none (count 0), at a future version: nothing is deleted, and true events are believed after', async () => {
    const s = await scene('adv-list');
    await push([
      { kind: 'Service', type: 'SYNCED', scope: s.ns, resourceVersion: FUTURE, list: 'forged1', count: 0 },
      { kind: 'CriticalService', type: 'SYNCED', scope: '', resourceVersion: FUTURE, list: 'forged2', count: 0 },
      { kind: 'Pod', type: 'SYNCED', scope: s.ns, resourceVersion: FUTURE, list: 'forged3', count: 0 },
    ]);
    await stays('the default pod stays, the foreign pod untouched', () => untouched(s), HOLD_MS);
    await protectedAgain(s);
  });

  it.each([
    ['far ahead', FUTURE],
    ['at a plausible version', ''],
  ])(
    'a ghost Ready pod %s: the default pod stays (no ready endpoint is a real pod), and the ghost hides no later outage',
    async (_what, rv) => {
      const s = await scene('adv-ghost');
      // A version the API server has reached (a write just made), newer than anything the handler listed.
      const bump = await k.core.createNamespacedConfigMap({
        namespace: s.ns,
        body: { metadata: { name: `bump-${suffix()}` } },
      });
      const plausible = bump.metadata?.resourceVersion ?? '1';
      await push([{ kind: 'Pod', type: 'ADDED', object: readyPod(s.ns, `ghost-${suffix()}`, rv || plausible) }]);
      await stays('the default pod stays, the foreign pod untouched', () => untouched(s), HOLD_MS);
      await protectedAgain(s);
    },
  );

  it('ghost deletions of the Service and of its CriticalService, and a forged relabel: the default pod stays', async () => {
    const s = await scene('adv-gone');
    const svc = await k.core.readNamespacedService({ namespace: s.ns, name: 'frontend' });
    const crit = (await k.custom.getClusterCustomObject({
      group: 'mycrd.com',
      version: 'v1',
      plural: 'criticalservices',
      name: s.crit,
    })) as { metadata: Record<string, unknown>; spec: unknown };
    await push([
      {
        kind: 'Service',
        type: 'DELETED',
        object: { metadata: { ...svc.metadata, resourceVersion: FUTURE }, spec: svc.spec },
      },
      {
        kind: 'CriticalService',
        type: 'DELETED',
        object: { metadata: { ...crit.metadata, resourceVersion: FUTURE }, spec: crit.spec },
      },
    ]);
    await stays('the default pod stays after ghost deletions', () => untouched(s), HOLD_MS);
    // The Service no longer critical, and its selector moved away from the default pod, as the queue tells it.
    await push([
      {
        kind: 'Service',
        type: 'MODIFIED',
        object: { metadata: { ...svc.metadata, labels: {}, resourceVersion: FUTURE }, spec: svc.spec },
      },
      {
        kind: 'Service',
        type: 'MODIFIED',
        object: {
          metadata: { ...svc.metadata, resourceVersion: FUTURE + '1' },
          spec: { ...svc.spec, selector: { app: 'elsewhere' } },
        },
      },
    ]);
    await stays('the default pod stays after forged relabels', () => untouched(s), HOLD_MS);
    expect(
      h.pipeline
        ?.logs('handler')
        .some((l) => l.msg.startsWith('the API server disagrees with the state: the default pod stays')),
    ).toBe(true);
    await protectedAgain(s);
    // A true change of the Service is believed: no longer critical, its default pod goes.
    await requestJson(k.kc, 'PATCH', `/api/v1/namespaces/${s.ns}/services/frontend`, {
      body: [{ op: 'remove', path: '/metadata/labels/role' }],
      contentType: 'application/json-patch+json',
    });
    await eventually(
      'the default pod goes once the Service is really not critical',
      async () => (await defaultPods(k, s.ns)).filter((p) => !p.metadata?.deletionTimestamp).length === 0,
      30_000,
    );
  });

  it('a flood: 300 ghost Ready pods, malformed and future versions, ghost Services and CriticalServices: the default pod stays, nothing else is created', async () => {
    const s = await scene('adv-flood');
    const jobs: object[] = [];
    for (let i = 0; i < 300; i++)
      jobs.push({
        kind: 'Pod',
        type: 'ADDED',
        object: readyPod(s.ns, `flood-${i}`, i % 3 === 0 ? 'not-a-version' : String(BigInt(FUTURE) + BigInt(i))),
      });
    for (let i = 0; i < 50; i++) {
      jobs.push({
        kind: 'Service',
        type: 'ADDED',
        object: {
          metadata: {
            name: `ghost-${i}`,
            namespace: s.ns,
            uid: `g${i}`,
            resourceVersion: FUTURE,
            labels: { role: 'frontend' },
          },
          spec: { selector: { app: `none-${i}` } },
        },
      });
      jobs.push({
        kind: 'CriticalService',
        type: 'ADDED',
        object: {
          metadata: { name: `ghost-crit-${i}`, uid: `gc${i}`, resourceVersion: FUTURE, generation: 1 },
          spec: { namespace: s.ns, matchLabels: [{ key: 'app', value: 'db' }] },
        },
      });
    }
    jobs.push({ kind: 'Pod', type: 'MODIFIED', object: { metadata: 'not an object' } });
    await push(jobs);
    await stays('the default pod stays, the foreign pod untouched', () => untouched(s), HOLD_MS);
    // Ghost Services get no default pod that survives: at most the one the live check undoes, none left.
    await eventually(
      'no default pod for a ghost Service',
      async () =>
        (await pods(k, s.ns)).every(
          (p) => !p.metadata?.name?.startsWith('service-watcher-ghost') || p.metadata?.deletionTimestamp,
        ),
      20_000,
    );
    await protectedAgain(s);
  });
});
