// Faults below the pipeline, on a control plane of its own (without the API server's watch
// cache, so that etcd compaction really expires watches): a silent network between the
// watchers and the API server, a watch expired by compaction (410 Gone), an API server restart.
// After each fault clears, the pipeline converges to the invariants.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { binaries } from '../../scripts/cluster/cluster.ts';
import { clusterDown } from '../../scripts/cluster/down.ts';
import { apiserverReady, restartProc, type ClusterState } from '../../scripts/cluster/state.ts';
import { clusterUp } from '../../scripts/cluster/up.ts';
import { compactEtcd } from '../support/etcd.ts';
import { freshNamespace, kube, suffix, type Kube } from '../support/kube.ts';
import {
  createCrit,
  createRealPod,
  createService,
  createTemplate,
  defaultPods,
  deletePod,
  publishEndpoint,
} from '../support/objects.ts';
import { ensureCrd, Pipeline, type ProcessName } from '../support/pipeline.ts';
import { StallProxy } from '../support/proxy.ts';
import { TestRedis } from '../support/redis.ts';
import { eventually } from '../support/wait.ts';

const dir = mkdtempSync(join(tmpdir(), 'critsvc-faults-'));
let cluster: ClusterState;
let k: Kube;
let redis: TestRedis;
let proxy: StallProxy;
let proxied: string;
let pipeline: Pipeline | undefined;

beforeAll(async () => {
  cluster = await clusterUp({ dir, ...binaries('bare'), extraApiserverArgs: ['--watch-cache=false'] });
  k = kube(cluster.kubeconfig, 'manual'); // a bare control plane: no kwok, the test plays the kubelet
  await ensureCrd(k);
  redis = await TestRedis.start();
  proxy = await StallProxy.start(Number(new URL(cluster.server).port));
  proxied = join(dir, 'proxied.kubeconfig');
  writeFileSync(
    proxied,
    readFileSync(cluster.kubeconfig, 'utf8').replace(cluster.server, `https://127.0.0.1:${proxy.port}`),
  );
});
afterEach(async (ctx) => {
  if (ctx.task.result?.state === 'fail' && pipeline) console.error(pipeline.tail());
  proxy.thaw();
  await pipeline?.stop();
  pipeline = undefined;
});
afterAll(async () => {
  await proxy?.close();
  await redis?.stop();
  await clusterDown(dir);
});

/** Watchers reach the API server through the proxy; the handler directly. */
async function fleet(prefix: string): Promise<{ ns: string }> {
  const ns = await freshNamespace(k, prefix);
  await createTemplate(k, ns);
  for (const s of ['a', 'b']) {
    await createService(k, ns, s, { labels: { tier: 'gold' } });
    await createRealPod(k, ns, `${s}-real`, { role: s });
  }
  const watchers: ProcessName[] = ['watcher-services', 'watcher-pods', 'watcher-crds'];
  pipeline = await Pipeline.start({
    namespaces: [ns],
    redisUrl: redis.url,
    templateNamespace: ns,
    kubeconfigs: { ...Object.fromEntries(watchers.map((w) => [w, proxied])), handler: cluster.kubeconfig },
    env: { WATCH_STALL_SECONDS: '3', WATCH_TIMEOUT_SECONDS: '5' }, // a stall is noticed within 5 x 1.2 + 3 s
  });
  await createCrit(k, `${prefix}-${suffix()}`, { namespace: ns, matchLabels: [{ key: 'tier', value: 'gold' }] });
  await new Promise((r) => setTimeout(r, 1_000));
  expect((await defaultPods(k, ns)).length).toBe(0);
  return { ns };
}

const defaults = async (ns: string): Promise<string> =>
  (await defaultPods(k, ns))
    .map((p) => p.metadata?.name)
    .sort()
    .join();

describe('faults below the pipeline', () => {
  it('a silent network to the API server: the stall is detected, and once it clears nothing is lost', async () => {
    const { ns } = await fleet('stall');
    proxy.freeze();
    await deletePod(k, ns, 'a-real'); // the watchers cannot hear of it
    await eventually(
      'the watchers to notice the stall',
      async () => pipeline?.logs('watcher-pods').some((l) => l.msg.startsWith('watch stalled')),
      20_000,
    );
    expect(await defaults(ns)).toBe('');
    proxy.thaw();
    await eventually(
      'the default pod once the network is back',
      async () => (await defaults(ns)) === 'service-watcher-a',
      30_000,
    );
    expect(pipeline?.procs['watcher-pods'].exits).toEqual([]);
  });

  it('a watch expired by etcd compaction during an outage: 410 Gone, re-list, deletions noticed', async () => {
    const { ns } = await fleet('gone');
    const stalls = (): number =>
      pipeline?.logs('watcher-pods').filter((l) => l.msg.startsWith('watch stalled')).length ?? 0;
    const before = stalls();
    proxy.freeze();
    // The outage outlasts the watch: the watcher drops it and will resume from its last resourceVersion.
    await eventually('the watch to be dropped as stalled', async () => stalls() > before, 20_000);
    await deletePod(k, ns, 'b-real');
    await createRealPod(k, ns, 'noise', { app: 'noise' });
    await compactEtcd(cluster.etcdUrl);
    proxy.thaw();
    await eventually(
      'the re-list after 410',
      async () => pipeline?.logs('watcher-pods').some((l) => l.msg.startsWith('watch expired (410 Gone)')),
      30_000,
    );
    await eventually('the default pod for b', async () => (await defaults(ns)) === 'service-watcher-b', 30_000);
  });

  it('the API server restarted: everyone reconnects and acts on what changed after', async () => {
    const { ns } = await fleet('apirestart');
    await restartProc(dir, 'kube-apiserver', 2_000);
    await eventually('the API server back', async () => apiserverReady(cluster), 60_000);
    await deletePod(k, ns, 'a-real');
    await eventually(
      'the default pod after the restart',
      async () => (await defaults(ns)) === 'service-watcher-a',
      45_000,
    );
    const back = await createRealPod(k, ns, 'a-real-2', { role: 'a' });
    await publishEndpoint(k, ns, 'a', back); // the hand-back waits for the real pod's ready endpoint
    await eventually('and its removal', async () => (await defaults(ns)) === '', 30_000);
    for (const p of ['watcher-services', 'watcher-pods', 'watcher-crds', 'handler'] as const)
      expect(pipeline?.procs[p].exits, p).toEqual([]);
  });
});
