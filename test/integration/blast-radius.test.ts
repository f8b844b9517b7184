// Blast radius: with MAX_DEFAULT_PODS=1 and two lame critical Services, one gets its default pod,
// the other is held back (blockedServices with DefaultPodLimitReached, the WithinDefaultPodLimits
// condition, a Warning Event), and gets its pod once the first Service recovers.
import { describe, expect, it } from 'vitest';
import { freshNamespace, kube, suffix } from '../support/kube.ts';
import { pipelineHarness } from '../support/harness.ts';
import {
  createCrit,
  createRealPod,
  createService,
  createTemplate,
  critStatus,
  defaultPods,
  events,
} from '../support/objects.ts';
import { Pipeline } from '../support/pipeline.ts';
import { eventually, stays } from '../support/wait.ts';

const k = kube();
const h = pipelineHarness(k);
const SERVICE_LABEL = 'critsvc.mycrd.com/service';

interface Blocked {
  service: string;
  reason: string;
  message: string;
}

describe('blast-radius limits', () => {
  it('MAX_DEFAULT_PODS=1: one default pod, the other Service blocked and told, then served when the first recovers', async () => {
    const ns = await freshNamespace(k, 'blast');
    await createTemplate(k, ns);
    h.pipeline = await Pipeline.start({
      namespaces: [ns],
      redisUrl: h.redis.url,
      templateNamespace: ns,
      env: { MAX_DEFAULT_PODS: '1', HEALTHY_GRACE_SECONDS: '1' },
    });
    await createService(k, ns, 'alpha', { labels: { tier: 'gold' }, selector: { app: 'alpha' } });
    await createService(k, ns, 'beta', { labels: { tier: 'gold' }, selector: { app: 'beta' } });
    const crit = `blast-${suffix()}`;
    h.crits.push(crit);
    await createCrit(k, crit, { namespace: ns, matchLabels: [{ key: 'tier', value: 'gold' }] });

    const served = await eventually('one default pod', async () => {
      const list = await defaultPods(k, ns);
      return list.length === 1 ? list[0]?.metadata?.labels?.[SERVICE_LABEL] : undefined;
    });
    const other = served === 'alpha' ? 'beta' : 'alpha';
    const blocked = await eventually('the other Service listed as blocked', async () => {
      const s = (await critStatus(k, crit)) as { blockedServices?: Blocked[]; lameCount?: number } | undefined;
      return s?.lameCount === 2 ? s.blockedServices?.find((b) => b.service === `${ns}/${other}`) : undefined;
    });
    expect(blocked.reason).toBe('DefaultPodLimitReached');
    expect(blocked.message).toContain('MAX_DEFAULT_PODS is 1');
    const cond = (await critStatus(k, crit))?.conditions?.find((c) => c.type === 'WithinDefaultPodLimits');
    expect(cond).toMatchObject({ status: 'False', reason: 'DefaultPodLimitReached' });
    expect((await critStatus(k, crit))?.conditions?.find((c) => c.type === 'Ready')).toMatchObject({
      status: 'False',
      reason: 'DefaultPodsBlocked',
    });
    await eventually('a DefaultPodLimitReached Warning on the held-back Service', async () =>
      (await events(k, ns)).some(
        (e) =>
          e.reason === 'DefaultPodLimitReached' && e.object === other && e.message.includes('MAX_DEFAULT_PODS is 1'),
      ),
    );
    // The limit holds while both stay lame: never a second default pod.
    await stays('at most one default pod', async () => (await defaultPods(k, ns)).length <= 1, 3_000);

    // The first Service recovers: its default pod goes, and the held-back one gets its own.
    await createRealPod(k, ns, `${served}-real`, { app: served ?? '' });
    await eventually(
      'the held-back Service served',
      async () => {
        const list = await defaultPods(k, ns);
        return list.length === 1 && list[0]?.metadata?.labels?.[SERVICE_LABEL] === other;
      },
      30_000,
    );
    await eventually('nothing blocked any more', async () => {
      const s = (await critStatus(k, crit)) as { blockedServices?: Blocked[] } | undefined;
      return s !== undefined && (s.blockedServices ?? []).length === 0;
    });
    expect((await critStatus(k, crit))?.conditions?.some((c) => c.type === 'WithinDefaultPodLimits')).toBe(false);
    expect(h.pipeline.procs.handler.exits).toEqual([]);
  });

  it('MAX_DEFAULT_PODS_PER_NAMESPACE=1: one default pod per namespace, whatever the other namespaces hold', async () => {
    const [a, b] = [await freshNamespace(k, 'blast-a'), await freshNamespace(k, 'blast-b')];
    await createTemplate(k, a);
    h.pipeline = await Pipeline.start({
      namespaces: [a, b],
      redisUrl: h.redis.url,
      templateNamespace: a,
      env: { MAX_DEFAULT_PODS_PER_NAMESPACE: '1' },
    });
    for (const name of ['one', 'two'])
      await createService(k, a, name, { labels: { tier: 'gold' }, selector: { app: name } });
    await createService(k, b, 'three', { labels: { tier: 'gold' }, selector: { app: 'three' } });
    const crit = `blast-${suffix()}`;
    h.crits.push(crit);
    await createCrit(k, crit, { matchLabels: [{ key: 'tier', value: 'gold' }] });

    await eventually(
      'one default pod in each namespace',
      async () => (await defaultPods(k, a)).length === 1 && (await defaultPods(k, b)).length === 1,
    );
    const blocked = await eventually('the second Service of the first namespace blocked', async () => {
      const s = (await critStatus(k, crit)) as { blockedServices?: Blocked[] } | undefined;
      return s?.blockedServices?.length === 1 ? s.blockedServices[0] : undefined;
    });
    expect(blocked.service.startsWith(`${a}/`)).toBe(true);
    expect(blocked.message).toContain(`namespace ${a}`);
    expect(blocked.message).toContain('MAX_DEFAULT_PODS_PER_NAMESPACE is 1');
    await stays(
      'still one default pod in the first namespace',
      async () => (await defaultPods(k, a)).length <= 1,
      2_000,
    );
  });
});
