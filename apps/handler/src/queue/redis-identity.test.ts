// No Redis listens on the port: the connection fails for real (no fake server).
import { describe, expect, it } from 'vitest';
import { freePort } from '../../../../scripts/cluster/up.ts';
import { RedisIdentity, REPLACE_AFTER_FAILURES } from './redis-identity.ts';

describe('RedisIdentity', () => {
  it('a connection that stays unusable is replaced by a new one after 3 failed checks in a row', async () => {
    const port = await freePort();
    const identity = new RedisIdentity({ host: '127.0.0.1', port, retryStrategy: () => 50 }, 'q');
    try {
      const first = identity.redis;
      for (let i = 1; i < REPLACE_AFTER_FAILURES; i++) {
        await expect(identity.check()).rejects.toThrow();
        expect(identity.redis).toBe(first);
      }
      await expect(identity.check()).rejects.toThrow();
      expect(identity.redis).not.toBe(first);
      // The old one is closed for good: it tries no more.
      await expect.poll(() => first.status, { timeout: 3_000 }).toBe('end');
    } finally {
      identity.close();
    }
  }, 15_000);
});
