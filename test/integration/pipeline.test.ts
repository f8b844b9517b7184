// Acceptance 1–4: the whole h.pipeline (three watchers, BullMQ on a real redis-server, the
// handler) as separate OS processes against the real kube-apiserver.
import { describe, expect, it } from 'vitest';
import { freshNamespace, kube, suffix } from '../support/kube.ts';
import {
  createCrit,
  createRealPod,
  createService,
  createTemplate,
  critStatus,
  defaultPods,
  deleteCrit,
  deletePod,
  events,
  pods,
} from '../support/objects.ts';
import { articleScenario, articleTemplate } from '../support/article.ts';
import { pipelineHarness } from '../support/harness.ts';
import { Pipeline } from '../support/pipeline.ts';
import { eventually, stays } from '../support/wait.ts';

const k = kube();
const h = pipelineHarness(k);

async function setup(prefix: string, env: Record<string, string> = {}): Promise<{ ns: string; crit: string }> {
  const ns = await freshNamespace(k, prefix);
  await createTemplate(k, ns);
  h.pipeline = await Pipeline.start({ namespaces: [ns], redisUrl: h.redis.url, templateNamespace: ns, env });
  const crit = `${prefix}-${suffix()}`;
  h.crits.push(crit);
  return { ns, crit };
}

const names = async (ns: string): Promise<string[]> =>
  (await defaultPods(k, ns)).map((p) => p.metadata?.name ?? '').sort();

describe("acceptance 1: the article's test (section 5.4)", () => {
  it('lame critical frontend → default pod selected by the Service; real nginx pod → default pod deleted', async () => {
    await articleTemplate(k);
    const ns = await freshNamespace(k, 'article');
    h.pipeline = await Pipeline.start({ namespaces: [ns], redisUrl: h.redis.url, templateNamespace: 'linux-mag' });
    h.crits.push('frontend');
    await articleScenario(k, ns);
  });
});

describe('acceptance 2: every way out of lameness and criticality', () => {
  it('last real pod deleted → default pod; CriticalService deleted → default pod gone', async () => {
    const { ns, crit } = await setup('lastpod');
    await createService(k, ns, 'web', { labels: { tier: 'gold' } });
    await createRealPod(k, ns, 'web-1', { role: 'web' });
    await createCrit(k, crit, { namespace: ns, matchLabels: [{ key: 'tier', value: 'gold' }] });
    await eventually('status sees the healthy Service', async () => (await critStatus(k, crit))?.coveredServices === 1);
    expect(await names(ns)).toEqual([]);

    await deletePod(k, ns, 'web-1');
    await eventually(
      'default pod after the last real pod went',
      async () => (await names(ns)).join() === 'service-watcher-web',
    );
    // Its log line tells where the failover's time went, stage by stage (ms), for a grep.
    const created = await eventually('its log line', async () =>
      h.pipeline?.logs('handler').find((l) => l.msg === 'default pod created' && l.pod === 'service-watcher-web'),
    );
    expect(Object.keys(created.stagesMs as object).sort()).toEqual([
      'create',
      'decide',
      'decision_wait',
      'queue',
      'reads',
    ]);

    await deleteCrit(k, crit);
    await eventually('default pod gone with its CriticalService', async () => (await names(ns)).length === 0);
  });

  it('Service deleted → default pod gone', async () => {
    const { ns, crit } = await setup('svcdel');
    await createService(k, ns, 'api', { labels: { tier: 'gold' } });
    await createCrit(k, crit, { namespace: ns, matchLabels: [{ key: 'tier', value: 'gold' }] });
    await eventually('default pod', async () => (await names(ns)).join() === 'service-watcher-api');
    await k.core.deleteNamespacedService({ namespace: ns, name: 'api' });
    await eventually('default pod gone with its Service', async () => (await names(ns)).length === 0);
  });

  it('Service relabelled out of the CriticalService → default pod gone', async () => {
    const { ns, crit } = await setup('relabel');
    await createService(k, ns, 'api', { labels: { tier: 'gold' } });
    await createCrit(k, crit, { namespace: ns, matchLabels: [{ key: 'tier', value: 'gold' }] });
    await eventually('default pod', async () => (await names(ns)).join() === 'service-watcher-api');
    await k.core.patchNamespacedService({
      namespace: ns,
      name: 'api',
      body: [{ op: 'replace', path: '/metadata/labels', value: { tier: 'bronze' } }],
    });
    await eventually('default pod gone once not critical', async () => (await names(ns)).length === 0);
  });

  it('selector changed → the decision follows the new selector', async () => {
    const { ns, crit } = await setup('selector');
    await createService(k, ns, 'api', { labels: { tier: 'gold' }, selector: { app: 'v1' } });
    await createRealPod(k, ns, 'v2-pod', { app: 'v2' });
    await createCrit(k, crit, { namespace: ns, matchLabels: [{ key: 'tier', value: 'gold' }] });
    const [first] = await eventually('default pod for selector app=v1', async () => {
      const d = await defaultPods(k, ns);
      return d.length ? d : undefined;
    });
    expect(first?.metadata?.labels?.app).toBe('v1');
    // Now the Service selects the running v2 pod: it is healthy.
    await k.core.patchNamespacedService({
      namespace: ns,
      name: 'api',
      body: [{ op: 'replace', path: '/spec/selector', value: { app: 'v2' } }],
    });
    await eventually('default pod gone: the new selector has a real pod', async () => (await names(ns)).length === 0);
    // And to a selector with no pod: a default pod carrying the new labels.
    await k.core.patchNamespacedService({
      namespace: ns,
      name: 'api',
      body: [{ op: 'replace', path: '/spec/selector', value: { app: 'v3' } }],
    });
    const [second] = await eventually('default pod for selector app=v3', async () => {
      const d = await defaultPods(k, ns);
      return d.length ? d : undefined;
    });
    expect(second?.metadata?.labels?.app).toBe('v3');
  });
});

describe('acceptance 3: nothing is created where nothing is due', () => {
  it('non-critical lame Service, ExternalName, no selector, Service outside NAMESPACES', async () => {
    const { ns, crit } = await setup('nothing');
    const outside = await freshNamespace(k, 'outside');
    await createService(k, ns, 'plain', { labels: { tier: 'none' } });
    await createService(k, ns, 'external', { labels: { tier: 'gold' }, type: 'ExternalName' });
    await createService(k, ns, 'headless', { labels: { tier: 'gold' }, selector: {} });
    await createService(k, outside, 'elsewhere', { labels: { tier: 'gold' } });
    await createService(k, ns, 'control', { labels: { tier: 'gold' } });
    await createCrit(k, crit, { matchLabels: [{ key: 'tier', value: 'gold' }] });
    // The control Service proves the h.pipeline is live while the others get nothing.
    await eventually(
      'default pod for the control Service',
      async () => (await names(ns)).join() === 'service-watcher-control',
    );
    await stays(
      'no other default pod',
      async () => (await names(ns)).join() === 'service-watcher-control' && (await pods(k, outside)).length === 0,
      3_000,
    );
  });
});

describe("acceptance 4: a user's pod is never touched", () => {
  it('a pod named service-watcher-frontend without the marks is neither deleted nor changed', async () => {
    const { ns, crit } = await setup('userpod');
    const mine = await createRealPod(k, ns, 'service-watcher-frontend', { app: 'mine' });
    await createService(k, ns, 'frontend', { labels: { tier: 'gold' } });
    await createCrit(k, crit, { namespace: ns, matchLabels: [{ key: 'tier', value: 'gold' }] });
    await eventually('a DefaultPodNameTaken warning', async () =>
      (await events(k, ns)).some((e) => e.reason === 'DefaultPodNameTaken'),
    );
    // Even when the Service is no longer critical (where critsvc would delete its own pod):
    await deleteCrit(k, crit);
    await stays(
      'the user pod untouched',
      async () => {
        const p = await k.core.readNamespacedPod({ namespace: ns, name: 'service-watcher-frontend' });
        return (
          p.metadata?.uid === mine.metadata?.uid &&
          p.metadata?.resourceVersion === mine.metadata?.resourceVersion &&
          !p.metadata?.deletionTimestamp
        );
      },
      3_000,
    );
  });

  it("a pod that copies only the annotation is not critsvc's either", async () => {
    const { ns, crit } = await setup('copycat');
    await createService(k, ns, 'frontend', { labels: { tier: 'gold' } });
    const fake = await createRealPod(
      k,
      ns,
      'look-alike',
      { role: 'frontend' },
      { annotations: { 'service-watcher': 'owned' } },
    );
    await createCrit(k, crit, { namespace: ns, matchLabels: [{ key: 'tier', value: 'gold' }] });
    await eventually('status computed', async () => (await critStatus(k, crit))?.coveredServices === 1);
    await stays(
      'the look-alike stays',
      async () =>
        (await k.core.readNamespacedPod({ namespace: ns, name: 'look-alike' })).metadata?.uid === fake.metadata?.uid,
      2_000,
    );
  });
});
