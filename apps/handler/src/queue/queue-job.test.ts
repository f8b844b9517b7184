import { describe, expect, it } from 'vitest';
import { asQueueJob, summarize } from './queue-job.ts';

describe('a job from the event queue', () => {
  it.each<[string, unknown, boolean]>([
    ['an event', { kind: 'Pod', type: 'DELETED', object: { metadata: { name: 'a' } }, seenAt: 5 }, true],
    [
      'a complete list, naming its list',
      { kind: 'Service', type: 'SYNCED', scope: 'ns', resourceVersion: '7', list: 'l1', count: 3, seenAt: 5 },
      true,
    ],
    [
      'a complete list naming every key (the old form: one forged job emptied a scope)',
      { kind: 'Service', type: 'SYNCED', scope: '', resourceVersion: '99999999999', keys: [], seenAt: 5 },
      false,
    ],
    [
      'a list naming its list and keys too',
      { kind: 'Service', type: 'SYNCED', scope: 'ns', resourceVersion: '7', list: 'l1', keys: [], seenAt: 5 },
      false,
    ],
    [
      'a list whose count is not a whole number',
      { kind: 'Service', type: 'SYNCED', scope: 'ns', resourceVersion: '7', list: 'l1', count: 'many' },
      false,
    ],
    [
      'a listed object',
      { kind: 'Pod', type: 'ADDED', object: { metadata: { name: 'a' } }, seenAt: 5, list: 'l1' },
      true,
    ],
    [
      'a listed object whose list is not a string',
      { kind: 'Pod', type: 'ADDED', object: { metadata: { name: 'a' } }, list: 7 },
      false,
    ],
    [
      'a list whose keys are not strings',
      { kind: 'Pod', type: 'SYNCED', scope: '', resourceVersion: '7', keys: [{}] },
      false,
    ],
    ['a list naming an empty list', { kind: 'Pod', type: 'SYNCED', scope: '', resourceVersion: '7', list: '' }, false],
    ['not an object', 'Pod DELETED a', false],
    ['an unknown kind', { kind: 'Secret', type: 'ADDED', object: {} }, false],
    ['an unknown type', { kind: 'Pod', type: 'BOOKMARK', object: {} }, false],
    ['an event without its object', { kind: 'Pod', type: 'ADDED' }, false],
    [
      'a list naming neither its list nor its keys',
      { kind: 'Pod', type: 'SYNCED', scope: '', resourceVersion: '7' },
      false,
    ],
  ])('%s', (_what, data, ok) => {
    expect(asQueueJob(data) !== undefined).toBe(ok);
  });

  it('an event without a watcher timestamp counts as seen at 0 (kept out of the latency metrics)', () => {
    expect(asQueueJob({ kind: 'Pod', type: 'ADDED', object: {} })?.seenAt).toBe(0);
    expect(summarize({ big: 'x'.repeat(500) })).toHaveLength(201);
  });
});
