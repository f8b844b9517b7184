// Property: whatever the API server did, the Store converges to its final state once every
// event was delivered, even when events were coalesced exactly as the watchers' outbox does
// (one pending event per object, the newest taking the older one's place; a SYNCED marker moves
// to the end of the line) and sent in batches at arbitrary moments, with watcher re-lists
// (ADDED… marked with the list's id, then SYNCED) in between; and a list's SYNCED never removes
// an object that list returned.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { KubeObject, QueueJob } from '@critsvc/shared/model';
import { Store } from './store.ts';

type Op = { op: 'create' | 'update' | 'delete'; name: string } | { op: 'flush'; count: number } | { op: 'relist' };

const NAMES = ['a', 'b', 'c'];

/** The API server: objects by name, one global revision. */
class ApiServer {
  rv = 1;
  uids = 0;
  readonly objects = new Map<string, { uid: string; rv: string; gen: number }>();

  apply(op: 'create' | 'update' | 'delete', name: string): QueueJob | undefined {
    const held = this.objects.get(name);
    const rv = String(++this.rv);
    if (op === 'create' && !held) {
      const o = { uid: `uid-${++this.uids}`, rv, gen: 0 };
      this.objects.set(name, o);
      return event('ADDED', name, o);
    }
    if (op === 'update' && held) {
      const o = { ...held, rv, gen: held.gen + 1 };
      this.objects.set(name, o);
      return event('MODIFIED', name, o);
    }
    if (op === 'delete' && held) {
      this.objects.delete(name);
      return event('DELETED', name, { ...held, rv });
    }
    this.rv--;
    return undefined;
  }
}

function podObject(name: string, o: { uid: string; rv: string; gen: number }): KubeObject {
  return {
    metadata: { name, namespace: 'ns', uid: o.uid, resourceVersion: o.rv, labels: { gen: String(o.gen) } },
    status: { phase: 'Running' },
  };
}

function event(
  type: 'ADDED' | 'MODIFIED' | 'DELETED',
  name: string,
  o: { uid: string; rv: string; gen: number },
): QueueJob {
  return { kind: 'Pod', type, object: podObject(name, o), seenAt: 0 };
}

/** Mirrors Outbox.push: one pending job per key, a newer one in the older one's place (with its list); a SYNCED moves to the end of the line. */
class CoalescingOutbox {
  readonly pending = new Map<string, QueueJob>();

  push(job: QueueJob): void {
    const key =
      job.type === 'SYNCED' ? `synced:${job.kind}/${job.scope}` : `${job.kind}/ns/${job.object.metadata?.name ?? ''}`;
    const older = this.pending.get(key);
    if (job.type === 'SYNCED') this.pending.delete(key);
    else if (older && older.type !== 'SYNCED' && older.list !== undefined && job.list === undefined)
      job = { ...job, list: older.list };
    this.pending.set(key, job);
  }

  take(count: number): QueueJob[] {
    const batch = [...this.pending.entries()].slice(0, count);
    for (const [key] of batch) this.pending.delete(key);
    return batch.map(([, job]) => job);
  }
}

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      op: fc.constantFrom('create' as const, 'update' as const, 'delete' as const),
      name: fc.constantFrom(...NAMES),
    }),
  },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('flush' as const), count: fc.integer({ min: 1, max: 5 }) }) },
  { weight: 1, arbitrary: fc.constant({ op: 'relist' as const }) },
);

/** The objects a list's SYNCED removed although that list returned them (must stay empty). */
function run(ops: Op[]): { store: Store; api: ApiServer; wronglyRemoved: string[] } {
  const api = new ApiServer();
  const outbox = new CoalescingOutbox();
  const store = new Store();
  const returned = new Map<string, Set<string>>();
  const wronglyRemoved: string[] = [];
  const apply = (job: QueueJob): void => {
    const before = new Set([...store.podsIn('ns')].map((p) => p.name));
    store.apply(job);
    if (job.type !== 'SYNCED') return;
    const after = new Set([...store.podsIn('ns')].map((p) => p.name));
    for (const name of before)
      if (!after.has(name) && returned.get(job.list ?? '')?.has(name)) wronglyRemoved.push(name);
  };
  let lists = 0;
  for (const step of ops) {
    if (step.op === 'flush') for (const job of outbox.take(step.count)) apply(job);
    else if (step.op === 'relist') {
      const list = `list-${++lists}`;
      returned.set(list, new Set(api.objects.keys()));
      for (const [name, o] of api.objects) outbox.push({ ...event('ADDED', name, o), list } as QueueJob);
      outbox.push({
        kind: 'Pod',
        type: 'SYNCED',
        scope: 'ns',
        resourceVersion: String(api.rv),
        list,
        count: api.objects.size,
        seenAt: 0,
      });
    } else {
      const job = api.apply(step.op, step.name);
      if (job) outbox.push(job);
    }
  }
  for (const job of outbox.take(Infinity)) apply(job);
  return { store, api, wronglyRemoved };
}

function snapshot(entries: Iterable<[string, string, string]>): string[] {
  return [...entries].map((e) => e.join(' ')).sort();
}

describe('Store under coalesced events (property)', () => {
  it("converges to the API server's final state", () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 60 }), (ops) => {
        const { store, api, wronglyRemoved } = run(ops);
        expect(wronglyRemoved).toEqual([]);
        const held = snapshot(
          [...store.podsIn('ns')].map((p) => [p.name, p.uid, p.labels.gen ?? ''] as [string, string, string]),
        );
        const truth = snapshot(
          [...api.objects].map(([name, o]) => [name, o.uid, String(o.gen)] as [string, string, string]),
        );
        expect(held).toEqual(truth);
      }),
      { numRuns: 2_000 },
    );
  });

  it('DELETED(A) ADDED(B) DELETED(B), coalesced to DELETED(B), removes A', () => {
    const { store, api } = run([
      { op: 'create', name: 'a' },
      { op: 'flush', count: 5 },
      { op: 'delete', name: 'a' },
      { op: 'create', name: 'a' },
      { op: 'delete', name: 'a' },
    ]);
    expect(api.objects.size).toBe(0);
    expect([...store.podsIn('ns')]).toEqual([]);
  });
});
