// Issue 14 item 3: two handler replicas elect a leader on a Lease; only the leader acts; a leader
// stopped (SIGTERM: it releases the Lease) or killed (SIGKILL: the Lease must expire) is replaced
// by the standby, which loads the state and acts. The hand-over times are printed, not asserted.
import { CoordinationV1Api } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { freshNamespace, kube, suffix } from '../support/kube.ts';
import { createCrit, createService, createTemplate, defaultPods } from '../support/objects.ts';
import { pipelineHarness } from '../support/harness.ts';
import { Pipeline, type Proc } from '../support/pipeline.ts';
import { eventually, stays } from '../support/wait.ts';

const k = kube();
const h = pipelineHarness(k, 30);
const leases = k.kc.makeApiClient(CoordinationV1Api);
const LEASE = 'critsvc-handler';

const creates = (metrics: string): number =>
  Number(/critsvc_default_pod_actions_total\{action="create",result="created"\} (\d+)/.exec(metrics)?.[1] ?? 0);
const leading = (metrics: string): number => Number(/^critsvc_leader (\d+)/m.exec(metrics)?.[1] ?? -1);

async function metricsOf(proc: Proc): Promise<string> {
  if (!proc.port) throw new Error('no HTTP port yet');
  return (await fetch(`http://127.0.0.1:${proc.port}/metrics`)).text();
}

/** The identity a handler logged when it began to compete for the Lease. */
function identityOf(proc: Proc): string | undefined {
  return proc.lines.find((l) => l.msg === 'leader election: waiting for the Lease')?.identity as string | undefined;
}

/** When (epoch ms, its own log) a handler became the leader. */
function leaderSince(proc: Proc): number | undefined {
  const time = proc.lines.find((l) => l.msg === 'leader Lease acquired; loading the state')?.time;
  return typeof time === 'string' ? Date.parse(time) : undefined;
}

async function holder(ns: string): Promise<string | undefined> {
  return (await leases.readNamespacedLease({ name: LEASE, namespace: ns })).spec?.holderIdentity;
}

async function setUp(prefix: string): Promise<{ ns: string; p: Pipeline; leader: Proc; standby: Proc }> {
  const ns = await freshNamespace(k, prefix);
  await createTemplate(k, ns);
  const crit = `${prefix}-${suffix()}`;
  h.crits.push(crit);
  await createCrit(k, crit, { namespace: ns, matchLabels: [{ key: 'role', value: 'frontend' }] });
  // Default timings (15 s / 10 s / 2 s), as deployed.
  const p = await Pipeline.start({
    namespaces: [ns],
    redisUrl: h.redis.url,
    templateNamespace: ns,
    env: { LEADER_ELECTION: 'true', LEASE_NAMESPACE: ns, LEASE_NAME: LEASE },
  });
  h.pipeline = p;
  const leader = p.procs.handler;
  const standby = p.startReplica('handler');
  await waitStandby(standby);
  expect(await holder(ns)).toBe(identityOf(leader));
  expect(leading(await metricsOf(leader))).toBe(1);
  return { ns, p, leader, standby };
}

/** A second handler up, ready (a standby is), not leading. */
async function waitStandby(proc: Proc): Promise<void> {
  await eventually(
    'the standby ready',
    async () => proc.port !== undefined && (await fetch(`http://127.0.0.1:${proc.port}/readyz`)).ok,
    20_000,
  );
  expect(leading(await metricsOf(proc))).toBe(0);
}

async function lameService(ns: string, name: string): Promise<void> {
  await createService(k, ns, name, { labels: { role: 'frontend' }, selector: { app: name } });
}

/** Polls (every 50 ms) until the Service has its default pod; returns when that was seen. */
async function defaultPodSeen(ns: string, svc: string, timeoutMs: number): Promise<number> {
  await eventually(
    `a default pod for ${svc}`,
    async () => (await defaultPods(k, ns)).some((d) => d.metadata?.labels?.['critsvc.mycrd.com/service'] === svc),
    timeoutMs,
    50,
  );
  return Date.now();
}

describe('two handlers, one leader', () => {
  it('only the leader acts: each lame Service gets one default pod, all created by the leader; the standby creates none', async () => {
    const { ns, leader, standby } = await setUp('leader-only');
    for (const s of ['a', 'b', 'c']) await lameService(ns, s);
    await eventually('three default pods', async () => (await defaultPods(k, ns)).length === 3, 20_000);
    // Past the healthy hold-off and several retry periods: no second pod, no create by the standby.
    await stays('exactly three default pods', async () => (await defaultPods(k, ns)).length === 3, 5_000);
    expect(creates(await metricsOf(leader))).toBe(3);
    expect(creates(await metricsOf(standby))).toBe(0);
    expect(standby.lines.some((l) => l.msg === 'state complete; deciding')).toBe(false);
    // A standby stopped leaves the Lease to the leader.
    await standby.kill('SIGTERM');
    expect(standby.exits).toEqual([0]);
    expect(await holder(ns)).toBe(identityOf(leader));
  });

  it('SIGTERM: the leader releases the Lease; the standby takes it at its next try, loads the state and acts', async () => {
    const { ns, p, leader, standby } = await setUp('leader-term');
    await lameService(ns, 'before');
    await defaultPodSeen(ns, 'before', 20_000);

    const t0 = Date.now();
    await leader.kill('SIGTERM');
    const exited = Date.now();
    expect(leader.exits).toEqual([0]);
    expect(leader.lines.some((l) => l.msg === 'leader Lease released')).toBe(true);
    // The next thing to act on, made once the old leader is gone, so only the new one can act.
    await lameService(ns, 'after');
    const acted = await defaultPodSeen(ns, 'after', 30_000);
    const since = leaderSince(standby);
    console.log(
      `hand-over on SIGTERM: old leader exited ${exited - t0} ms after the signal, standby leader at +${since ? since - t0 : '?'} ms, next action (default pod seen) at +${acted - t0} ms`,
    );

    expect(await holder(ns)).toBe(identityOf(standby));
    expect(leading(await metricsOf(standby))).toBe(1);
    expect(creates(await metricsOf(standby))).toBe(1);
    // The state loaded by the new leader includes the old leader's default pod: it is kept, not doubled.
    await stays('one default pod per Service', async () => (await defaultPods(k, ns)).length === 2, 3_000);
    void p;
  });

  it('SIGKILL: the Lease is not released; the standby takes it once unrenewed for LEASE_DURATION_SECONDS, then acts', async () => {
    const { ns, leader, standby } = await setUp('leader-kill');
    const t0 = Date.now();
    await leader.kill('SIGKILL');
    await lameService(ns, 'after');
    const acted = await defaultPodSeen(ns, 'after', 45_000);
    const since = leaderSince(standby);
    console.log(
      `take-over on SIGKILL: standby leader at +${since ? since - t0 : '?'} ms, next action (default pod seen) at +${acted - t0} ms (lease duration 15 s)`,
    );
    expect(await holder(ns)).toBe(identityOf(standby));
    expect(creates(await metricsOf(standby))).toBe(1);
    const lease = await leases.readNamespacedLease({ name: LEASE, namespace: ns });
    expect(lease.spec?.leaseTransitions).toBe(1);
  });

  it('a leader frozen past its lease (SIGSTOP) is replaced; resumed, it writes nothing and exits', async () => {
    const { ns, leader, standby } = await setUp('leader-frozen');
    await lameService(ns, 'a');
    await defaultPodSeen(ns, 'a', 20_000);
    // Frozen only once it has logged that create: a watch can show the pod before the leader has
    // read the API server's answer, and the line it then writes on waking is no write after it.
    await eventually('the leader to log its create', async () =>
      leader.lines.some((l) => l.msg === 'default pod created' && l.pod === 'service-watcher-a'),
    );
    const t0 = Date.now();
    leader.child?.kill('SIGSTOP');
    await lameService(ns, 'b');
    await defaultPodSeen(ns, 'b', 45_000);
    expect(await holder(ns)).toBe(identityOf(standby));
    // Work the frozen leader will find on waking: the queue holds jobs for a Service it thinks lame.
    await lameService(ns, 'c');
    await defaultPodSeen(ns, 'c', 20_000);
    const resumedAt = Date.now();
    leader.child?.kill('SIGCONT');
    await eventually('the old leader to exit', async () => leader.exits.length > 0, 15_000);
    console.log(
      `frozen leader: replaced after ${resumedAt - t0} ms frozen; exited ${Date.now() - resumedAt} ms after resuming`,
    );
    expect(leader.exits).toEqual([1]);
    expect(leader.lines.some((l) => l.msg.startsWith('leader Lease lost'))).toBe(true);
    const writesAfter = leader.lines.filter(
      (l) => Date.parse(String(l.time)) >= resumedAt && /default pod (created|deleted)/.test(l.msg),
    );
    expect(writesAfter).toEqual([]);
    expect(await holder(ns)).toBe(identityOf(standby));
    await stays('one default pod per Service', async () => (await defaultPods(k, ns)).length === 3, 3_000);
  });
});
