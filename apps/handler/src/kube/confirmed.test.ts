import { describe, expect, it } from 'vitest';
import { Confirmed } from './confirmed.ts';

const svc = (rv: string) => ({ metadata: { name: 'frontend', namespace: 'ns', resourceVersion: rv } });

describe('Confirmed: versions the API server gave, not the queue', () => {
  it('a listed or read version matches; another version (a queue job), a gone object or an unknown one does not', () => {
    const c = new Confirmed();
    expect(c.service('ns/frontend', '5')).toBe(false);
    c.note('Service', 'ns/frontend', svc('5'));
    expect(c.service('ns/frontend', '5')).toBe(true);
    expect(c.service('ns/frontend', '6')).toBe(false);
    c.note('Service', 'ns/frontend', svc('6'));
    expect(c.service('ns/frontend', '6')).toBe(true);
    c.note('Service', 'ns/frontend', undefined);
    expect(c.service('ns/frontend', '6')).toBe(false);
    // A CriticalService by uid and generation: status writes change its resourceVersion only.
    c.note('CriticalService', 'c', { metadata: { name: 'c', uid: 'u', generation: 2, resourceVersion: '3' } });
    expect(c.crit('c', 'u', 2)).toBe(true);
    expect(c.crit('c', 'u', 3)).toBe(false);
    expect(c.crit('c', 'other', 2)).toBe(false);
    c.forget('CriticalService', 'c');
    expect(c.crit('c', 'u', 2)).toBe(false);
  });
});
