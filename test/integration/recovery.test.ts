// Acceptance 5 and 6: processes killed, Redis down, watches expired — critsvc converges and
// loses nothing.
import { Redis } from 'ioredis';
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
} from '../support/objects.ts';
import { PodWatch } from '../support/pod-watch.ts';
import { ensureCrd, Pipeline } from '../support/pipeline.ts';
import { TestRedis } from '../support/redis.ts';
import { eventually, stays } from '../support/wait.ts';

const k = kube();
let redis: TestRedis;
let pipeline: Pipeline | undefined;
let watch: PodWatch | undefined;
const crits: string[] = [];

beforeAll(async () => {
  await ensureCrd(k);
  // Persistent, as in deploy/: a restarted Redis still has its queue. With deploy/'s ACL users,
  // each process on its own: a restarted Redis has them again (its ACL file).
  redis = await TestRedis.start(['--appendonly', 'yes', '--appendfsync', 'always'], { users: true });
});
afterEach(async () => {
  watch?.stop();
  await pipeline?.stop();
  pipeline = undefined;
  for (const c of crits.splice(0)) await deleteCrit(k, c);
});
afterAll(async () => {
  await redis.stop();
});

const SERVICES = ['s0', 's1', 's2', 's3', 's4', 's5', 's6', 's7'];

/** Eight critical Services; the even ones have a real pod. */
async function fleet(prefix: string): Promise<{ ns: string; healthy: Set<string> }> {
  const ns = await freshNamespace(k, prefix);
  await createTemplate(k, ns);
  const crit = `${prefix}-${suffix()}`;
  crits.push(crit);
  const healthy = new Set<string>();
  for (const [i, s] of SERVICES.entries()) {
    await createService(k, ns, s, { labels: { tier: 'gold' } });
    if (i % 2 === 0) {
      await createRealPod(k, ns, `${s}-real`, { role: s });
      healthy.add(s);
    }
  }
  pipeline = await Pipeline.start({
    namespaces: [ns],
    redisUrl: redis.url,
    redisUrls: redis.urls,
    templateNamespace: ns,
  });
  await createCrit(k, crit, { namespace: ns, matchLabels: [{ key: 'tier', value: 'gold' }] });
  await converged(ns, healthy);
  watch = await PodWatch.start(k, ns);
  return { ns, healthy };
}

/** Exactly one default pod per lame Service, none for the others. */
async function converged(ns: string, healthy: Set<string>, timeoutMs = 30_000): Promise<void> {
  const want = SERVICES.filter((s) => !healthy.has(s))
    .map((s) => `service-watcher-${s}`)
    .join();
  await eventually(
    `default pods exactly for ${want}`,
    async () => {
      const names = (await defaultPods(k, ns))
        .map((p) => p.metadata?.name)
        .sort()
        .join();
      return names === want || undefined;
    },
    timeoutMs,
  );
}

describe('acceptance 5: handler SIGKILLed and restarted while pods change', () => {
  it('converges with no duplicate or missing default pod, and none for a healthy Service', async () => {
    const { ns, healthy } = await fleet('hkill');
    await pipeline?.procs.handler.kill('SIGKILL');
    // While it is away: two healthy Services lose their pod, two lame ones get one.
    await deletePod(k, ns, 's0-real');
    await deletePod(k, ns, 's2-real');
    healthy.delete('s0');
    healthy.delete('s2');
    await createRealPod(k, ns, 's1-real', { role: 's1' });
    await createRealPod(k, ns, 's3-real', { role: 's3' });
    healthy.add('s1');
    healthy.add('s3');
    const restartedAt = Date.now();
    pipeline?.procs.handler.start();
    // And more change while it starts up.
    await createRealPod(k, ns, 's5-real', { role: 's5' });
    healthy.add('s5');
    await converged(ns, healthy);
    await stays(
      'still converged',
      async () => {
        const names = (await defaultPods(k, ns)).map((p) => p.metadata?.name).sort();
        return (
          names.join() ===
          SERVICES.filter((s) => !healthy.has(s))
            .map((s) => `service-watcher-${s}`)
            .join()
        );
      },
      2_000,
    );
    const created =
      watch
        ?.defaultPodsAdded()
        .filter((e) => e.at >= restartedAt)
        .map((e) => e.service) ?? [];
    // Only s0 and s2 became lame: a default pod for any other would be a wrong action.
    expect(created.sort()).toEqual(['s0', 's2']);
    expect(pipeline?.procs.handler.exits).toEqual([null]);
  });
});

describe('acceptance 6: watchers killed, Redis down, watches expired', () => {
  it('watcher-pods SIGKILLed while pods change: its restart re-lists and nothing is lost', async () => {
    const { ns, healthy } = await fleet('wkill');
    await pipeline?.procs['watcher-pods'].kill('SIGKILL');
    await deletePod(k, ns, 's4-real'); // a DELETED nobody watched
    healthy.delete('s4');
    await createRealPod(k, ns, 's7-real', { role: 's7' });
    healthy.add('s7');
    pipeline?.procs['watcher-pods'].start();
    await converged(ns, healthy);
  });

  it('watcher-services SIGKILLed while a lame Service is deleted: its default pod goes after the restart', async () => {
    const { ns, healthy } = await fleet('skill');
    await pipeline?.procs['watcher-services'].kill('SIGKILL');
    await k.core.deleteNamespacedService({ namespace: ns, name: 's3' });
    healthy.add('s3'); // gone: no default pod wanted
    pipeline?.procs['watcher-services'].start();
    await converged(ns, healthy);
  });

  it('watcher-crds SIGKILLed while a CriticalService is deleted and another created: both take effect after the restart', async () => {
    const { ns, healthy } = await fleet('ckill');
    await pipeline?.procs['watcher-crds'].kill('SIGKILL');
    for (const c of crits.splice(0)) await deleteCrit(k, c);
    const narrower = `ckill-${suffix()}`;
    crits.push(narrower);
    await k.core.patchNamespacedService({
      namespace: ns,
      name: 's1',
      body: [{ op: 'add', path: '/metadata/labels/only', value: 's1' }],
    });
    await createCrit(k, narrower, { namespace: ns, matchLabels: [{ key: 'only', value: 's1' }] });
    pipeline?.procs['watcher-crds'].start();
    // Only s1 is critical now, and lame: every other default pod goes.
    await eventually(
      'only service-watcher-s1',
      async () =>
        (await defaultPods(k, ns))
          .map((p) => p.metadata?.name)
          .sort()
          .join() === 'service-watcher-s1' || undefined,
      30_000,
    );
    expect(healthy.has('s1')).toBe(false);
  });

  it('Redis down for a while then back: events kept by the watchers arrive and act', async () => {
    const { ns, healthy } = await fleet('redis');
    await redis.stop();
    await deletePod(k, ns, 's6-real');
    healthy.delete('s6');
    await createRealPod(k, ns, 's1-real', { role: 's1' });
    healthy.add('s1');
    await new Promise((r) => setTimeout(r, 5_000));
    await redis.restart();
    await converged(ns, healthy);
    // Back with the same users (its ACL file), and nothing any process did was refused.
    const admin = new Redis(redis.url, { maxRetriesPerRequest: 1 });
    try {
      expect(await admin.call('ACL', 'USERS')).toEqual(
        expect.arrayContaining([
          'critsvc-handler',
          'critsvc-watcher-pods',
          'critsvc-watcher-services',
          'critsvc-watcher-crds',
        ]),
      );
      expect(await admin.call('ACL', 'LOG')).toEqual([]);
    } finally {
      admin.disconnect();
    }
    const warned = pipeline?.logs('watcher-pods').some((l) => l.msg.startsWith('cannot reach the queue'));
    expect(warned).toBe(true);
    for (const p of ['watcher-pods', 'watcher-services', 'watcher-crds', 'handler'] as const)
      expect(pipeline?.procs[p].exits).toEqual([]);
  });

  // Longer than ioredis's default retry policy lasts (~73 s): the watchers' own retry must carry it.
  it.runIf(process.env.CRITSVC_SOAK === '1')(
    'Redis down for 90 s: nothing lost (soak)',
    async () => {
      const { ns, healthy } = await fleet('longredis');
      await redis.stop();
      await deletePod(k, ns, 's2-real');
      healthy.delete('s2');
      await new Promise((r) => setTimeout(r, 90_000));
      await createRealPod(k, ns, 's3-real', { role: 's3' });
      healthy.add('s3');
      await redis.restart();
      await converged(ns, healthy, 60_000);
      for (const p of ['watcher-pods', 'watcher-services', 'watcher-crds', 'handler'] as const)
        expect(pipeline?.procs[p].exits).toEqual([]);
    },
    240_000,
  );

  it('the handler SIGKILLed mid-stream and Redis restarted together still converge', async () => {
    const { ns, healthy } = await fleet('both');
    await pipeline?.procs.handler.kill('SIGKILL');
    await redis.stop();
    await deletePod(k, ns, 's0-real');
    healthy.delete('s0');
    await redis.restart();
    pipeline?.procs.handler.start();
    await converged(ns, healthy);
  });
});
