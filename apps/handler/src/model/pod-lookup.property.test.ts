import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { KubeObject, QueueJob } from '@critsvc/shared/model';
import { listLookup } from './pod-lookup.ts';
import { selectorMatches } from './rules.ts';
import { Store } from './store.ts';

const LABELS = ['app', 'tier', 'critsvc.mycrd.com/service'];
const VALUES = ['a', 'b'];
const labelsArb = fc.dictionary(fc.constantFrom(...LABELS), fc.constantFrom(...VALUES), { maxKeys: 3 });
const opArb = fc.record({
  type: fc.constantFrom('ADDED', 'MODIFIED', 'DELETED') as fc.Arbitrary<'ADDED' | 'MODIFIED' | 'DELETED'>,
  ns: fc.constantFrom('n1', 'n2'),
  name: fc.constantFrom('p1', 'p2', 'p3', 'p4'),
  labels: labelsArb,
});

const names = (pods: Iterable<{ namespace: string; name: string }>): string[] =>
  [...pods].map((p) => `${p.namespace}/${p.name}`).sort();

function sameAnswers(store: Store, ns: string, selectors: Record<string, string>[]): void {
  const index = store.podLookup(ns);
  const walk = listLookup(store.podsIn(ns));
  const selected = (
    pods: Iterable<{ namespace: string; name: string; labels: Record<string, string> }>,
    sel: Record<string, string>,
  ): string[] => names([...pods].filter((p) => selectorMatches(sel, p.labels)));
  for (const sel of selectors.filter((s) => Object.keys(s).length > 0))
    expect(selected(index.candidates(sel), sel)).toEqual(selected(walk.candidates(sel), sel));
  for (const k of LABELS)
    for (const v of VALUES) expect(names(index.withLabel(k, v))).toEqual(names(walk.withLabel(k, v)));
  for (const n of ['p1', 'p2', 'p3', 'p4']) expect(index.named(n)).toEqual(walk.named(n));
}

describe("the Store's pod lookup", () => {
  it('answers as walking the namespace would, whatever the adds, relabels and deletes', () => {
    fc.assert(
      fc.property(
        fc.array(opArb, { maxLength: 40 }),
        fc.array(labelsArb, { minLength: 1, maxLength: 4 }),
        (ops, selectors) => {
          const store = new Store();
          let rv = 1;
          for (const op of ops) {
            const object: KubeObject = {
              metadata: {
                name: op.name,
                namespace: op.ns,
                uid: `${op.ns}-${op.name}`,
                resourceVersion: String(++rv),
                labels: op.labels,
              },
              status: { phase: 'Running' },
            };
            store.apply({ kind: 'Pod', type: op.type, object, seenAt: 0 } as QueueJob);
            for (const ns of ['n1', 'n2']) sameAnswers(store, ns, selectors);
          }
        },
      ),
      { numRuns: 500 },
    );
  });
});
