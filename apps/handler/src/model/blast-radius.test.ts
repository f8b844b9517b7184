import { describe, expect, it } from 'vitest';
import { pod } from '../../../../test/support/model-fixtures.ts';
import { countDefaultPods, limitReached } from './blast-radius.ts';
import { MANAGED_BY_LABEL, SERVICE_LABEL } from './rules.ts';

const ours = (ns: string, service: string, o: { terminating?: boolean } = {}) =>
  pod(
    `service-watcher-${service}`,
    { [MANAGED_BY_LABEL]: 'critsvc', [SERVICE_LABEL]: service },
    { namespace: ns, owned: true, forService: service, ...o },
  );

describe('countDefaultPods', () => {
  it('counts our pods and the creates in flight, once per Service, in the namespace and in all', () => {
    const pods = [
      ours('a', 'web'),
      ours('a', 'api'),
      ours('b', 'web'),
      ours('a', 'old', { terminating: true }), // going: not counted
      pod('nginx', { app: 'web' }, { namespace: 'a' }), // a user's pod
      pod('service-watcher-legacy', { app: 'x' }, { namespace: 'a', legacy: true }), // the article's: not ours
    ];
    expect(countDefaultPods(pods, [], 'a')).toEqual({ namespace: 2, total: 3 });
    // api's create was sent and its pod seen already: once; db's is in flight.
    expect(countDefaultPods(pods, ['a/api', 'a/db', 'c/x'], 'a')).toEqual({ namespace: 3, total: 5 });
    expect(countDefaultPods(pods, [], 'c')).toEqual({ namespace: 0, total: 3 });
  });
});

describe('limitReached', () => {
  it.each<[string, { namespace: number; total: number }, { perNamespace: number; total: number }, string | undefined]>([
    ['no limits (0) → allowed', { namespace: 500, total: 5000 }, { perNamespace: 0, total: 0 }, undefined],
    ['under both → allowed', { namespace: 1, total: 4 }, { perNamespace: 2, total: 5 }, undefined],
    [
      'namespace full → refused, naming the variable',
      { namespace: 2, total: 2 },
      { perNamespace: 2, total: 0 },
      'MAX_DEFAULT_PODS_PER_NAMESPACE is 2',
    ],
    [
      'cluster full → refused, naming the variable',
      { namespace: 0, total: 5 },
      { perNamespace: 2, total: 5 },
      'MAX_DEFAULT_PODS is 5',
    ],
  ])('%s', (_name, counts, limits, fragment) => {
    const r = limitReached('a', counts, limits);
    if (fragment === undefined) expect(r).toBeUndefined();
    else {
      expect(r?.reason).toBe('DefaultPodLimitReached');
      expect(r?.message).toContain(fragment);
    }
  });
});
