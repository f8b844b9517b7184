// Acceptance 7: a missing PodTemplate is reported (log, status, Event) and, once created, the
// default pod follows without any restart.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { freshNamespace, kube, suffix } from '../support/kube.ts';
import {
  createCrit,
  createService,
  createTemplate,
  critStatus,
  defaultPods,
  deleteCrit,
  events,
} from '../support/objects.ts';
import { ensureCrd, Pipeline } from '../support/pipeline.ts';
import { TestRedis } from '../support/redis.ts';
import { eventually, stays } from '../support/wait.ts';

const k = kube();
let redis: TestRedis;
let pipeline: Pipeline | undefined;
const crit = `tmpl-${suffix()}`;

beforeAll(async () => {
  await ensureCrd(k);
  redis = await TestRedis.start();
});
afterEach(async () => {
  await pipeline?.stop();
  await deleteCrit(k, crit);
});
afterAll(async () => {
  await redis.stop();
});

describe('acceptance 7: missing PodTemplate', () => {
  it('says so in the log, the status and an Event, then recovers by itself', async () => {
    const ns = await freshNamespace(k, 'tmpl');
    pipeline = await Pipeline.start({ namespaces: [ns], redisUrl: redis.url, templateNamespace: ns });
    await createService(k, ns, 'shop', { labels: { tier: 'gold' } });
    await createCrit(k, crit, { namespace: ns, matchLabels: [{ key: 'tier', value: 'gold' }] });

    const line = await eventually('an error log line naming the template', async () =>
      pipeline?.logs('handler').find((l) => l.level === 'error' && l.reason === 'PodTemplateUnusable'),
    );
    expect(line.detail).toContain(`PodTemplate ${ns}/critical-service-pod-template not found`);
    const cond = await eventually('TemplateAvailable=False', async () =>
      (await critStatus(k, crit))?.conditions?.find((c) => c.type === 'TemplateAvailable' && c.status === 'False'),
    );
    expect(cond.message).toContain('not found');
    expect((await critStatus(k, crit))?.conditions?.find((c) => c.type === 'Ready')?.status).toBe('False');
    await eventually('a PodTemplateUnusable Warning on the Service', async () =>
      (await events(k, ns)).some((e) => e.reason === 'PodTemplateUnusable' && e.object === 'shop'),
    );
    // Retries are bounded: not one per millisecond.
    const attempts =
      pipeline?.logs('handler').filter((l) => l.msg === 'default pod not created yet; retrying').length ?? 0;
    expect(attempts).toBeGreaterThan(0);
    expect(attempts).toBeLessThan(20);

    await createTemplate(k, ns);
    await eventually('the default pod, without restart', async () => (await defaultPods(k, ns)).length === 1, 20_000);
    await eventually(
      'the condition cleared',
      async () => !(await critStatus(k, crit))?.conditions?.some((c) => c.type === 'TemplateAvailable'),
    );
    expect(pipeline?.procs.handler.exits).toEqual([]);
  });
});

describe('the PodTemplate is watched, not read through a cache (issue 12)', () => {
  it('a change counts from the next default pod on, and after a deletion the next lame Service gets no pod from it but a Warning', async () => {
    const ns = await freshNamespace(k, 'tmplw');
    const name = 'critical-service-pod-template';
    const put = async (image: string): Promise<void> => {
      const body = {
        metadata: { name },
        template: { spec: { terminationGracePeriodSeconds: 1, containers: [{ name: 'page', image }] } },
      };
      const old = await k.core.readNamespacedPodTemplate({ namespace: ns, name }).catch(() => undefined);
      if (old)
        await k.core.replaceNamespacedPodTemplate({
          namespace: ns,
          name,
          body: { ...body, metadata: { ...body.metadata, resourceVersion: old.metadata?.resourceVersion } },
        });
      else await k.core.createNamespacedPodTemplate({ namespace: ns, body });
    };
    const podOf = async (service: string) =>
      (await defaultPods(k, ns)).find((p) => p.metadata?.labels?.['critsvc.mycrd.com/service'] === service);
    await put('example.org/page:v1');
    pipeline = await Pipeline.start({ namespaces: [ns], redisUrl: redis.url, templateNamespace: ns });
    const p = pipeline;
    // The handler's watch saw the template change (its log line): what the test waits for before the next step.
    const seen = (): number =>
      p.logs('handler').filter((l) => l.msg === 'PodTemplate changed' && l.template === `${ns}/${name}`).length;
    await createCrit(k, crit, { namespace: ns, matchLabels: [{ key: 'tier', value: 'gold' }] });
    await createService(k, ns, 'one', { labels: { tier: 'gold' } });
    expect((await eventually("one's default pod", async () => podOf('one'))).spec?.containers[0]?.image).toBe(
      'example.org/page:v1',
    );

    let n = seen();
    await put('example.org/page:v2');
    await eventually('the handler seeing the change', async () => seen() > n);
    await createService(k, ns, 'two', { labels: { tier: 'gold' } });
    expect((await eventually("two's default pod", async () => podOf('two'))).spec?.containers[0]?.image).toBe(
      'example.org/page:v2',
    );

    n = seen();
    await k.core.deleteNamespacedPodTemplate({ namespace: ns, name });
    await eventually('the handler seeing the deletion', async () => seen() > n);
    await createService(k, ns, 'three', { labels: { tier: 'gold' } });
    await eventually('a PodTemplateUnusable Warning on three', async () =>
      (await events(k, ns)).some(
        (e) => e.reason === 'PodTemplateUnusable' && e.object === 'three' && e.message.includes('not found'),
      ),
    );
    await stays('three without a default pod', async () => (await podOf('three')) === undefined, 3_000);
    expect(pipeline.procs.handler.exits).toEqual([]);
  });
});
