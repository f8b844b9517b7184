import { describe, expect, it } from 'vitest';
import { asQueueJob, summarize } from './queue-job.ts';

describe('a job from the event queue', () => {
  it.each<[string, unknown, boolean]>([
    ['an event', { kind: 'Pod', type: 'DELETED', object: { metadata: { name: 'a' } }, seenAt: 5 }, true],
    ['a complete list', { kind: 'Service', type: 'SYNCED', scope: 'ns', resourceVersion: '7', keys: [], seenAt: 5 }, true],
    ['not an object', 'Pod DELETED a', false],
    ['an unknown kind', { kind: 'Secret', type: 'ADDED', object: {} }, false],
    ['an unknown type', { kind: 'Pod', type: 'BOOKMARK', object: {} }, false],
    ['an event without its object', { kind: 'Pod', type: 'ADDED' }, false],
    ['a list without its keys', { kind: 'Pod', type: 'SYNCED', scope: '', resourceVersion: '7' }, false],
  ])('%s', (_what, data, ok) => {
    expect(asQueueJob(data) !== undefined).toBe(ok);
  });

  it('an event without a watcher timestamp counts as seen at 0 (kept out of the latency metrics)', () => {
    expect(asQueueJob({ kind: 'Pod', type: 'ADDED', object: {} })?.seenAt).toBe(0);
    expect(summarize({ big: 'x'.repeat(500) })).toHaveLength(201);
  });
});
