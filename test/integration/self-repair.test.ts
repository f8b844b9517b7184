// Issue 10: the handler repairs itself when queue data is lost or coalesced, rather than waiting
// for its 300 s resync. Each test runs the four processes as OS processes on the local cluster.
import { Queue } from 'bullmq';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { freshNamespace, kube, suffix } from '../support/kube.ts';
import { createCrit, createService, createTemplate, defaultPods, deleteCrit } from '../support/objects.ts';
import { ensureCrd, Pipeline } from '../support/pipeline.ts';
import { TestRedis } from '../support/redis.ts';
import { eventually } from '../support/wait.ts';

const k = kube();
let redis: TestRedis;
let pipeline: Pipeline | undefined;
const crits: string[] = [];

beforeAll(async () => {
  await ensureCrd(k);
  redis = await TestRedis.start();
});
afterEach(async (ctx) => {
  if (ctx.task.result?.state === 'fail' && pipeline) console.error(pipeline.tail(30));
  await pipeline?.stop();
  pipeline = undefined;
  for (const c of crits.splice(0)) await deleteCrit(k, c);
});
afterAll(async () => {
  await redis?.stop();
});

/** A namespace with the template and a CriticalService covering role=frontend, and the pipeline. */
async function setUp(prefix: string, env: Record<string, string> = {}): Promise<{ ns: string; p: Pipeline }> {
  const ns = await freshNamespace(k, prefix);
  await createTemplate(k, ns);
  const crit = `${prefix}-${suffix()}`;
  crits.push(crit);
  await createCrit(k, crit, { namespace: ns, matchLabels: [{ key: 'role', value: 'frontend' }] });
  pipeline = await Pipeline.start({ namespaces: [ns], redisUrl: redis.url, templateNamespace: ns, env });
  return { ns, p: pipeline };
}

describe('expectations', () => {
  it('a default pod seen only as DELETED (its ADDED coalesced away) is created again at once, not after the resync', async () => {
    const { ns, p } = await setUp('coalesced');
    // The pods watcher is frozen: the handler hears of pods only through what the test pushes.
    p.freeze('watcher-pods', true);
    await createService(k, ns, 'frontend', { labels: { role: 'frontend' }, selector: { app: 'web' } });
    const [first] = await eventually('a default pod', async () => { const d = await defaultPods(k, ns); return d.length ? d : undefined; }, 15_000);
    await k.core.deleteNamespacedPod({ namespace: ns, name: first!.metadata!.name!, gracePeriodSeconds: 0 });
    // What the outbox sends when ADDED and DELETED of one pod were pending together.
    const queue = new Queue(p.queue, { connection: { host: '127.0.0.1', port: redis.port } });
    try {
      await queue.add('Pod:DELETED', { kind: 'Pod', type: 'DELETED', seenAt: Date.now(), object: { ...first, metadata: { ...first!.metadata, resourceVersion: String(Number(first!.metadata!.resourceVersion) + 1) } } });
    } finally {
      await queue.close();
    }
    // Well inside the 30 s the expectation would otherwise block the Service for.
    const again = await eventually('the default pod created again', async () => {
      const d = await defaultPods(k, ns);
      return d.find((x) => x.metadata?.uid !== first!.metadata?.uid && !x.metadata?.deletionTimestamp);
    }, 10_000);
    expect(again.metadata?.name).toBe(first!.metadata?.name);
  });
});
