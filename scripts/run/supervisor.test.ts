import { spawnSync } from 'node:child_process';
import { readFileSync, rmdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadAllYaml } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { APPS, DEPLOY_MEMORY_MIB, IMAGE_NODE_OPTIONS, localNodeOptions, memoryCgroup } from './supervisor.ts';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

describe('heap settings', () => {
  it("the limits assumed for local runs are deploy/'s, and the image sets the heap as a share of its limit", () => {
    const docs = loadAllYaml(readFileSync(join(root, 'deploy/workers.yaml'), 'utf8')) as {
      kind: string;
      spec?: {
        template?: { spec?: { containers?: { name: string; resources?: { limits?: { memory?: string } } }[] } };
      };
    }[];
    const limits: Record<string, number> = {};
    for (const d of docs) {
      for (const c of d.spec?.template?.spec?.containers ?? [])
        limits[c.name] = Number(/^(\d+)Mi$/.exec(c.resources?.limits?.memory ?? '')?.[1]);
    }
    expect(limits).toEqual(DEPLOY_MEMORY_MIB);
    expect(readFileSync(join(root, 'Dockerfile'), 'utf8')).toContain(`ENV NODE_OPTIONS="${IMAGE_NODE_OPTIONS}"`);
    expect(localNodeOptions('handler')).toBe(
      `--max-semi-space-size=2 --max-old-space-size=${DEPLOY_MEMORY_MIB.handler / 2}`,
    );
    expect(APPS.every((a) => DEPLOY_MEMORY_MIB[a] > 0)).toBe(true);
  });

  it('under a memory limit, Node sizes the heap from it (not from the machine)', (ctx) => {
    const cg = memoryCgroup(`heap-test-${process.pid}`, 200);
    if (!cg) return ctx.skip(); // not root, or no cgroup fs
    try {
      const out = spawnSync(
        '/bin/sh',
        [
          '-c',
          `echo $$ > '${cg.procs}' && exec "$0" "$@"`,
          process.execPath,
          ...IMAGE_NODE_OPTIONS.split(' '),
          '-e',
          'console.log(require("v8").getHeapStatistics().heap_size_limit)',
        ],
        { encoding: 'utf8' },
      );
      const heapMib = Number(out.stdout.trim()) / 2 ** 20;
      // Half of 200 MiB for the old generation, plus the young generation's few MB.
      expect(heapMib).toBeGreaterThan(95);
      expect(heapMib).toBeLessThan(115);
    } finally {
      rmdirSync(cg.dir);
    }
  });
});
