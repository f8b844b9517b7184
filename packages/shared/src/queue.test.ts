// The names jobs are listed under in the queue dashboard, and the Redis connection options.
import { describe, expect, it } from 'vitest';
import { redact } from './config-validators.ts';
import { jobName, redisOptions } from './queue.ts';
import type { QueueJob } from './types.ts';

describe('redisOptions', () => {
  it("redis+sentinel:// gives ioredis the Sentinels, the master name and the nodes' password", () => {
    const o = redisOptions('redis+sentinel://:s3cret@10.0.0.1:26379,sentinel-b:26380/mymaster/3');
    expect(o).toMatchObject({
      sentinels: [
        { host: '10.0.0.1', port: 26379 },
        { host: 'sentinel-b', port: 26380 },
      ],
      name: 'mymaster',
      password: 's3cret',
      db: 3,
      failoverDetector: true,
    });
    expect(o.host).toBeUndefined();
    expect(o.tls).toBeUndefined();
  });

  it('a replica answering READONLY (a failover not noticed yet) makes the client reconnect', () => {
    const o = redisOptions('redis+sentinel://a:1/m');
    expect(
      typeof o.reconnectOnError === 'function' &&
        o.reconnectOnError(new Error("READONLY You can't write against a read only replica.")),
    ).toBe(true);
    expect(typeof o.reconnectOnError === 'function' && o.reconnectOnError(new Error('OOM command not allowed'))).toBe(
      false,
    );
  });

  it('redis:// is unchanged: host, port, password', () => {
    expect(redisOptions('redis://:pw@h:7000/1')).toMatchObject({ host: 'h', port: 7000, password: 'pw', db: 1 });
  });

  it('the password of a Sentinel URL never reaches a log', () => {
    expect(redact('redis+sentinel://:s3cret@a:1,b:2/m')).not.toContain('s3cret');
    expect(redact('redis+sentinel://:s3cret@a:1/m')).not.toContain('s3cret');
  });
});

describe('jobName', () => {
  it.each<[QueueJob, string]>([
    [
      { kind: 'Pod', type: 'DELETED', object: { metadata: { namespace: 'default', name: 'nginx' } }, seenAt: 0 },
      'Pod DELETED default/nginx',
    ],
    [
      { kind: 'Service', type: 'ADDED', object: { metadata: { namespace: 'shop', name: 'checkout-api' } }, seenAt: 0 },
      'Service ADDED shop/checkout-api',
    ],
    [
      { kind: 'CriticalService', type: 'MODIFIED', object: { metadata: { name: 'frontend' } }, seenAt: 0 },
      'CriticalService MODIFIED frontend',
    ],
    [
      { kind: 'Pod', type: 'SYNCED', scope: 'default', resourceVersion: '7', keys: [], seenAt: 0 },
      'Pod SYNCED default',
    ],
    [{ kind: 'Service', type: 'SYNCED', scope: '', resourceVersion: '7', keys: [], seenAt: 0 }, 'Service SYNCED all'],
  ])('%j → %s', (job, name) => {
    expect(jobName(job)).toBe(name);
  });
});
