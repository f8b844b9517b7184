// The names jobs are listed under in the queue dashboard: the object, so the list can be scanned.
import { describe, expect, it } from 'vitest';
import { jobName } from './queue.ts';
import type { QueueJob } from './types.ts';

describe('jobName', () => {
  it.each<[QueueJob, string]>([
    [{ kind: 'Pod', type: 'DELETED', object: { metadata: { namespace: 'default', name: 'nginx' } }, seenAt: 0 }, 'Pod DELETED default/nginx'],
    [{ kind: 'Service', type: 'ADDED', object: { metadata: { namespace: 'shop', name: 'checkout-api' } }, seenAt: 0 }, 'Service ADDED shop/checkout-api'],
    [{ kind: 'CriticalService', type: 'MODIFIED', object: { metadata: { name: 'frontend' } }, seenAt: 0 }, 'CriticalService MODIFIED frontend'],
    [{ kind: 'Pod', type: 'SYNCED', scope: 'default', resourceVersion: '7', keys: [], seenAt: 0 }, 'Pod SYNCED default'],
    [{ kind: 'Service', type: 'SYNCED', scope: '', resourceVersion: '7', keys: [], seenAt: 0 }, 'Service SYNCED all'],
  ])('%j → %s', (job, name) => {
    expect(jobName(job)).toBe(name);
  });
});
