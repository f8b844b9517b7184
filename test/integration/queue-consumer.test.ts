// The handler's queue worker and inspector against a real redis-server, with their connections
// ended for good, as ioredis can leave them after a Sentinel failover (status 'end', no error,
// no reconnect): in sentinel.test, 67 jobs then waited for 20 s and the worker was never
// replaced, because the inspector that counts them had ended too.
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  createLogger,
  fastPathChannel,
  QueueProducer,
  redisOptions,
  type QueueJob,
} from '../../packages/shared/src/index.ts';
import { handlerMetrics } from '../../apps/handler/src/metrics/metrics.ts';
import { QueueConsumer, type FastPathResult } from '../../apps/handler/src/queue/queue-consumer.ts';
import { suffix } from '../support/kube.ts';
import { TestRedis } from '../support/redis.ts';
import { eventually } from '../support/wait.ts';

let redis: TestRedis;
const open: { close: () => Promise<void> }[] = [];

beforeAll(async () => {
  redis = await TestRedis.start();
});
afterEach(async () => {
  for (const o of open.splice(0)) await o.close();
});
afterAll(async () => {
  await redis?.stop();
});

const job = (name: string): QueueJob =>
  ({
    type: 'ADDED',
    kind: 'Pod',
    object: { metadata: { name, namespace: 'q', resourceVersion: '1' } },
    seenAt: Date.now(),
  }) as QueueJob;

/** BullMQ's own ioredis clients, as a test reaches them to end them. */
async function clientsOf(holder: unknown): Promise<Redis[]> {
  const backend = (holder as { backend: { client: Promise<Redis>; blockingClient?: Promise<Redis> } }).backend;
  return [await backend.client, ...(backend.blockingClient ? [await backend.blockingClient] : [])];
}

function setUp(): {
  consumer: QueueConsumer;
  producer: QueueProducer;
  taken: string[];
  restarts: () => Promise<number | undefined>;
} {
  const name = `consumer-${suffix()}`;
  const taken: string[] = [];
  const metrics = handlerMetrics();
  const restarts = async (): Promise<number | undefined> => (await metrics.workerRestarts.get()).values[0]?.value;
  const consumer = new QueueConsumer({
    name,
    redis: redisOptions(redis.url),
    concurrency: 4,
    checkMs: 200,
    stalledAfterMs: 1_000,
    process: (data) => {
      taken.push((data as QueueJob & { object: { metadata: { name: string } } }).object.metadata.name);
    },
    onError: () => undefined,
    onFailed: () => undefined,
    log: createLogger('silent', 'handler'),
    workerRestarts: metrics.workerRestarts,
  });
  const producer = new QueueProducer(name, redis.url);
  open.push(producer, consumer);
  return { consumer, producer, taken, restarts };
}

describe('the queue consumer', () => {
  it('every connection of the worker and the inspector ended: the inspector is replaced, then the stuck worker, and the waiting jobs are taken', async () => {
    const { consumer, producer, taken, restarts } = setUp();
    consumer.start();
    await producer.send([job('before')]);
    await eventually('the first job taken', async () => taken.includes('before'), 10_000);

    // The inspector's connection and the worker's own ones (BullMQ reconnects only the blocking one by itself).
    const [inspector, main, ...blocking] = [
      ...(await clientsOf(consumer.inspector)),
      ...(await clientsOf((consumer as unknown as { worker: unknown }).worker)),
    ];
    for (const c of [inspector!, main!, ...blocking]) c.disconnect();
    await eventually('the connections ended', async () => inspector!.status === 'end' && main!.status === 'end', 5_000);
    await producer.send([job('after-1'), job('after-2')]);
    await eventually(
      'the jobs sent after taken',
      async () => taken.includes('after-1') && taken.includes('after-2'),
      15_000,
    );
    expect(await restarts()).toBe(1);
    expect(await consumer.waiting()).toBe(0);
  });

  it('renew (a failover noticed): a new worker and inspector at once, and jobs are still taken', async () => {
    const { consumer, producer, taken, restarts } = setUp();
    consumer.start();
    const before = consumer.inspector;
    consumer.renew();
    expect(consumer.inspector).not.toBe(before);
    expect(await restarts()).toBe(1);
    await producer.send([job('renewed')]);
    await eventually('a job taken by the new worker', async () => taken.includes('renewed'), 10_000);
  });
});

const nameOf = (data: unknown): string =>
  (data as { object?: { metadata?: { name?: string } } }).object?.metadata?.name ?? '?';

/**
 * A consumer following the fast path: `seen` lists what reached it, in order (`fast:<name>` for a
 * fast-path message, `job:<name>` for a job); a job named in `hold` is held until released.
 */
function fastPathSetUp(
  url = redis.url,
  concurrency = 4,
): {
  consumer: QueueConsumer;
  producer: QueueProducer;
  name: string;
  seen: string[];
  result: (r: string) => Promise<number>;
  release: () => void;
  refused: Error[];
} {
  const name = `fast-${suffix()}`;
  const seen: string[] = [];
  const metrics = handlerMetrics();
  let release = (): void => undefined;
  const held = new Promise<void>((r) => {
    release = r;
  });
  const consumer = new QueueConsumer({
    name,
    redis: redisOptions(url),
    concurrency,
    checkMs: 200,
    process: (data) => {
      seen.push(`job:${nameOf(data)}`);
      return nameOf(data).startsWith('hold') ? held : undefined;
    },
    fastPath: (data): FastPathResult => {
      seen.push(`fast:${nameOf(data)}`);
      return 'applied';
    },
    fastPathMessages: metrics.fastPath,
    onError: () => undefined,
    onFailed: () => undefined,
    log: createLogger('silent', 'handler'),
    workerRestarts: metrics.workerRestarts,
  });
  const refused: Error[] = [];
  const producer = new QueueProducer(name, url, 0, { refused: (err) => refused.push(err) });
  // A worker closes once its jobs are done: a held one first.
  open.push({ close: async () => release() }, producer, consumer);
  const result = async (r: string): Promise<number> =>
    (await metrics.fastPath.get()).values.find((v) => v.labels.result === r)?.value ?? 0;
  return { consumer, producer, name, seen, result, release: () => release(), refused };
}

/** Until the worker has found the queue empty (BullMQ's 'drained'): only then are fast-path messages taken. */
async function caughtUp(consumer: QueueConsumer): Promise<void> {
  await eventually(
    'the worker found the queue empty',
    async () => (consumer as unknown as { caughtUp: boolean }).caughtUp,
    10_000,
  );
}

describe('the fast path', () => {
  it('a lone watch event reaches a worker with nothing to take through the channel first, then as its job', async () => {
    const { consumer, producer, seen, result } = fastPathSetUp();
    consumer.start();
    await caughtUp(consumer);
    await producer.send([job('lone')]);
    await eventually('the job taken', async () => seen.includes('job:lone'), 10_000);
    expect(seen).toEqual(['fast:lone', 'job:lone']);
    expect(await result('applied')).toBe(1);
  });

  it("a batch, a list's job and a list's marker are not published (they count only in order, as jobs), nor anything with FAST_PATH=false", async () => {
    const { producer, name } = fastPathSetUp();
    const sub = new Redis(redis.url);
    open.push({
      close: async () => {
        sub.disconnect();
      },
    });
    const messages: string[] = [];
    sub.on('message', (_c: string, m: string) => messages.push(m));
    await sub.subscribe(fastPathChannel(name));
    await producer.send([job('batch-1'), job('batch-2')]);
    await producer.send([{ ...job('listed'), list: 'abcdefgh' } as QueueJob]);
    await producer.send([
      {
        type: 'SYNCED',
        kind: 'Pod',
        scope: 'q',
        resourceVersion: '5',
        list: 'abcdefgh',
        count: 1,
        seenAt: Date.now(),
      } as QueueJob,
    ]);
    const withoutFastPath = new QueueProducer(name, redis.url);
    open.push(withoutFastPath);
    await withoutFastPath.send([job('without')]);
    await producer.send([job('last')]);
    await eventually(
      'the last message',
      async () => messages.length > 0 && messages.some((m) => m.includes('"last"')),
      5_000,
    );
    expect(messages.map((m) => nameOf(JSON.parse(m)))).toEqual(['last']);
  });

  it('while jobs wait in the queue, a message is skipped: its job brings it, in order', async () => {
    // One slot, held by the first job: the second waits in Redis.
    const { consumer, producer, seen, result, release } = fastPathSetUp(redis.url, 1);
    consumer.start();
    await caughtUp(consumer);
    await producer.send([job('hold-1'), job('waits')]); // a batch: no message
    await eventually('the held job taken', async () => seen.includes('job:hold-1'), 10_000);
    await producer.send([job('next')]);
    await eventually('the message skipped', async () => (await result('skipped')) === 1, 5_000);
    release();
    await eventually('the next job taken', async () => seen.includes('job:next'), 10_000);
    expect(seen).toEqual(['job:hold-1', 'job:waits', 'job:next']);
    expect(await result('applied')).toBe(0);
  });

  it('Redis refuses the channel (an ACL without it): the producer reports it once, every job still arrives', async () => {
    const admin = new Redis(redis.url);
    open.push({
      close: async () => {
        admin.disconnect();
      },
    });
    // Keys and commands allowed, no channel: Redis 7's default for a new ACL user.
    await admin.call('ACL', 'SETUSER', 'nochannel', 'on', '>secret', '~*', 'resetchannels', '+@all');
    const { consumer, producer, seen, refused } = fastPathSetUp(
      redis.url.replace('redis://', 'redis://nochannel:secret@'),
    );
    consumer.start();
    await caughtUp(consumer);
    await producer.send([job('refused-1')]);
    await producer.send([job('refused-2')]);
    await eventually(
      'both jobs taken',
      async () => seen.includes('job:refused-1') && seen.includes('job:refused-2'),
      10_000,
    );
    expect(seen.filter((s) => s.startsWith('fast:'))).toEqual([]);
    expect(refused.map((e) => e.message.split(' ')[0])).toEqual(['NOPERM']);
  });
});
