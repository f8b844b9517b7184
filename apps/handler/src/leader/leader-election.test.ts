import { describe, expect, it } from 'vitest';
import { leaseVerdict, microTime, nextRecord, recordKey, releasedRecord, type LeaseRecord } from './leader-election.ts';

const t0 = Date.parse('2026-01-01T00:00:00Z');
const held = (holder: string, extra: Partial<LeaseRecord> = {}): LeaseRecord => ({
  holder,
  durationSeconds: 15,
  acquireTime: new Date(t0),
  renewTime: new Date(t0),
  transitions: 3,
  resourceVersion: '42',
  ...extra,
});

describe('leaseVerdict', () => {
  it.each<[string, LeaseRecord | undefined, number, number, string]>([
    ['no Lease yet: create it', undefined, t0, t0, 'create'],
    ['mine: renew', held('me'), t0, t0 + 60_000, 'renew'],
    ['released (no holder): take it at once', held(''), t0, t0, 'take'],
    ['another holder, seen changing 14.9 s ago: wait', held('other'), t0, t0 + 14_900, 'wait'],
    ['another holder, unchanged for 15 s on my clock: take it', held('other'), t0, t0 + 15_000, 'take'],
    // Only this process's clock counts: a renewTime far in the past (skewed clock) is not expiry.
    [
      'another holder, renewTime an hour old but seen changing just now: wait',
      held('other', { renewTime: new Date(t0 - 3_600_000) }),
      t0,
      t0 + 1_000,
      'wait',
    ],
    [
      'released with a 1 s lease and then re-taken by another: wait',
      held('other', { durationSeconds: 15 }),
      t0 + 1_000,
      t0 + 2_000,
      'wait',
    ],
  ])('%s', (_name, rec, observedAt, now, verdict) => {
    expect(leaseVerdict(rec, 'me', observedAt, now)).toBe(verdict);
  });
});

describe('the records written', () => {
  const now = new Date(t0 + 20_000);

  it('create: holder me, transitions 0, acquired and renewed now', () => {
    expect(nextRecord(undefined, 'create', 'me', now, 15)).toEqual({
      holder: 'me',
      durationSeconds: 15,
      acquireTime: now,
      renewTime: now,
      transitions: 0,
      resourceVersion: undefined,
    });
  });

  it('renew: only renewTime moves; acquireTime, transitions and resourceVersion (optimistic concurrency) kept', () => {
    expect(nextRecord(held('me'), 'renew', 'me', now, 15)).toEqual({ ...held('me'), renewTime: now });
  });

  it('take over: one more transition, acquired now, on the resourceVersion read', () => {
    expect(nextRecord(held('other'), 'take', 'me', now, 15)).toEqual({
      holder: 'me',
      durationSeconds: 15,
      acquireTime: now,
      renewTime: now,
      transitions: 4,
      resourceVersion: '42',
    });
  });

  it("release: no holder and a 1 s lease, as client-go's ReleaseOnCancel", () => {
    const r = releasedRecord(held('me'), now);
    expect(r).toMatchObject({ holder: '', durationSeconds: 1, transitions: 3, resourceVersion: '42' });
    expect(leaseVerdict(r, 'next', t0, t0)).toBe('take');
  });

  it('a renewal changes the record key (observers restart their clock), the resourceVersion alone does not', () => {
    expect(recordKey(held('other'))).not.toBe(recordKey(held('other', { renewTime: now })));
    expect(recordKey(held('other'))).toBe(recordKey(held('other', { resourceVersion: '43' })));
  });
});

describe('microTime', () => {
  it('writes a Lease time as RFC 3339 with microseconds, as the API server reads a MicroTime', () => {
    expect(microTime(new Date('2026-12-02T13:00:00.123Z'))).toBe('2026-12-02T13:00:00.123000Z');
    expect(microTime(new Date(0))).toBe('1970-01-01T00:00:00.000000Z');
  });
});
