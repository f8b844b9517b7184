// What most pipeline tests share: the CRD installed, a private redis-server for the file, and
// after each test the pipeline stopped (its log tail printed if the test failed) and the
// cluster-scoped CriticalServices it created deleted.
import { afterAll, afterEach, beforeAll } from 'vitest';
import type { Kube } from './kube.ts';
import { deleteCrit } from './objects.ts';
import { ensureCrd, type Pipeline } from './pipeline.ts';
import { TestRedis } from './redis.ts';

export interface Harness {
  redis: TestRedis;
  pipeline: Pipeline | undefined;
  /** CriticalServices to delete after the test. */
  crits: string[];
}

/** @param redisArgs more redis-server arguments (e.g. deploy/'s ACL users) */
export function pipelineHarness(k: Kube, tailLines = 15, redisArgs: () => string[] = () => []): Harness {
  const h = { pipeline: undefined, crits: [] } as unknown as Harness;
  beforeAll(async () => {
    await ensureCrd(k);
    h.redis = await TestRedis.start(redisArgs());
  });
  afterEach(async (ctx) => {
    if (ctx.task.result?.state === 'fail' && h.pipeline) console.error(h.pipeline.tail(tailLines));
    await h.pipeline?.stop();
    h.pipeline = undefined;
    for (const c of h.crits.splice(0)) await deleteCrit(k, c);
  });
  afterAll(async () => {
    await h.redis?.stop();
  });
  return h;
}
