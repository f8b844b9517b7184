// The handler's queue worker and inspector against a real redis-server, with their connections
// ended for good, as ioredis can leave them after a Sentinel failover (status 'end', no error,
// no reconnect): in sentinel.test, 67 jobs then waited for 20 s and the worker was never
// replaced, because the inspector that counts them had ended too.
import type { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createLogger, QueueProducer, redisOptions, type QueueJob } from '../../packages/shared/src/index.ts';
import { handlerMetrics } from '../../apps/handler/src/metrics.ts';
import { QueueConsumer } from '../../apps/handler/src/queue-consumer.ts';
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

const job = (name: string): QueueJob => ({ type: 'ADDED', kind: 'Pod', object: { metadata: { name, namespace: 'q', resourceVersion: '1' } }, seenAt: Date.now() }) as QueueJob;

/** BullMQ's own ioredis clients, as a test reaches them to end them. */
async function clientsOf(holder: unknown): Promise<Redis[]> {
  const backend = (holder as { backend: { client: Promise<Redis>; blockingClient?: Promise<Redis> } }).backend;
  return [await backend.client, ...(backend.blockingClient ? [await backend.blockingClient] : [])];
}

function setUp(): { consumer: QueueConsumer; producer: QueueProducer; taken: string[]; restarts: () => Promise<number | undefined> } {
  const name = `consumer-${suffix()}`;
  const taken: string[] = [];
  const metrics = handlerMetrics();
  const restarts = async (): Promise<number | undefined> => (await metrics.workerRestarts.get()).values[0]?.value;
  const consumer = new QueueConsumer({
    name, redis: redisOptions(redis.url), concurrency: 4, checkMs: 200, stalledAfterMs: 1_000,
    process: (data) => { taken.push((data as QueueJob & { object: { metadata: { name: string } } }).object.metadata.name); },
    onError: () => undefined, onFailed: () => undefined, log: createLogger('silent', 'handler'), workerRestarts: metrics.workerRestarts,
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
    const [inspector, main, ...blocking] = [...(await clientsOf(consumer.inspector)), ...(await clientsOf((consumer as unknown as { worker: unknown }).worker))];
    for (const c of [inspector!, main!, ...blocking]) c.disconnect();
    await eventually('the connections ended', async () => inspector!.status === 'end' && main!.status === 'end', 5_000);
    await producer.send([job('after-1'), job('after-2')]);
    await eventually('the jobs sent after taken', async () => taken.includes('after-1') && taken.includes('after-2'), 15_000);
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
