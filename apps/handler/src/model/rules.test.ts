import { describe, expect, it } from 'vitest';
import {
  critCovers,
  defaultPodName,
  hasOwnershipMarks,
  isConsidered,
  isDefaultPodName,
  isRealPod,
  selectorMatches,
  standbyGenerateName,
} from './rules.ts';
import { crit, pod, svc } from '../../../../test/support/model-fixtures.ts';

describe('defaultPodName', () => {
  it('is <prefix>-<service> when that fits in 63 characters', () => {
    expect(defaultPodName('service-watcher', 'frontend')).toBe('service-watcher-frontend');
  });
  it.each([['a'.repeat(63)], ['b'.repeat(48)], [`${'c'.repeat(45)}-${'d'.repeat(10)}`]])(
    'shortens %s to a valid, stable, distinct name',
    (name) => {
      const out = defaultPodName('service-watcher', name);
      expect(out.length).toBeLessThanOrEqual(63);
      expect(out).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
      expect(defaultPodName('service-watcher', name)).toBe(out);
      expect(defaultPodName('service-watcher', `${name.slice(0, -1)}z`)).not.toBe(out);
    },
  );
});

describe('standbyGenerateName', () => {
  it.each([['frontend'], ['a'.repeat(63)], [`${'c'.repeat(45)}-${'d'.repeat(10)}`]])(
    'for %s: a 63-character DNS label once the API server adds 5 characters',
    (name) => {
      const base = standbyGenerateName('service-watcher', name);
      const full = `${base}x7k2q`;
      expect(full.length).toBeLessThanOrEqual(63);
      expect(full).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
      // A promoted warm pod is a default pod of that Service, under its name.
      expect(isDefaultPodName(full, 'service-watcher', name)).toBe(true);
      expect(isDefaultPodName(`${base}x7k2qq`, 'service-watcher', name)).toBe(false);
    },
  );
  it("gives a warm pod's name to no other Service", () => {
    expect(standbyGenerateName('service-watcher', 'frontend')).toBe('service-watcher-frontend-standby-');
    expect(isDefaultPodName('service-watcher-frontend-standby-x7k2q', 'service-watcher', 'frontend-standby')).toBe(
      false,
    );
  });
});

describe('ownership and real pods', () => {
  it.each([
    [{ 'app.kubernetes.io/managed-by': 'critsvc' }, { 'service-watcher': 'owned' }, true],
    [{}, { 'service-watcher': 'owned' }, false],
    [{ 'app.kubernetes.io/managed-by': 'critsvc' }, {}, false],
    [{ 'app.kubernetes.io/managed-by': 'helm' }, { 'service-watcher': 'owned' }, false],
  ])('labels %o annotations %o → owned %s', (labels, annotations, owned) => {
    expect(hasOwnershipMarks(labels, annotations)).toBe(owned);
  });

  it.each([
    ['a running pod', pod('p', { role: 'x' }), false, true],
    ['a pending pod (the article counts it)', pod('p', { role: 'x' }, { phase: 'Pending' }), false, true],
    ['a default pod', pod('p', { role: 'x' }, { owned: true }), false, false],
    ['a terminating pod', pod('p', { role: 'x' }, { terminating: true }), false, false],
    ['a succeeded pod', pod('p', { role: 'x' }, { phase: 'Succeeded' }), false, false],
    ['a failed pod', pod('p', { role: 'x' }, { phase: 'Failed' }), false, false],
    ['an unready pod when only Ready counts', pod('p', { role: 'x' }, { ready: false }), true, false],
    ['a ready pod when only Ready counts', pod('p', { role: 'x' }, { ready: true }), true, true],
  ])('%s → real %s', (_name, p, readyOnly, real) => {
    expect(isRealPod(p, readyOnly)).toBe(real);
  });
});

describe('selectors and coverage', () => {
  it('an empty selector matches nothing', () => {
    expect(selectorMatches({}, { a: 'b' })).toBe(false);
  });
  it.each([
    ['no selector', svc('s', { selector: {} }), ['ns'], false],
    ['ExternalName', svc('s', { type: 'ExternalName' }), ['ns'], false],
    ['outside NAMESPACES', svc('s', { namespace: 'other' }), ['ns'], false],
    ['all namespaces watched', svc('s', { namespace: 'other' }), [], true],
    ['plain ClusterIP', svc('s'), ['ns'], true],
  ])('%s → considered %s', (_n, s, watched, expected) => {
    expect(isConsidered(s, watched)).toBe(expected);
  });
  it.each([
    [
      'all pairs among the labels',
      crit('c', [{ key: 'role', value: 'frontend' }]),
      { role: 'frontend', x: 'y' },
      'ns',
      true,
    ],
    ['a value differs', crit('c', [{ key: 'role', value: 'frontend' }]), { role: 'backend' }, 'ns', false],
    [
      'one of two pairs missing',
      crit('c', [
        { key: 'role', value: 'frontend' },
        { key: 'tier', value: 'a' },
      ]),
      { role: 'frontend' },
      'ns',
      false,
    ],
    [
      'other namespace',
      crit('c', [{ key: 'role', value: 'frontend' }], 'elsewhere'),
      { role: 'frontend' },
      'ns',
      false,
    ],
    [
      'malformed spec covers nothing',
      { ...crit('c', [{ key: 'role', value: 'frontend' }]), problems: ['bad'] },
      { role: 'frontend' },
      'ns',
      false,
    ],
  ])('%s → covered %s', (_n, c, labels, ns, expected) => {
    expect(critCovers(c, svc('s', { labels, namespace: ns }))).toBe(expected);
  });
});
