// The list-watch loop against the real API server: a watch resumed from a resourceVersion the
// server no longer has gets 410 Gone; the re-list that follows reports what was deleted meanwhile.
// A quiet watch is not a stalled one; a watch behind a network that went silent is.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { binaries } from '../../scripts/cluster/cluster.ts';
import { clusterDown } from '../../scripts/cluster/down.ts';
import { type ClusterState } from '../../scripts/cluster/state.ts';
import { clusterUp } from '../../scripts/cluster/up.ts';
import { podTargets, type KubeObject, type QueueJob, type WatchJob } from '../../packages/shared/src/index.ts';
import { ListWatcher } from '../../packages/shared/src/list-watcher.ts';
import { createLogger, type Logger } from '../../packages/shared/src/logger.ts';
import { Store } from '../../apps/handler/src/model/store.ts';
import { freshNamespace, kube, statusOf, type Kube } from '../support/kube.ts';
import { compactEtcd } from '../support/etcd.ts';
import { createRealPod, deletePod } from '../support/objects.ts';
import { StallProxy } from '../support/proxy.ts';
import { eventually } from '../support/wait.ts';

// A control plane of its own, without the API server's watch cache: watches are then served by
// etcd, so compacting etcd makes an old resourceVersion answer 410 Gone, deterministically.
let k: Kube;
let cluster: ClusterState;
const dir = mkdtempSync(join(tmpdir(), 'critsvc-nocache-'));
beforeAll(async () => {
  cluster = await clusterUp({ dir, ...binaries('bare'), extraApiserverArgs: ['--watch-cache=false'] });
  k = kube(cluster.kubeconfig, 'manual'); // a bare control plane: no kwok, the test plays the kubelet
});
afterAll(async () => {
  await proxy?.close();
  await clusterDown(dir);
});
let proxy: StallProxy | undefined;
const running: ListWatcher[] = [];
afterEach(async () => {
  for (const w of running.splice(0)) await w.stop();
});

function watcher(ns: string, jobs: QueueJob[], resumeFrom?: string): ListWatcher {
  if (resumeFrom === '') throw new Error('no resourceVersion to resume from');
  const [target] = podTargets(k.kc, [ns]);
  if (!target) throw new Error('no target');
  const w = new ListWatcher({
    kc: k.kc,
    target,
    push: (j) => jobs.push(j),
    log: createLogger('silent', 'test'),
    timeoutSeconds: 60,
    stallSeconds: 30,
    ...(resumeFrom ? { resumeFrom } : {}),
  });
  running.push(w);
  w.start();
  return w;
}

describe('ListWatcher', () => {
  it('re-lists after 410 Gone and the SYNCED marker names what was deleted during the gap (the handler reads it live, then drops it)', async () => {
    const ns = await freshNamespace(k, 'gone');
    for (const n of ['a', 'b', 'vanished']) await createRealPod(k, ns, n, { app: n });
    const store = new Store();
    const first: QueueJob[] = [];
    const w1 = watcher(ns, first);
    await eventually('first list', async () => w1.synced);
    for (const j of first) store.apply(j);
    await w1.stop();
    expect([...store.podsIn(ns)].map((p) => p.name).sort()).toEqual(['a', 'b', 'vanished']);

    // The gap: nobody watches while a pod goes and another comes.
    await deletePod(k, ns, 'vanished');
    await createRealPod(k, ns, 'c', { app: 'c' });

    // Resuming from where the first watcher was, after etcd compacted that history away (it does
    // every few minutes; here at once): the server answers 410 Gone.
    const last = first.at(-1);
    const resumeFrom = last?.type === 'SYNCED' ? last.resourceVersion : '';
    await compactEtcd(cluster.etcdUrl);
    const second: QueueJob[] = [];
    const w2 = watcher(ns, second, resumeFrom);
    await eventually('re-list after 410', async () => w2.lists === 1);
    expect(second.at(-1)).toMatchObject({ type: 'SYNCED', kind: 'Pod', scope: ns });
    for (const j of second) store.apply(j);
    // The marker is a claim from the queue: the pod it did not name is read live before it goes.
    const gone = Store.claimedGone(store.takeAhead());
    expect(gone.map((a) => a.key)).toEqual([`${ns}/vanished`]);
    for (const a of gone) store.takeLive('Pod', a.key, await readPod(k, ns, a.key.slice(ns.length + 1)));
    expect([...store.podsIn(ns)].map((p) => p.name).sort()).toEqual(['a', 'b', 'c']);
  });

  it('sees changes made after the list on the watch, resumes after the server closes it', async () => {
    const ns = await freshNamespace(k, 'resume');
    const jobs: QueueJob[] = [];
    const [target] = podTargets(k.kc, [ns]);
    if (!target) throw new Error('no target');
    const w = new ListWatcher({
      kc: k.kc,
      target,
      push: (j) => jobs.push(j),
      log: createLogger('silent', 'test'),
      timeoutSeconds: 1,
      stallSeconds: 30,
    });
    running.push(w);
    w.start();
    await eventually('list', async () => w.synced);
    await createRealPod(k, ns, 'p1', { app: 'x' });
    await new Promise((r) => setTimeout(r, 2_500)); // longer than the server-side timeout
    await createRealPod(k, ns, 'p2', { app: 'x' });
    await eventually('both pods on the watch', async () =>
      ['p1', 'p2'].every((n) => jobs.some((j) => j.type === 'ADDED' && j.object.metadata?.name === n)),
    );
    expect(w.watches).toBeGreaterThan(1);
    expect(w.lists).toBe(1); // resumed, not re-listed
    // Managed fields and the pod spec never travel.
    const added = jobs.find((j): j is WatchJob => j.type === 'ADDED' && j.object.metadata?.name === 'p1');
    expect(added?.object.metadata?.name).toBe('p1');
    expect(added && 'spec' in added.object).toBe(false);
    expect(JSON.stringify(added)).not.toContain('managedFields');
  });
});

/** The pod as the API server has it now, or undefined when it is gone (what the handler's live read returns). */
async function readPod(k: Kube, namespace: string, name: string): Promise<KubeObject | undefined> {
  try {
    return (await k.core.readNamespacedPod({ namespace, name })) as KubeObject;
  } catch (err) {
    if (statusOf(err) === 404) return undefined;
    throw err;
  }
}

/** The log lines a ListWatcher writes, kept for the test to read. */
function recordingLog(): { log: Logger; lines: { level: string; msg: string; at: number }[] } {
  const lines: { level: string; msg: string; at: number }[] = [];
  const rec =
    (level: string) =>
    (a: unknown, b?: unknown): void => {
      lines.push({ level, msg: typeof a === 'string' ? a : String(b), at: Date.now() });
    };
  const log = {
    info: rec('info'),
    warn: rec('warn'),
    error: rec('error'),
    debug: rec('debug'),
    trace: rec('trace'),
    child: () => log,
  };
  return { log: log as unknown as Logger, lines };
}

describe('ListWatcher on a quiet or a silent watch', () => {
  // Served by etcd (this file's control plane) nothing at all arrives on a quiet watch; served
  // from the watch cache (the shared one) a bookmark comes 2 s before the deadline.
  it.each([
    ['served by etcd', () => k],
    ['served from the watch cache', () => kube(inject('kubeconfig'), 'manual')],
  ])(
    'a quiet watch (%s) is not stalled: it ends at the server timeout and resumes, without a warning or a re-list',
    async (_, server) => {
      const k = server();
      const ns = await freshNamespace(k, 'quiet');
      await createRealPod(k, ns, 'p1', { app: 'x' });
      const [target] = podTargets(k.kc, [ns]);
      if (!target) throw new Error('no target');
      const { log, lines } = recordingLog();
      const jobs: QueueJob[] = [];
      // Shorter than the server timeout, as WATCH_STALL_SECONDS (90) was beside WATCH_TIMEOUT_SECONDS (300).
      const w = new ListWatcher({
        kc: k.kc,
        target,
        push: (j) => jobs.push(j),
        log,
        timeoutSeconds: 3,
        stallSeconds: 2,
      });
      running.push(w);
      w.start();
      await eventually('list', async () => w.synced);
      await new Promise((r) => setTimeout(r, 10_000)); // nothing changes in the namespace
      expect(lines.filter((l) => l.level !== 'info')).toEqual([]);
      expect(w.watches).toBeGreaterThanOrEqual(3); // 10 s of 3-3.6 s watches, each ended by the server
      expect(w.lists).toBe(1); // resumed each time, never re-listed
      await createRealPod(k, ns, 'p2', { app: 'x' });
      await eventually('the pod made after the quiet spell', async () =>
        jobs.some((j) => j.type === 'ADDED' && j.object.metadata?.name === 'p2'),
      );
    },
  );

  it('a watch behind a network that went silent is reported stalled after the server timeout plus the margin, then resumes', async () => {
    proxy = await StallProxy.start(Number(new URL(cluster.server).port));
    const proxied = join(dir, 'proxied.kubeconfig');
    writeFileSync(
      proxied,
      readFileSync(cluster.kubeconfig, 'utf8').replace(cluster.server, `https://127.0.0.1:${proxy.port}`),
    );
    const pk = kube(proxied, 'manual');
    const ns = await freshNamespace(k, 'silent');
    const [target] = podTargets(pk.kc, [ns]);
    if (!target) throw new Error('no target');
    const { log, lines } = recordingLog();
    const jobs: QueueJob[] = [];
    const w = new ListWatcher({
      kc: pk.kc,
      target,
      push: (j) => jobs.push(j),
      log,
      timeoutSeconds: 2,
      stallSeconds: 2,
    });
    running.push(w);
    w.start();
    await eventually('list', async () => w.synced);
    const frozenAt = Date.now();
    proxy.freeze();
    const stalled = (): { at: number } | undefined =>
      lines.find((l) => l.level === 'warn' && l.msg.startsWith('watch stalled'));
    // At most the jittered timeout (2.4 s) + the margin (2 s) after the last watch began.
    const stall = await eventually('the stall to be reported', async () => stalled(), 10_000);
    expect(stall.at - frozenAt).toBeLessThan(2_400 + 2_000 + 1_000);
    proxy.thaw();
    await createRealPod(k, ns, 'after', { app: 'x' });
    await eventually(
      'the pod made after the network came back',
      async () => jobs.some((j) => j.type === 'ADDED' && j.object.metadata?.name === 'after'),
      20_000,
    );
    expect(w.lists).toBe(1);
  });
});
