// The outbox's own rules, with a plain function as the sender (the Redis path itself is
// covered by the integration tests that stop and restart a real redis-server).
import { describe, expect, it } from 'vitest';
import { Backoff } from './backoff.ts';
import { createLogger } from './logger.ts';
import { Outbox } from './outbox.ts';
import type { QueueJob } from './types.ts';

const log = createLogger('silent', 'test');
const ev = (name: string, rv: string, type: 'ADDED' | 'MODIFIED' | 'DELETED' = 'MODIFIED'): QueueJob =>
  ({ kind: 'Pod', type, object: { metadata: { name, namespace: 'ns', resourceVersion: rv } }, seenAt: 0 });
const until = async (cond: () => boolean): Promise<void> => {
  for (let i = 0; i < 500 && !cond(); i++) await new Promise((r) => setTimeout(r, 5));
};

describe('Outbox', () => {
  it('keeps only the newest pending event of each object', async () => {
    const sent: QueueJob[] = [];
    let open = false;
    const box = new Outbox({ log, maxObjects: 100, onOverflow: () => undefined, backoff: new Backoff(1, 5),
      send: async (jobs) => {
        if (!open) throw new Error('redis down');
        sent.push(...jobs);
      } });
    box.start();
    box.push(ev('a', '1', 'ADDED'));
    box.push(ev('b', '2', 'ADDED'));
    box.push(ev('a', '3'));
    box.push(ev('a', '4', 'DELETED'));
    expect(box.size).toBe(2);
    open = true;
    await until(() => box.size === 0);
    await box.close();
    expect(sent.map((j) => (j.type === 'SYNCED' ? '' : `${j.object.metadata?.name}@${j.object.metadata?.resourceVersion}`))).toEqual(['b@2', 'a@4']);
  });

  it('retries until the queue takes the events, losing none', async () => {
    let failures = 0;
    const sent: QueueJob[] = [];
    const box = new Outbox({ log, maxObjects: 100, onOverflow: () => undefined, backoff: new Backoff(1, 5),
      send: async (jobs) => {
        if (failures++ < 5) throw new Error('ECONNREFUSED');
        sent.push(...jobs);
      } });
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
    const box = new Outbox({ log, maxObjects: 100, onOverflow: () => undefined,
      send: async (jobs) => {
        sent.push(...jobs);
        if (sent.length === 1) await new Promise<void>((r) => (release = r));
      } });
    box.start();
    box.push(ev('a', '1'));
    await until(() => sent.length === 1);
    box.push(ev('a', '2'));
    release();
    await until(() => box.size === 0);
    await box.close();
    expect(sent.map((j) => (j.type === 'SYNCED' ? '' : j.object.metadata?.resourceVersion))).toEqual(['1', '2']);
  });

  it('past its bound it drops what it holds and asks for a re-list', () => {
    let relists = 0;
    const box = new Outbox({ log, maxObjects: 3, onOverflow: () => relists++, send: async () => { throw new Error('down'); } });
    for (let i = 0; i < 4; i++) box.push(ev(`p${i}`, String(i)));
    expect(relists).toBe(1);
    expect(box.size).toBe(0);
    expect(box.overflows).toBe(1);
  });
});
