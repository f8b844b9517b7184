import { describe, expect, it } from 'vitest';
import { notOlderThanQuery } from './kube-reads.ts';
import { promotionPatch } from './kube-writes.ts';

describe('promotionPatch', () => {
  it('checks the live pod (uid, both marks, its Service, still warm) before it relabels anything', () => {
    const ops = promotionPatch(
      { namespace: 'ns', name: 'p', uid: 'u1', service: 'frontend' },
      { app: 'web', 'example.com/tier': 'a~b' },
    );
    expect(ops).toEqual([
      { op: 'test', path: '/metadata/uid', value: 'u1' },
      { op: 'test', path: '/metadata/annotations/service-watcher', value: 'owned' },
      { op: 'test', path: '/metadata/labels/app.kubernetes.io~1managed-by', value: 'critsvc' },
      { op: 'test', path: '/metadata/labels/critsvc.mycrd.com~1service', value: 'frontend' },
      { op: 'test', path: '/metadata/labels/critsvc.mycrd.com~1standby', value: 'true' },
      { op: 'remove', path: '/metadata/labels/critsvc.mycrd.com~1standby' },
      { op: 'add', path: '/metadata/labels/app', value: 'web' },
      { op: 'add', path: '/metadata/labels/example.com~1tier', value: 'a~b' },
    ]);
  });
});

describe('notOlderThanQuery', () => {
  it('a list asks for NotOlderThan, a get for the version itself; "0" (any), malformed or no version: a quorum read', () => {
    expect(notOlderThanQuery('42', true)).toEqual({ resourceVersion: '42', resourceVersionMatch: 'NotOlderThan' });
    expect(notOlderThanQuery('42', false)).toEqual({ resourceVersion: '42' });
    for (const rv of [undefined, '', '0', 'abc', '12; DROP']) expect(notOlderThanQuery(rv, true)).toBeUndefined();
  });
});
