import { describe, expect, it } from 'vitest';
import type { KubeObject, QueueJob } from '@critsvc/shared/model';
import { pod } from '../../../../test/support/model-fixtures.ts';
import { samePodForDecisions } from './same-pod.ts';
import { Store } from './store.ts';
import type { PodInfo } from './types.ts';

const podObj = (
  name: string,
  rv: string,
  labels: Record<string, string> = { role: 'frontend' },
  uid = `u-${name}`,
): KubeObject => ({
  metadata: { name, namespace: 'ns', uid, resourceVersion: rv, labels },
  status: { phase: 'Running' },
});
const ev = (type: 'ADDED' | 'MODIFIED' | 'DELETED', object: KubeObject): QueueJob => ({
  kind: 'Pod',
  type,
  object,
  seenAt: 0,
});

describe('Store', () => {
  it('podsAsOf: the newest pod version taken in a namespace (events, deletions, lists), for live reads not older than the state', () => {
    const s = new Store();
    expect(s.podsAsOf('ns')).toBeUndefined();
    s.loadList('Pod', '', '5', []);
    expect(s.podsAsOf('ns')).toBe('5'); // a list of every namespace covers this one
    s.apply(ev('ADDED', podObj('a', '10')));
    s.apply(ev('MODIFIED', podObj('b', '8')));
    expect(s.podsAsOf('ns')).toBe('10');
    s.apply(ev('DELETED', podObj('a', '12')));
    expect(s.podsAsOf('ns')).toBe('12');
    expect(s.podsAsOf('other')).toBe('5');
  });

  it("podsListedLive: the API server's version replaces one a forged job brought from the future", () => {
    const s = new Store();
    s.apply(ev('MODIFIED', podObj('a', '999999999999')));
    expect(s.podsAsOf('ns')).toBe('999999999999');
    s.podsListedLive('ns', '40');
    expect(s.podsAsOf('ns')).toBe('40');
    s.apply(ev('MODIFIED', podObj('b', '41')));
    expect(s.podsAsOf('ns')).toBe('41');
  });

  it('ignores an event older than what it holds', () => {
    const s = new Store();
    s.apply(ev('ADDED', podObj('a', '10', { role: 'new' })));
    expect(s.apply(ev('MODIFIED', podObj('a', '9', { role: 'old' }))).outcome).toBe('stale');
    expect((s.get('Pod', 'ns/a') as PodInfo | undefined)?.labels).toEqual({ role: 'new' });
  });

  it('a late ADDED cannot resurrect a deleted pod', () => {
    const s = new Store();
    s.apply(ev('ADDED', podObj('a', '10')));
    s.apply(ev('DELETED', podObj('a', '12')));
    expect(s.apply(ev('MODIFIED', podObj('a', '11'))).outcome).toBe('stale');
    expect(s.get('Pod', 'ns/a')).toBeUndefined();
  });

  it('a DELETED of an older incarnation leaves the new one', () => {
    const s = new Store();
    s.apply(ev('ADDED', podObj('a', '20', {}, 'new-uid')));
    expect(s.apply(ev('DELETED', podObj('a', '15', {}, 'old-uid'))).outcome).toBe('stale');
    expect(s.get('Pod', 'ns/a')?.uid).toBe('new-uid');
  });

  it('events older than a list it took are stale for objects the list lacked', () => {
    const s = new Store();
    s.loadList('Pod', '', '50', [podObj('kept', '40')]);
    expect(s.apply(ev('ADDED', podObj('gone', '45'))).outcome).toBe('stale');
    expect(s.apply(ev('ADDED', podObj('new', '51'))).outcome).toBe('changed');
  });

  it('a SYNCED marker from the queue claims gone what its list did not name (deleted during a watch gap), not what is newer: the API server confirms before it goes', () => {
    const s = new Store();
    s.apply(ev('ADDED', podObj('stays', '10')));
    s.apply(ev('ADDED', podObj('unchanged', '12')));
    s.apply(ev('ADDED', podObj('vanished', '11')));
    s.apply(ev('ADDED', podObj('listed-before', '13')));
    s.apply(ev('ADDED', podObj('after-list', '31')));
    s.apply(
      ev('ADDED', {
        ...podObj('elsewhere', '5'),
        metadata: { ...podObj('elsewhere', '5').metadata, namespace: 'other' },
      }),
    );
    // An older list named listed-before; this one names stays (newer) and unchanged (the version held: stale, still named).
    s.apply({ ...ev('ADDED', podObj('listed-before', '13')), list: 'older' });
    s.apply({ ...ev('ADDED', podObj('stays', '20')), list: 'l2' });
    expect(s.apply({ ...ev('ADDED', podObj('unchanged', '12')), list: 'l2' }).outcome).toBe('stale');
    const r = s.apply({
      kind: 'Pod',
      type: 'SYNCED',
      scope: 'ns',
      resourceVersion: '30',
      list: 'l2',
      count: 2,
      seenAt: 0,
    });
    expect(r.outcome).toBe('unchanged');
    expect(
      Store.claimedGone(s.takeAhead())
        .map((a) => a.key)
        .sort(),
    ).toEqual(['ns/listed-before', 'ns/vanished']);
    // Until then the state keeps them (RevisionCheck reads each; a 404 removes it).
    expect([...s.podsIn('ns')].map((p) => p.name).sort()).toEqual([
      'after-list',
      'listed-before',
      'stays',
      'unchanged',
      'vanished',
    ]);
    expect([...s.podsIn('other')].map((p) => p.name)).toEqual(['elsewhere']); // another scope
  });

  it('a live read replacing a forged version keeps the object named by the list that named its key', () => {
    const s = new Store();
    s.apply(ev('ADDED', podObj('x', '99'))); // a forged job, from the future
    expect(s.apply({ ...ev('ADDED', podObj('x', '10')), list: 'l1' }).outcome).toBe('stale');
    expect(s.repair('Pod', podObj('x', '10')).outcome).toBe('changed'); // the API server's version
    s.apply({ kind: 'Pod', type: 'SYNCED', scope: 'ns', resourceVersion: '20', list: 'l1', count: 1, seenAt: 0 });
    expect(s.get('Pod', 'ns/x')?.resourceVersion).toBe('10');
  });

  describe("a list's SYNCED that cannot be trusted removes nothing (the handler lists again)", () => {
    const listed = (name: string, rv: string, list: string): QueueJob => ({ ...ev('ADDED', podObj(name, rv)), list });
    const synced = (list: string, count: number): QueueJob => ({
      kind: 'Pod',
      type: 'SYNCED',
      scope: 'ns',
      resourceVersion: '30',
      list,
      count,
      seenAt: 0,
    });
    const names = (s: Store): string[] => [...s.podsIn('ns')].map((p) => p.name).sort();

    it('its ADDED jobs went to another handler (this one started half-way through the list)', () => {
      const s = new Store();
      s.loadList('Pod', 'ns', '25', [podObj('a', '10'), podObj('b', '11'), podObj('c', '12')]);
      s.apply(listed('c', '12', 'l1')); // a and b were taken before this handler started
      expect(s.apply(synced('l1', 3)).outcome).toBe('incomplete');
      expect(names(s)).toEqual(['a', 'b', 'c']);
    });

    it('one of its ADDED jobs comes after it (a job retried)', () => {
      const s = new Store();
      s.apply(ev('ADDED', podObj('a', '10')));
      expect(s.apply(synced('l1', 1)).outcome).toBe('incomplete');
      s.apply(listed('a', '10', 'l1'));
      expect(names(s)).toEqual(['a']);
    });

    it('two lists of one scope interleaved: the older is not trusted, the newer is', () => {
      const s = new Store();
      s.apply(ev('ADDED', podObj('a', '10')));
      s.apply(ev('ADDED', podObj('b', '11')));
      s.apply(ev('ADDED', podObj('gone', '12')));
      // As the outbox delivers them: l2's ADDED of a took l1's place.
      s.apply(listed('a', '10', 'l2'));
      s.apply(listed('b', '11', 'l1'));
      expect(s.apply(synced('l1', 2)).outcome).toBe('incomplete');
      s.apply(listed('b', '11', 'l2'));
      expect(s.apply(synced('l2', 2)).outcome).toBe('unchanged');
      expect(Store.claimedGone(s.takeAhead()).map((a) => a.key)).toEqual(['ns/gone']);
    });

    it('another list, still open, named one of its objects after it (an old watcher still listing during a rollout)', () => {
      const s = new Store();
      s.apply(listed('x', '10', 'new'));
      s.apply(listed('x', '10', 'old'));
      expect(s.apply(synced('new', 1)).outcome).toBe('incomplete');
      expect(names(s)).toEqual(['x']);
    });

    it('many lists open at once (a watcher per namespace, 1,000 namespaces) are each trusted', () => {
      const s = new Store();
      const n = 1_000;
      for (let i = 0; i < n; i++)
        s.apply({
          ...ev('ADDED', { metadata: { name: 'a', namespace: `ns-${i}`, uid: `u${i}`, resourceVersion: '10' } }),
          list: `l${i}`,
        });
      for (let i = 0; i < n; i++)
        expect(
          s.apply({
            kind: 'Pod',
            type: 'SYNCED',
            scope: `ns-${i}`,
            resourceVersion: '30',
            list: `l${i}`,
            count: 1,
            seenAt: 0,
          }).outcome,
        ).toBe('unchanged');
    });

    it('an object deleted while its listed ADDED waited in the outbox counts (the DELETED carries the list)', () => {
      const s = new Store();
      s.apply(ev('ADDED', podObj('a', '10')));
      s.apply({ ...ev('DELETED', podObj('a', '31')), list: 'l1' });
      s.apply(listed('b', '11', 'l1'));
      expect(s.apply(synced('l1', 2)).outcome).toBe('unchanged');
      expect(names(s)).toEqual(['b']);
    });
  });

  it('a SYNCED marker of an older watcher, naming every key, removes what was deleted during a watch gap, not what is newer', () => {
    const s = new Store();
    s.apply(ev('ADDED', podObj('stays', '10')));
    s.apply(ev('ADDED', podObj('vanished', '11')));
    s.apply(ev('ADDED', podObj('after-list', '31')));
    const r = s.apply({
      kind: 'Pod',
      type: 'SYNCED',
      scope: 'ns',
      resourceVersion: '30',
      keys: ['ns/stays'],
      seenAt: 0,
    });
    expect(r.outcome).toBe('changed');
    expect([...s.podsIn('ns')].map((p) => p.name).sort()).toEqual(['after-list', 'stays']);
  });

  it('a malformed object is reported, not thrown', () => {
    const s = new Store();
    expect(s.apply(ev('ADDED', { metadata: { namespace: 'ns' } }))).toEqual({
      outcome: 'invalid',
      error: 'metadata.name missing',
    });
  });

  it('a pod change affects the Services selecting it, before and after', () => {
    const s = new Store();
    for (const [name, sel] of [
      ['fe', 'frontend'],
      ['be', 'backend'],
      ['db', 'db'],
    ] as const) {
      s.apply({
        kind: 'Service',
        type: 'ADDED',
        seenAt: 0,
        object: {
          metadata: { name, namespace: 'ns', uid: name, resourceVersion: '1' },
          spec: { selector: { role: sel } },
        },
      });
    }
    s.apply(ev('ADDED', podObj('p', '5', { role: 'frontend' })));
    const r = s.apply(ev('MODIFIED', podObj('p', '6', { role: 'backend' })));
    expect(r.outcome === 'changed' && [...s.affectedServices(r.changes[0]!)].sort()).toEqual(['ns/be', 'ns/fe']);
  });

  it('a pod update that changes nothing a decision reads keeps the new version but triggers nothing', () => {
    const s = new Store();
    s.apply({
      kind: 'Service',
      type: 'ADDED',
      object: {
        metadata: { name: 'web', namespace: 'ns', uid: 's', resourceVersion: '1' },
        spec: { selector: { role: 'frontend' } },
      },
      seenAt: 0,
    });
    s.apply(ev('ADDED', podObj('a', '10')));
    const touched = {
      ...podObj('a', '11'),
      metadata: { ...podObj('a', '11').metadata, annotations: { 'other.io/x': 'y' } },
    };
    expect(s.apply(ev('MODIFIED', touched)).outcome).toBe('unchanged');
    expect(s.get('Pod', 'ns/a')?.resourceVersion).toBe('11');
    expect(s.apply(ev('MODIFIED', podObj('a', '10'))).outcome).toBe('stale');
    const relabelled = s.apply(ev('MODIFIED', podObj('a', '12', { role: 'other' })));
    expect(relabelled.outcome).toBe('changed');
    expect(relabelled.outcome === 'changed' && [...s.affectedServices(relabelled.changes[0]!)]).toEqual(['ns/web']);
  });

  it('every field of a pod but its identity and version counts as a change (a field added later must be compared too)', () => {
    const base: PodInfo = pod(
      'a',
      { role: 'frontend' },
      { owned: true, forService: 'web', owners: [{ name: 'c', uid: 'cu', controller: true }], hasIP: true },
    );
    const other: Record<string, unknown> = {
      uid: 'other',
      labels: { role: 'x' },
      owned: false,
      legacy: true,
      forService: 'api',
      owners: [{ name: 'c', uid: 'cu', controller: false }],
      terminating: true,
      phase: 'Failed',
      ready: !base.ready,
      hasIP: false,
      standby: true,
    };
    const identity = new Set(['key', 'namespace', 'name', 'resourceVersion']);
    for (const field of Object.keys(base).filter((f) => !identity.has(f))) {
      expect(field in other, `no changed value for field ${field} in this test`).toBe(true);
      expect(samePodForDecisions(base, { ...base, [field]: other[field] }), field).toBe(false);
    }
    expect(samePodForDecisions(base, { ...base, resourceVersion: '99' })).toBe(true);
  });

  describe("versions beyond the API server's newest (a forged job from the future)", () => {
    it('are held as unconfirmed; those at or below a revision the API server then shows are believed', () => {
      const s = new Store();
      s.loadList('Pod', '', '50', []);
      s.apply(ev('ADDED', podObj('old', '40')));
      expect(s.aheadCount).toBe(0); // not beyond what the handler listed
      s.apply(ev('ADDED', podObj('a', '60')));
      s.apply(ev('ADDED', podObj('ghost', '99999999999')));
      const entries = s.takeAhead();
      expect(entries.map((a) => a.key).sort()).toEqual(['ns/a', 'ns/ghost']);
      expect(s.refute(entries, '70').map((a) => a.key)).toEqual(['ns/ghost']);
    });

    it('a forged deletion or list end from the future no longer makes the true events that follow look stale once refuted', () => {
      const s = new Store();
      s.loadList('Pod', '', '50', [podObj('web', '45')]);
      s.apply(ev('DELETED', podObj('web', '99999999999')));
      s.apply({
        kind: 'Pod',
        type: 'SYNCED',
        scope: '',
        resourceVersion: '99999999999',
        list: 'forged',
        count: 0,
        seenAt: 0,
      });
      // Without the refutation the true ADDED (a new pod, and the old one's next version) are stale.
      expect(s.apply(ev('ADDED', podObj('new', '60'))).outcome).toBe('stale');
      const lies = s.refute(s.takeAhead(), '70');
      expect(lies.map((a) => `${a.what} ${a.key}`)).toEqual(['object ns/web']);
      expect(s.apply(ev('ADDED', podObj('new', '61'))).outcome).toBe('changed');
      expect(s.apply(ev('MODIFIED', podObj('web', '62'))).outcome).toBe('changed');
      expect(s.podsAsOf('ns')).toBe('70');
    });
  });
});
