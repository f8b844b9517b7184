// Least Redis rights per process (issue 30, finding 5): a real redis-server with the users
// deploy/redis.yaml creates (passwords from deploy/make-secrets.sh) and each process's REDIS_URL
// from deploy/workers.yaml. Whoever takes a watcher can add jobs and publish, nothing else of
// Redis; the dashboard can read the queue and write nothing; the handler consumes; the pipeline
// works end to end with every process on its own user. (With the single password before, the
// dashboard's and the watchers' URLs could write, FLUSHALL and CONFIG: these tests fail on it.)
import { spawn, type ChildProcess } from 'node:child_process';
import { createConnection } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// Only what 086e939 had too: run on it (with this file and test/support/), these tests fail on an
// assertion (the single password lets a watcher read any key), not on an import.
import {
  createLogger,
  fastPathChannel,
  QueueProducer,
  redisOptions,
  type QueueJob,
} from '../../packages/shared/src/index.ts';
import { handlerMetrics } from '../../apps/handler/src/metrics/metrics.ts';
import { QueueConsumer } from '../../apps/handler/src/queue/queue-consumer.ts';
import { RedisIdentity } from '../../apps/handler/src/queue/redis-identity.ts';
import { deployRedis, type DeployRedis } from '../support/deploy-redis.ts';
import { pipelineHarness } from '../support/harness.ts';
import { freshNamespace, kube, suffix } from '../support/kube.ts';
import { createCrit, createService, createTemplate, defaultPods } from '../support/objects.ts';
import { Pipeline } from '../support/pipeline.ts';
import { TestRedis } from '../support/redis.ts';
import { redisPing } from '../../scripts/cluster/up.ts';
import { eventually } from '../support/wait.ts';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
// deploy/'s ConfigMap: the users' key patterns and channel name this queue.
const QUEUE = 'critsvc-events';
const k = kube();

let deploy: DeployRedis;
let redis: TestRedis;
const open: { close: () => Promise<unknown> | void }[] = [];
const hostPort = (r: TestRedis): string => `127.0.0.1:${r.port}`;
const urlOf = (deployment: string, r: TestRedis = redis): string => deploy.url(deployment, hostPort(r));
/** A plain connection as a process's user (as an attacker holding its password would have). */
function as(deployment: string, r: TestRedis = redis): Redis {
  const c = new Redis({ ...redisOptions(urlOf(deployment, r)), maxRetriesPerRequest: 1, retryStrategy: () => null });
  c.on('error', () => undefined);
  open.push({ close: () => c.disconnect() });
  return c;
}
function admin(r: TestRedis = redis): Redis {
  // (The single password of before, REDIS_PASSWORD, when run against that deploy/ to see these tests fail.)
  const s = deploy.secrets;
  const url = s.REDIS_ADMIN_PASSWORD
    ? `redis://critsvc-admin:${s.REDIS_ADMIN_PASSWORD}@${hostPort(r)}`
    : `redis://:${s.REDIS_PASSWORD ?? ''}@${hostPort(r)}`;
  const c = new Redis({ ...redisOptions(url), maxRetriesPerRequest: 1 });
  open.push({ close: () => c.disconnect() });
  return c;
}
/** What Redis refused since the last call (ACL LOG), then cleared: the real code paths must leave it empty. */
async function aclDenials(a: Redis): Promise<string[]> {
  const log = (await a.call('ACL', 'LOG')) as unknown[][];
  await a.call('ACL', 'LOG', 'RESET');
  return log.map((entry) => JSON.stringify(entry));
}

/** Redis refused it for want of rights (NOPERM; a command inside a script: "can't run this command" / "can't access"). */
async function refused(what: Promise<unknown>): Promise<void> {
  await expect(what).rejects.toThrow(/NOPERM|can't run this command|can't access/);
}

/** One inline command on a fresh connection that never logs in: Redis's first reply line. */
function rawReply(port: number, command: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = createConnection({ host: '127.0.0.1', port }, () => sock.write(`${command}\r\n`));
    sock.setTimeout(2_000, () => sock.destroy(new Error('no reply')));
    sock.once('data', (d) => {
      sock.destroy();
      resolve(d.toString().split('\r\n')[0] ?? '');
    });
    sock.once('error', reject);
  });
}

const job = (name: string): QueueJob =>
  ({
    type: 'ADDED',
    kind: 'Pod',
    object: { metadata: { name, namespace: 'acl', resourceVersion: '1' } },
    seenAt: Date.now(),
  }) as QueueJob;

beforeAll(async () => {
  deploy = deployRedis();
  redis = await TestRedis.start(deploy.args);
});
afterAll(async () => {
  for (const o of open.splice(0).reverse()) await o.close();
  await redis?.stop();
});

describe('Redis ACL users as deploy/ creates them', () => {
  it('no login without a user: the default user is off', async () => {
    expect(await redisPing(redis.port, /^-NOAUTH/)).toBe(true);
    // As `default`, with no password or with one of the Secret's: refused.
    expect(await rawReply(redis.port, 'AUTH default ""')).toMatch(/^-WRONGPASS/);
    expect(
      await rawReply(
        redis.port,
        `AUTH default ${deploy.secrets.REDIS_ADMIN_PASSWORD ?? deploy.secrets.REDIS_PASSWORD ?? ''}`,
      ),
    ).toMatch(/^-WRONGPASS/);
    expect(await rawReply(redis.port, 'GET x')).toMatch(/^-NOAUTH/);
  });

  it('(a) a watcher adds jobs and publishes on the fast path; it cannot read other keys, FLUSHALL, CONFIG, delete the queue or subscribe', async () => {
    const a = admin();
    await aclDenials(a);
    await a.set('critsvc:secret', 'x');
    const received: string[] = [];
    const sub = as('critsvc-handler');
    sub.on('message', (_c: string, m: string) => received.push(m));
    await sub.subscribe(fastPathChannel(QUEUE));
    for (const w of ['critsvc-watcher-services', 'critsvc-watcher-pods', 'critsvc-watcher-crds']) {
      let refusedFastPath: Error | undefined;
      const producer = new QueueProducer(QUEUE, urlOf(w), 1_000, { refused: (err) => (refusedFastPath = err) });
      open.push(producer);
      await producer.send([job(`from-${w}`)]);
      await producer.send([job(`bulk-1-${w}`), job(`bulk-2-${w}`)]);
      await eventually(`${w}'s fast-path message`, async () => received.some((m) => m.includes(`from-${w}`)), 5_000);
      expect(refusedFastPath).toBeUndefined();
    }
    expect(await a.llen(`bull:${QUEUE}:wait`)).toBe(9);
    expect(await aclDenials(a)).toEqual([]);

    const w = as('critsvc-watcher-pods');
    // It cannot take waiting jobs away: nothing that removes is granted.
    await refused(w.lrem(`bull:${QUEUE}:wait`, 0, '1'));
    await refused(w.ltrim(`bull:${QUEUE}:wait`, 0, 0));
    await refused(w.rpop(`bull:${QUEUE}:wait`));
    await refused(w.zrem(`bull:${QUEUE}:marker`, '0'));
    await refused(w.eval(`return redis.call('LTRIM', KEYS[1], 0, 0)`, 1, `bull:${QUEUE}:wait`));
    await refused(w.get('critsvc:secret'));
    await refused(w.call('KEYS', '*'));
    await refused(w.call('SCAN', '0'));
    await refused(w.flushall());
    await refused(w.flushdb());
    await refused(w.call('CONFIG', 'GET', 'requirepass'));
    await refused(w.call('CONFIG', 'SET', 'appendonly', 'no'));
    await refused(w.call('ACL', 'LIST'));
    await refused(w.call('SHUTDOWN'));
    await refused(w.del(`bull:${QUEUE}:wait`));
    await refused(w.unlink(`bull:${QUEUE}:wait`));
    await refused(w.eval(`return redis.call('DEL', KEYS[1])`, 1, `bull:${QUEUE}:wait`));
    // A script is checked command by command, keys it did not declare included.
    await refused(w.eval(`return redis.call('GET', 'critsvc:secret')`, 0));
    await refused(w.eval(`return redis.call('GET', KEYS[1])`, 1, 'critsvc:secret'));
    await refused(w.eval(`return redis.call('FLUSHALL')`, 0));
    await refused(w.subscribe(fastPathChannel(QUEUE)));
    await refused(w.publish('critsvc:other-queue:fast-path', '{}'));
    const q = new Queue(QUEUE, {
      connection: { ...redisOptions(urlOf('critsvc-watcher-crds')), maxRetriesPerRequest: 1 },
    });
    q.on('error', () => undefined);
    open.push(q);
    await refused(q.obliterate({ force: true }));
    expect(await a.llen(`bull:${QUEUE}:wait`)).toBe(9);
    expect(await a.get('critsvc:secret')).toBe('x');
    // What it still can (docs/security.md): write the queue's own keys as BullMQ's scripts do, so
    // obliterate's first step, pausing the queue (HSET of its meta hash), went through.
    expect(await a.hexists(`bull:${QUEUE}:meta`, 'paused')).toBe(1);
    await a.hdel(`bull:${QUEUE}:meta`, 'paused');
    await a.zadd(`bull:${QUEUE}:marker`, 0, '0');
  });

  it("(b) the dashboard reads the queue's jobs and payloads; every write is refused", async () => {
    const a = admin();
    const before = await a.llen(`bull:${QUEUE}:wait`);
    const q = new Queue(QUEUE, {
      connection: { ...redisOptions(urlOf('critsvc-dashboard')), maxRetriesPerRequest: 1 },
      skipMetasUpdate: true,
    });
    q.on('error', () => undefined);
    open.push(q);
    await aclDenials(a);
    const jobs = await q.getJobs(['waiting'], 0, 100);
    expect(jobs.map((j) => (j.data as { object: { metadata: { name: string } } }).object.metadata.name)).toContain(
      'from-critsvc-watcher-pods',
    );
    expect((await q.getJobCounts('waiting')).waiting).toBe(before);
    expect(await (await q.getJob(jobs[0]?.id ?? ''))?.getState()).toBe('waiting');
    expect(await q.isPaused()).toBe(false);
    await q.getMetrics('completed');
    await q.getJobLogs(jobs[0]?.id ?? '');
    expect(await aclDenials(a)).toEqual([]);

    const d = as('critsvc-dashboard');
    const key = (k2: string): string => `bull:${QUEUE}:${k2}`;
    await refused(d.xadd(key('events'), '*', 'event', 'forged'));
    await refused(d.lpush(key('wait'), '999'));
    await refused(d.hset(key('999'), 'name', 'forged', 'data', '{}'));
    await refused(d.set(key('x'), '1'));
    await refused(d.del(key('wait')));
    await refused(d.eval(`return redis.call('HSET', KEYS[1], 'data', '{}')`, 1, key('999')));
    await refused(d.eval(`return redis.call('LPUSH', KEYS[1], '999')`, 1, key('wait')));
    await refused(d.publish(fastPathChannel(QUEUE), JSON.stringify(job('forged'))));
    await refused(d.flushall());
    await refused(d.call('CONFIG', 'GET', '*'));
    await refused(q.add('forged', job('forged')));
    await refused(q.addBulk([{ name: 'forged', data: job('forged') }]));
    await refused(q.pause());
    await refused(q.obliterate({ force: true }));
    expect(await a.llen(key('wait'))).toBe(before);
    expect(await a.exists(key('999'))).toBe(0);
  });

  it("(b) the real dashboard process shows the queue with the dashboard's user", async () => {
    await aclDenials(admin());
    const child: ChildProcess = spawn(process.execPath, [join(root, 'apps/dashboard/src/main.ts')], {
      env: {
        PATH: process.env.PATH ?? '',
        REDIS_URL: urlOf('critsvc-dashboard'),
        QUEUE_NAME: QUEUE,
        DASHBOARD_PORT: '0',
        DASHBOARD_HOST: '127.0.0.1',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    open.push({ close: () => void child.kill('SIGTERM') });
    let out = '';
    child.stdout?.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr?.on('data', (b: Buffer) => (out += b.toString()));
    const port = await eventually(
      'dashboard port',
      async () => Number(/"port":(\d+)/.exec(out)?.[1]) || undefined,
      15_000,
    );
    const body = await eventually(
      'the queue listed',
      async () => {
        const res = await fetch(
          `http://127.0.0.1:${port}/api/queues?activeQueue=${QUEUE}&status=waiting&page=1&jobsPerPage=50`,
        );
        const text = await res.text();
        return res.ok && text.includes('from-critsvc-watcher-crds') ? text : undefined;
      },
      10_000,
    );
    expect(body).toContain(`Pod ADDED acl/from-critsvc-watcher-crds`);
    for (const path of [
      '/api/redis/stats',
      `/api/queues/${QUEUE}/1`,
      `/api/queues/${QUEUE}/1/logs`,
      `/api/queues?activeQueue=${QUEUE}&status=completed&page=1&jobsPerPage=10`,
    ]) {
      expect((await fetch(`http://127.0.0.1:${port}${path}`)).status, path).toBe(200);
    }
    expect(out).not.toMatch(/NOPERM/);
    // bull-board asks for the workers (CLIENT LIST), which the dashboard's user may not: that alone is refused.
    expect((await aclDenials(admin())).filter((d) => !d.includes('"client|list"'))).toEqual([]);
  });

  it("(c) the handler consumes the jobs, follows the fast path, checks Redis's identity and may free it", async () => {
    const a = admin();
    await aclDenials(a);
    const taken: string[] = [];
    const metrics = handlerMetrics();
    const errors: Error[] = [];
    const consumer = new QueueConsumer({
      name: QUEUE,
      redis: redisOptions(urlOf('critsvc-handler')),
      concurrency: 4,
      checkMs: 200,
      process: (data) => {
        const name = (data as { object: { metadata: { name: string } } }).object.metadata.name;
        taken.push(name);
        // Fails once: BullMQ's retry path (moveToFinished → moveToDelayed with backoff, then taken again).
        if (name === 'retried' && taken.filter((n) => n === name).length === 1) throw new Error('first attempt fails');
      },
      onError: (err) => errors.push(err),
      onFailed: (_id, err) => errors.push(err),
      log: createLogger('silent', 'handler'),
      workerRestarts: metrics.workerRestarts,
      fastPath: () => 'applied',
      fastPathMessages: metrics.fastPath,
    });
    open.push({ close: () => consumer.closeWorker() });
    consumer.start();
    await eventually('the waiting jobs taken', async () => taken.length >= 9, 15_000);
    expect(await consumer.waiting()).toBe(0);
    expect(await a.zcard(`bull:${QUEUE}:completed`)).toBeGreaterThanOrEqual(9);
    // A fresh job: both its message and its job reach the handler.
    const producer = new QueueProducer(QUEUE, urlOf('critsvc-watcher-services'), 0, {
      refused: (err) => errors.push(err),
    });
    open.push(producer);
    await producer.send([job('late')]);
    await eventually('the late job taken', async () => taken.includes('late'), 10_000);
    await producer.send([job('retried'), job('other')]);
    await eventually('the failed job retried', async () => taken.filter((n) => n === 'retried').length === 2, 10_000);
    // Its message reached the handler's subscription (applied, or skipped while the worker had jobs).
    await eventually(
      'its fast-path message received',
      async () => (await metrics.fastPath.get()).values.reduce((n, v) => n + v.value, 0) >= 1,
      5_000,
    );

    const identity = new RedisIdentity(redisOptions(urlOf('critsvc-handler')), QUEUE);
    open.push({ close: () => identity.close() });
    expect(await identity.check()).toBeUndefined();
    expect(await identity.fullness()).toBe(0);
    await a.flushall(); // the queue's data lost: the handler must notice it (its marker key gone)
    expect(await identity.check()).toBe('redis-data-lost');
    expect(errors.map((e) => e.message)).toEqual(['first attempt fails']);
    expect(await aclDenials(a)).toEqual([]);
    // What redis-full.ts does to a full Redis: plain DELs of the queue's keys. Nothing else.
    const h = as('critsvc-handler');
    await a.set(`bull:${QUEUE}:completed-x`, '1');
    expect(await h.del(`bull:${QUEUE}:completed-x`)).toBe(1);
    await a.set('critsvc:secret', 'x');
    await refused(h.get('critsvc:secret'));
    await refused(h.flushall());
    await refused(h.call('CONFIG', 'GET', '*'));
  });
});

describe('(d) the pipeline with every process on its own Redis user', () => {
  // A redis-server of its own, with deploy/'s users (the queue above has the tests' fake jobs).
  const hp = pipelineHarness(k, 15, () => deploy.args);

  it('a lame critical Service gets its default pod', async () => {
    const own = hp.redis;
    const ns = await freshNamespace(k, 'acl');
    await createTemplate(k, ns);
    const redisUrls = {
      'watcher-services': urlOf('critsvc-watcher-services', own),
      'watcher-pods': urlOf('critsvc-watcher-pods', own),
      'watcher-crds': urlOf('critsvc-watcher-crds', own),
      handler: urlOf('critsvc-handler', own),
    };
    hp.pipeline = await Pipeline.start({
      namespaces: [ns],
      redisUrl: 'redis://unused@127.0.0.1:1' /* each process has its own */,
      redisUrls,
      queue: QUEUE,
      templateNamespace: ns,
    });
    const crit = `acl-${suffix()}`;
    hp.crits.push(crit);
    await createService(k, ns, 'shop', { labels: { tier: 'gold' } });
    await createCrit(k, crit, { namespace: ns, matchLabels: [{ key: 'tier', value: 'gold' }] });
    await eventually(
      'the default pod',
      async () => (await defaultPods(k, ns)).map((p) => p.metadata?.name).join() === 'service-watcher-shop',
      20_000,
    );
    const a = admin(own);
    expect(Number(await a.zcard(`bull:${QUEUE}:completed`))).toBeGreaterThan(0);
    const denied = (await a.call('ACL', 'LOG')) as unknown[];
    expect(denied).toEqual([]);
    for (const p of ['watcher-services', 'watcher-pods', 'watcher-crds', 'handler'] as const) {
      expect(
        hp.pipeline
          .logs(p)
          .filter((l) => /NOPERM|refused the fast-path|cannot follow the fast-path/.test(JSON.stringify(l))),
        p,
      ).toEqual([]);
    }
  });
});
