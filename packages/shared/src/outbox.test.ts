// The outbox's own rules, with a plain function as the sender (the Redis path itself is
// covered by the integration tests that stop and restart a real redis-server).
import { describe, expect, it } from 'vitest';
import { Backoff } from './backoff.ts';
import { createLogger } from './logger.ts';
import { Outbox, outboxBound } from './outbox.ts';
import type { QueueJob } from './types.ts';

const log = createLogger('silent', 'test');
const ev = (
  name: string,
  rv: string,
  type: 'ADDED' | 'MODIFIED' | 'DELETED' = 'MODIFIED',
  namespace = 'ns',
): QueueJob => ({ kind: 'Pod', type, object: { metadata: { name, namespace, resourceVersion: rv } }, seenAt: 0 });
const synced = (rv: string): QueueJob => ({
  kind: 'Pod',
  type: 'SYNCED',
  scope: 'ns',
  resourceVersion: rv,
  keys: [],
  seenAt: 0,
});
const label = (j: QueueJob): string =>
  j.type === 'SYNCED'
    ? `synced@${j.resourceVersion}`
    : `${j.object.metadata?.name}@${j.object.metadata?.resourceVersion}`;
const until = async (cond: () => boolean): Promise<void> => {
  for (let i = 0; i < 500 && !cond(); i++) await new Promise((r) => setTimeout(r, 5));
};

/** A queue that can be switched off and on, recording what it took, batch by batch. */
function queue(up = true) {
  const q = {
    up,
    attempts: 0,
    batches: [] as QueueJob[][],
    get sent(): QueueJob[] {
      return q.batches.flat();
    },
    send: async (jobs: QueueJob[]): Promise<void> => {
      q.attempts++;
      if (!q.up) throw new Error('ECONNREFUSED');
      q.batches.push(jobs);
    },
  };
  return q;
}

function outbox(q: ReturnType<typeof queue>, maxObjects: number, batchSize?: number) {
  const calls = { relist: 0 };
  const box = new Outbox({
    log,
    maxObjects,
    send: q.send,
    relist: () => calls.relist++,
    backoff: new Backoff(1, 5),
    ...(batchSize ? { batchSize } : {}),
  });
  return { box, calls };
}

describe('Outbox', () => {
  it.each<[string, QueueJob[], string[]]>([
    [
      'the newest event of an object supersedes the older ones in their place',
      [ev('a', '1', 'ADDED'), ev('b', '2', 'ADDED'), ev('a', '3'), ev('a', '4', 'DELETED')],
      ['a@4', 'b@2'],
    ],
    // Behind it, a's listed ADDED superseded, the handler would take a for gone at the marker.
    [
      "an object's event after its list's SYNCED is delivered before that marker",
      [ev('a', '1', 'ADDED'), synced('1'), ev('a', '2')],
      ['a@2', 'synced@1'],
    ],
    [
      'objects in two namespaces with one name are two objects',
      [ev('a', '1'), ev('a', '2', 'MODIFIED', 'other')],
      ['a@1', 'a@2'],
    ],
    ['SYNCED markers of one scope coalesce too', [synced('5'), ev('a', '6'), synced('7')], ['a@6', 'synced@7']],
  ])('coalescing while Redis is down: %s', async (_, pushed, delivered) => {
    const q = queue(false);
    const { box } = outbox(q, 100);
    box.start();
    for (const j of pushed) box.push(j);
    await until(() => q.attempts > 0);
    expect(box.size).toBe(delivered.length);
    q.up = true;
    await until(() => box.size === 0);
    await box.close();
    expect(q.sent.map(label)).toEqual(delivered);
  });

  it("a newer event superseding a list's ADDED carries that list (the handler counts a list's jobs)", async () => {
    const q = queue(false);
    const { box } = outbox(q, 100);
    box.start();
    box.push({ ...ev('a', '1', 'ADDED'), list: 'l1' } as QueueJob);
    box.push({ ...ev('b', '2', 'ADDED'), list: 'l1' } as QueueJob);
    box.push(ev('a', '3', 'DELETED'));
    box.push({ ...ev('b', '4', 'ADDED'), list: 'l2' } as QueueJob); // another list's keeps its own
    await until(() => q.attempts > 0);
    q.up = true;
    await until(() => box.size === 0);
    await box.close();
    expect(
      q.sent.map((j) => `${label(j)} ${j.type === 'SYNCED' ? '' : j.type}/${j.type === 'SYNCED' ? '' : j.list}`),
    ).toEqual(['a@3 DELETED/l1', 'b@4 ADDED/l2']);
  });

  it('retries until the queue takes the events, losing none', async () => {
    let failures = 0;
    const sent: QueueJob[] = [];
    const box = new Outbox({
      log,
      maxObjects: 100,
      relist: () => undefined,
      backoff: new Backoff(1, 5),
      send: async (jobs) => {
        if (failures++ < 5) throw new Error('ECONNREFUSED');
        sent.push(...jobs);
      },
    });
    box.start();
    for (let i = 0; i < 10; i++) box.push(ev(`p${i}`, String(i)));
    await until(() => box.size === 0);
    await box.close();
    expect(sent).toHaveLength(10);
    expect(box.failing).toBe(false);
  });

  it('an event pushed while a batch is in flight is not lost when that batch succeeds', async () => {
    const sent: QueueJob[] = [];
    let release: () => void = () => undefined;
    const box = new Outbox({
      log,
      maxObjects: 100,
      relist: () => undefined,
      send: async (jobs) => {
        sent.push(...jobs);
        if (sent.length === 1) await new Promise<void>((r) => (release = r));
      },
    });
    box.start();
    box.push(ev('a', '1'));
    await until(() => sent.length === 1);
    box.push(ev('a', '2'));
    release();
    await until(() => box.size === 0);
    await box.close();
    expect(sent.map(label)).toEqual(['a@1', 'a@2']);
  });

  it.each([
    [1, 7],
    [3, 7],
    [500, 7],
    [4, 8],
  ])('sends batches of at most %i, oldest first (%i events)', async (batchSize, n) => {
    const q = queue();
    const { box } = outbox(q, 100, batchSize);
    for (let i = 0; i < n; i++) box.push(ev(`p${i}`, String(i)));
    box.start();
    await until(() => box.size === 0);
    await box.close();
    expect(q.batches.map((b) => b.length)).toEqual(
      Array.from({ length: Math.ceil(n / batchSize) }, (_, i) => Math.min(batchSize, n - i * batchSize)),
    );
    expect(q.sent.map(label)).toEqual(Array.from({ length: n }, (_, i) => `p${i}@${i}`));
  });

  it('a list larger than the bound with Redis healthy just drains: nothing dropped, no re-list', async () => {
    const q = queue();
    const { box, calls } = outbox(q, 10, 4);
    box.start();
    for (let i = 0; i < 50; i++) box.push(ev(`p${i}`, String(i), 'ADDED'));
    box.push(synced('50'));
    await until(() => box.size === 0);
    await box.close();
    expect(q.sent).toHaveLength(51);
    expect(box.overflows).toBe(0);
    expect(calls.relist).toBe(0);
  });

  it.each<[string, number, number | undefined, number]>([
    ['more than half the bound', 10, undefined, 5],
    ['more than listRoom events, however large the bound', 1_000, 4, 4],
  ])(
    'room() holds a list while %s are pending, and lets it go once sends drain it',
    async (_, maxObjects, listRoom, most) => {
      const q = queue(false);
      const box = new Outbox({
        log,
        maxObjects,
        send: q.send,
        relist: () => undefined,
        batchSize: 2,
        backoff: new Backoff(1, 5),
        ...(listRoom ? { listRoom } : {}),
      });
      box.start();
      for (let i = 0; i < 8; i++) box.push(ev(`p${i}`, String(i), 'ADDED'));
      let roomy = false;
      const waiting = box.room().then(() => {
        roomy = true;
      });
      await new Promise((r) => setTimeout(r, 120));
      expect(roomy).toBe(false);
      q.up = true;
      await waiting;
      expect(box.size).toBeLessThanOrEqual(most);
      await box.close();
    },
  );

  it('past its bound while Redis is down it drops what it holds, and asks for no re-list while Redis stays down', async () => {
    const q = queue(false);
    const { box, calls } = outbox(q, 3);
    box.start();
    box.push(ev('p0', '0'));
    await until(() => q.attempts > 0 && box.failing);
    for (let i = 1; i < 10; i++) box.push(ev(`p${i}`, String(i)));
    expect(box.overflows).toBeGreaterThan(0);
    expect(box.size).toBeLessThanOrEqual(3);
    const attempts = q.attempts;
    await until(() => q.attempts > attempts + 5); // Redis still down: retried, and still no re-list
    for (let i = 10; i < 30; i++) box.push(ev(`p${i}`, String(i)));
    await until(() => q.attempts > attempts + 10);
    expect(calls.relist).toBe(0);
    expect(box.size).toBeLessThanOrEqual(3);
    await box.close();
  });

  it('after an overflow, re-lists exactly once, when a send succeeds again', async () => {
    const q = queue(false);
    const { box, calls } = outbox(q, 3);
    box.start();
    box.push(ev('p0', '0'));
    await until(() => box.failing);
    for (let i = 1; i < 20; i++) box.push(ev(`p${i}`, String(i))); // several overflows
    expect(calls.relist).toBe(0);
    q.up = true;
    await until(() => calls.relist > 0 && box.size === 0);
    await new Promise((r) => setTimeout(r, 50));
    expect(calls.relist).toBe(1);
    // The re-list that follows is delivered whole, and asks for nothing more.
    for (let i = 0; i < 20; i++) box.push(ev(`p${i}`, `1${i}`, 'ADDED'));
    await until(() => box.size === 0);
    await box.close();
    expect(calls.relist).toBe(1);
    expect(q.sent.filter((j) => label(j).includes('@1')).length).toBeGreaterThanOrEqual(20);
  });

  it('a list pushed before Redis was seen failing overflows when the send fails, then re-lists once Redis is back', async () => {
    const q = queue(false);
    const { box, calls } = outbox(q, 5);
    for (let i = 0; i < 20; i++) box.push(ev(`p${i}`, String(i), 'ADDED'));
    expect(box.overflows).toBe(0); // not known to be failing yet
    box.start();
    await until(() => box.overflows > 0);
    expect(box.size).toBeLessThanOrEqual(5);
    expect(calls.relist).toBe(0);
    q.up = true;
    await until(() => calls.relist === 1 && box.size === 0);
    await box.close();
    expect(calls.relist).toBe(1);
  });
});

describe('outboxBound', () => {
  const MiB = 2 ** 20;
  it.each<[string, number, number, number]>([
    ['the image (--max-old-space-size=96: a 102 MiB heap limit)', 0, 102 * MiB, 38_912],
    ['a 4 GiB heap', 0, 4096 * MiB, 4_128_768],
    ['a heap too small for the reserve keeps a floor', 0, 48 * MiB, 1_000],
    ['a configured bound that fits is kept', 20_000, 102 * MiB, 20_000],
  ])('%s', (_, configured, heapLimit, expected) => {
    const b = outboxBound(configured, heapLimit);
    expect(b.maxObjects).toBe(expected);
    expect(b.warning).toBeUndefined();
  });

  it('a configured bound the heap cannot hold is kept, with a warning naming the setting and the heap', () => {
    const b = outboxBound(200_000, 102 * MiB);
    expect(b.maxObjects).toBe(200_000);
    expect(b.warning).toContain('OUTBOX_MAX_OBJECTS=200000');
    expect(b.warning).toContain('38912');
    expect(b.warning).toContain('102 MiB');
  });
});
