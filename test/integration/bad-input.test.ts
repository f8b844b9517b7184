// Bad input and hostile conditions: each gets a clear error or status, no crash loop, nothing
// lost. Against the real API server and real redis-servers.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ApiextensionsV1Api, type V1CustomResourceDefinition } from '@kubernetes/client-node';
import { Redis } from 'ioredis';
import { afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { freshNamespace, kube, suffix } from '../support/kube.ts';
import {
  createCrit,
  createRealPod,
  createService,
  createTemplate,
  critStatus,
  defaultPods,
  deleteCrit,
  GROUP,
} from '../support/objects.ts';
import { ensureCrd, Pipeline, PROCESSES } from '../support/pipeline.ts';
import { TestRedis } from '../support/redis.ts';
import { eventually } from '../support/wait.ts';
import { freePort } from '../../scripts/cluster/up.ts';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const k = kube();
let pipeline: Pipeline | undefined;
const redises: TestRedis[] = [];
const crits: string[] = [];

beforeAll(async () => {
  await ensureCrd(k);
});
afterEach(async (ctx) => {
  if (ctx.task.result?.state === 'fail' && pipeline) console.error(pipeline.tail());
  await pipeline?.stop();
  pipeline = undefined;
  for (const r of redises.splice(0)) await r.stop();
  for (const c of crits.splice(0)) await deleteCrit(k, c);
});

async function start(
  prefix: string,
  redisArgs: string[] = [],
  redisUrl?: (r: TestRedis) => string,
  env: Record<string, string> = {},
): Promise<{ ns: string; crit: string; redis: TestRedis }> {
  const redis = await TestRedis.start(redisArgs);
  redises.push(redis);
  const ns = await freshNamespace(k, prefix);
  await createTemplate(k, ns);
  pipeline = await Pipeline.start({
    namespaces: [ns],
    redisUrl: redisUrl ? redisUrl(redis) : redis.url,
    templateNamespace: ns,
    env,
  });
  const crit = `${prefix}-${suffix()}`;
  crits.push(crit);
  return { ns, crit, redis };
}

const noCrash = (): void => {
  for (const p of PROCESSES) expect(pipeline?.procs[p].exits, p).toEqual([]);
};

describe('kubeconfig', () => {
  it.each([
    ['a missing file', join(tmpdir(), 'no-such-kubeconfig'), 'cannot load the kubeconfig'],
    [
      'garbage',
      (() => {
        const f = join(tmpdir(), `garbage-${suffix()}.kubeconfig`);
        writeFileSync(f, '{{{ this is: not [ yaml');
        return f;
      })(),
      'cannot load the kubeconfig',
    ],
    [
      'no current context',
      (() => {
        const f = join(tmpdir(), `empty-${suffix()}.kubeconfig`);
        writeFileSync(f, 'apiVersion: v1\nkind: Config\nclusters: []\ncontexts: []\nusers: []\n');
        return f;
      })(),
      'no current cluster',
    ],
  ])('%s: the process exits 1 with one readable line', (_what, file, message) => {
    const res = spawnSync(process.execPath, [join(root, 'apps/watcher-pods/src/main.ts')], {
      env: { PATH: process.env.PATH ?? '', KUBECONFIG: file, HTTP_PORT: '0' },
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(res.status).toBe(1);
    const lines = res.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(message);
  });
});

describe('CriticalServices that make no sense', () => {
  it('an unknown (unwatched) namespace is reported in status; the others keep working', async () => {
    const { ns, crit } = await start('unknownns');
    await createService(k, ns, 'web', { labels: { tier: 'gold' } });
    await createCrit(k, crit, { namespace: 'no-such-namespace', matchLabels: [{ key: 'tier', value: 'gold' }] });
    const status = await eventually('NamespaceWatched=False', async () => {
      const s = await critStatus(k, crit);
      return s?.conditions?.some((c) => c.type === 'NamespaceWatched' && c.status === 'False') ? s : undefined;
    });
    expect(status.conditions?.find((c) => c.type === 'Ready')?.status).toBe('False');
    expect((await defaultPods(k, ns)).length).toBe(0);
    const good = `${crit}-ok`;
    crits.push(good);
    await createCrit(k, good, { namespace: ns, matchLabels: [{ key: 'tier', value: 'gold' }] });
    await eventually('the sound CriticalService still acts', async () => (await defaultPods(k, ns)).length === 1);
    noCrash();
  });

  it('the schema rejects empty matchLabels and items without key or value', async () => {
    for (const spec of [{ matchLabels: [] }, { matchLabels: [{ key: 'a' }] }, { matchLabels: [{ value: 'b' }] }, {}]) {
      await expect(
        k.custom.createClusterCustomObject({
          ...GROUP,
          body: { apiVersion: 'mycrd.com/v1', kind: 'CriticalService', metadata: { name: `bad-${suffix()}` }, spec },
        }),
      ).rejects.toMatchObject({ code: 422 });
    }
  });

  it("the API server itself refuses a key listed twice in matchLabels (the CRD's CEL rule), naming the field", async () => {
    for (const matchLabels of [
      [
        { key: 'tier', value: 'gold' },
        { key: 'tier', value: 'silver' },
      ],
      [
        { key: 'tier', value: 'gold' },
        { key: 'app', value: 'web' },
        { key: 'tier', value: 'gold' },
      ],
    ]) {
      const refused = await k.custom
        .createClusterCustomObject({
          ...GROUP,
          body: {
            apiVersion: 'mycrd.com/v1',
            kind: 'CriticalService',
            metadata: { name: `dup-${suffix()}` },
            spec: { matchLabels },
          },
        })
        .then(
          () => undefined,
          (err: unknown) => err as { code?: number; body?: string },
        );
      expect(refused?.code).toBe(422);
      expect(refused?.body).toContain('spec.matchLabels');
      expect(refused?.body).toContain('each key may appear once in matchLabels');
    }
    // One key per item, however many items: accepted.
    const name = `dup-ok-${suffix()}`;
    await k.custom.createClusterCustomObject({
      ...GROUP,
      body: {
        apiVersion: 'mycrd.com/v1',
        kind: 'CriticalService',
        metadata: { name },
        spec: {
          matchLabels: [
            { key: 'tier', value: 'gold' },
            { key: 'app', value: 'web' },
          ],
        },
      },
    });
    await k.custom.deleteClusterCustomObject({ ...GROUP, name });
  });

  it('one stored before the schema existed (empty matchLabels) is reported, not fatal', async () => {
    const { ns, crit } = await start('malformed');
    await createService(k, ns, 'web', { labels: { tier: 'gold' } });
    // Store a malformed object the way an older, laxer CRD would have let it in.
    const ext = k.kc.makeApiClient(ApiextensionsV1Api);
    const strict = await ext.readCustomResourceDefinition({ name: 'criticalservices.mycrd.com' });
    const lax: V1CustomResourceDefinition = JSON.parse(JSON.stringify(strict)) as V1CustomResourceDefinition;
    const v1 = lax.spec.versions[0];
    if (v1?.schema) v1.schema.openAPIV3Schema = { type: 'object', x_kubernetes_preserve_unknown_fields: true };
    await ext.replaceCustomResourceDefinition({ name: lax.metadata?.name ?? '', body: lax });
    try {
      await eventually('the lax schema to apply', async () => {
        try {
          await k.custom.createClusterCustomObject({
            ...GROUP,
            body: {
              apiVersion: 'mycrd.com/v1',
              kind: 'CriticalService',
              metadata: { name: crit },
              spec: { matchLabels: [] },
            },
          });
          return true;
        } catch {
          return false;
        }
      });
    } finally {
      await ensureCrd(k); // back to the strict schema
    }
    const status = await eventually('Valid=False', async () => {
      const s = await critStatus(k, crit);
      return s?.conditions?.some((c) => c.type === 'Valid' && c.status === 'False') ? s : undefined;
    });
    expect(status.conditions?.find((c) => c.type === 'Valid')?.message).toContain('matchLabels');
    expect(pipeline?.logs('handler').some((l) => l.msg.startsWith('CriticalService makes no sense'))).toBe(true);
    expect((await defaultPods(k, ns)).length).toBe(0); // it covers nothing
    noCrash();
  });
});

describe('names and labels at the limits', () => {
  it('a 63-character Service name gets a valid, shortened default pod name', async () => {
    const { ns, crit } = await start('longname');
    const name = `s${'x'.repeat(61)}1`;
    expect(name).toHaveLength(63);
    await createService(k, ns, name, { labels: { tier: 'gold' } });
    await createCrit(k, crit, { namespace: ns, matchLabels: [{ key: 'tier', value: 'gold' }] });
    const [pod] = await eventually('default pod', async () => {
      const d = await defaultPods(k, ns);
      return d.length ? d : undefined;
    });
    const podName = pod?.metadata?.name ?? '';
    expect(podName.length).toBeLessThanOrEqual(63);
    expect(podName.startsWith('service-watcher-s')).toBe(true);
    expect(pod?.metadata?.labels?.['critsvc.mycrd.com/service']).toBe(name);
    await createRealPod(k, ns, 'real', { role: name });
    await eventually('removed once healthy', async () => (await defaultPods(k, ns)).length === 0);
  });

  it('a Service and pods with 200 labels', async () => {
    const { ns, crit } = await start('labels');
    const many = Object.fromEntries(
      Array.from({ length: 200 }, (_, i) => [`example.com/label-${i}`, `value-${i}-${'v'.repeat(40)}`]),
    );
    await createService(k, ns, 'web', { labels: { ...many, tier: 'gold' }, selector: { ...many } });
    await createCrit(k, crit, {
      namespace: ns,
      matchLabels: [
        { key: 'tier', value: 'gold' },
        { key: 'example.com/label-199', value: many['example.com/label-199'] ?? '' },
      ],
    });
    await eventually('default pod carrying the 200-label selector', async () => {
      const [p] = await defaultPods(k, ns);
      return p && Object.keys(p.metadata?.labels ?? {}).length >= 200;
    });
    await createRealPod(k, ns, 'real', many);
    await eventually('removed once healthy', async () => (await defaultPods(k, ns)).length === 0);
    noCrash();
  });
});

describe('the PodTemplate in the wrong namespace', () => {
  it('is reported as not found where it is expected', async () => {
    const { ns, crit } = await start('wrongns');
    await k.core.deleteNamespacedPodTemplate({ namespace: ns, name: 'critical-service-pod-template' });
    const elsewhere = await freshNamespace(k, 'elsewhere');
    await createTemplate(k, elsewhere);
    await createService(k, ns, 'web', { labels: { tier: 'gold' } });
    await createCrit(k, crit, { namespace: ns, matchLabels: [{ key: 'tier', value: 'gold' }] });
    const cond = await eventually('TemplateAvailable=False', async () =>
      (await critStatus(k, crit))?.conditions?.find((c) => c.type === 'TemplateAvailable'),
    );
    expect(cond.message).toContain(`PodTemplate ${ns}/critical-service-pod-template not found`);
    noCrash();
  });
});

describe('Redis', () => {
  it('with a password in REDIS_URL works, and no password or token is ever logged', async () => {
    const password = `pw-${suffix()}${suffix()}`;
    const { ns, crit } = await start(
      'redispw',
      ['--requirepass', password],
      (r) => `redis://:${password}@127.0.0.1:${r.port}`,
    );
    await createService(k, ns, 'web', { labels: { tier: 'gold' } });
    await createCrit(k, crit, { namespace: ns, matchLabels: [{ key: 'tier', value: 'gold' }] });
    await eventually('default pod', async () => (await defaultPods(k, ns)).length === 1);
    const token = /token: (\S+)/.exec(readFileSync(inject('kubeconfig'), 'utf8'))?.[1] ?? 'no-token-found';
    for (const p of PROCESSES) {
      const text = pipeline?.procs[p].raw.join('\n') ?? '';
      expect(text, p).not.toContain(password);
      expect(text, p).not.toContain(token);
    }
    expect(pipeline?.logs('handler').find((l) => l.msg === 'starting')?.redis).toContain('***');
  });

  it('over TLS (rediss://) with a password', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'critsvc-redis-tls-'));
    const ssl = (args: string[]): void => {
      const res = spawnSync('openssl', args, { cwd: dir, encoding: 'utf8' });
      if (res.status !== 0) throw new Error(res.stderr);
    };
    ssl([
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '1',
      '-subj',
      '/CN=test-ca',
      '-keyout',
      'ca.key',
      '-out',
      'ca.crt',
    ]);
    ssl(['req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=redis', '-keyout', 'redis.key', '-out', 'redis.csr']);
    writeFileSync(join(dir, 'san.ext'), 'subjectAltName=IP:127.0.0.1\n');
    ssl([
      'x509',
      '-req',
      '-in',
      'redis.csr',
      '-CA',
      'ca.crt',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-days',
      '1',
      '-extfile',
      'san.ext',
      '-out',
      'redis.crt',
    ]);
    const tlsPort = await freePort();
    const { ns, crit } = await start(
      'redistls',
      [
        '--tls-port',
        String(tlsPort),
        '--tls-cert-file',
        join(dir, 'redis.crt'),
        '--tls-key-file',
        join(dir, 'redis.key'),
        '--tls-ca-cert-file',
        join(dir, 'ca.crt'),
        '--tls-auth-clients',
        'no',
        '--requirepass',
        'tls-secret',
      ],
      () => `rediss://:tls-secret@127.0.0.1:${tlsPort}`,
      { NODE_EXTRA_CA_CERTS: join(dir, 'ca.crt') },
    );
    await createService(k, ns, 'web', { labels: { tier: 'gold' } });
    await createCrit(k, crit, { namespace: ns, matchLabels: [{ key: 'tier', value: 'gold' }] });
    await eventually('default pod through a TLS queue', async () => (await defaultPods(k, ns)).length === 1);
    expect(pipeline?.logs('handler').find((l) => l.msg === 'starting')?.redis).toMatch(/^rediss:\/\/:\*\*\*@/);
    noCrash();
  });

  it('a wrong password: processes say so and keep retrying, no crash loop', async () => {
    await start('redisauth', ['--requirepass', 'right'], (r) => `redis://:wrong@127.0.0.1:${r.port}`);
    await eventually('watchers report the queue unreachable', async () =>
      pipeline?.logs('watcher-services').some((l) => l.msg.startsWith('cannot reach the queue')),
    );
    noCrash();
  });

  it('full (maxmemory reached, noeviction): jobs wait in the watchers and arrive once there is room; lone events still reach the handler on the fast path', async () => {
    const { ns, crit, redis } = await start('redisfull', ['--maxmemory-policy', 'noeviction']);
    const admin = new Redis(redis.url);
    try {
      // Ballast, then a limit well under what is used: every write is refused with OOM, steadily.
      for (let i = 0; i < 64; i++) await admin.set(`ballast:${i}`, 'x'.repeat(64 * 1024));
      await admin.config('SET', 'maxmemory', '1mb');
      await expect(admin.set('probe', 'y')).rejects.toThrow(/OOM/);
      await createService(k, ns, 'web', { labels: { tier: 'gold' } });
      await createCrit(k, crit, { namespace: ns, matchLabels: [{ key: 'tier', value: 'gold' }] });
      await eventually('watchers keep the events', async () =>
        pipeline?.logs('watcher-services').some((l) => l.msg.startsWith('cannot reach the queue')),
      );
      // PUBLISH takes no memory: the Service's and the CriticalService's events, each sent alone,
      // reach the handler on the fast path, and the lame critical Service is served meanwhile.
      await eventually(
        'the default pod while Redis is full',
        async () => (await defaultPods(k, ns)).length === 1,
        30_000,
      );
      const serviceJobs = async (): Promise<number> =>
        (await pipeline!.metrics())
          .split('\n')
          .filter((l) => l.startsWith('critsvc_events_processed_total{kind="Service",type="ADDED"'))
          .reduce((n, l) => n + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
      expect(await serviceJobs()).toBe(0);
      await admin.config('SET', 'maxmemory', '0');
      await eventually('the jobs once Redis has room', async () => (await serviceJobs()) >= 1, 45_000);
      expect((await defaultPods(k, ns)).length).toBe(1);
      noCrash();
    } finally {
      admin.disconnect();
    }
  });
});
