import { describe, expect, it } from 'vitest';
import { redact } from './config.ts';
import { redisOptions } from './queue.ts';

describe('redisOptions', () => {
  it('redis+sentinel:// gives ioredis the Sentinels, the master name and the nodes\' password', () => {
    const o = redisOptions('redis+sentinel://:s3cret@10.0.0.1:26379,sentinel-b:26380/mymaster/3');
    expect(o).toMatchObject({ sentinels: [{ host: '10.0.0.1', port: 26379 }, { host: 'sentinel-b', port: 26380 }], name: 'mymaster', password: 's3cret', db: 3, failoverDetector: true });
    expect(o.host).toBeUndefined();
    expect(o.tls).toBeUndefined();
  });

  it('a replica answering READONLY (a failover not noticed yet) makes the client reconnect', () => {
    const o = redisOptions('redis+sentinel://a:1/m');
    expect(typeof o.reconnectOnError === 'function' && o.reconnectOnError(new Error('READONLY You can\'t write against a read only replica.'))).toBe(true);
    expect(typeof o.reconnectOnError === 'function' && o.reconnectOnError(new Error('OOM command not allowed'))).toBe(false);
  });

  it('redis:// is unchanged: host, port, password', () => {
    expect(redisOptions('redis://:pw@h:7000/1')).toMatchObject({ host: 'h', port: 7000, password: 'pw', db: 1 });
  });

  it('the password of a Sentinel URL never reaches a log', () => {
    expect(redact('redis+sentinel://:s3cret@a:1,b:2/m')).not.toContain('s3cret');
    expect(redact('redis+sentinel://:s3cret@a:1/m')).not.toContain('s3cret');
  });
});
