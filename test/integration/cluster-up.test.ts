// The local cluster's own failures: each names the component and the step, and exits non-zero;
// there is never a silent fallback to a smaller or fake cluster.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, symlinkSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { binaries } from '../../scripts/cluster/cluster.ts';
import { clusterDown } from '../../scripts/cluster/down.ts';
import { readState, procAlive } from '../../scripts/cluster/state.ts';
import { clusterUp } from '../../scripts/cluster/up.ts';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await clusterDown(d);
});

describe('local cluster failures', () => {
  it('a build failure names the component and the step, exit 1', () => {
    // A cache holding etcd only, and a Kubernetes version the module proxy does not have.
    const cache = mkdtempSync(join(tmpdir(), 'critsvc-cache-'));
    mkdirSync(join(cache, 'bin'));
    const cached = join(process.env.CRITSVC_CACHE ?? join(homedir(), '.cache/critsvc'), 'bin/etcd-v3.5.35');
    symlinkSync(cached, join(cache, 'bin/etcd-v3.5.35'));
    const res = spawnSync('bash', [join(root, 'scripts/cluster/build-binaries.sh')], {
      env: { ...process.env, CRITSVC_CACHE: cache, K8S_VERSION: 'v1.99.99' },
      encoding: 'utf8',
    });
    expect(res.status).toBe(1);
    expect(res.stderr).toMatch(
      /kube-apiserver kube-controller-manager kube-scheduler kubectl v1\.99\.99: step 'download k8s\.io\/kubernetes from the Go module proxy' failed: .*v1\.99\.99/,
    );
  });

  it('a component that dies while starting is named, with its log, and the others are stopped by `down`', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'critsvc-broken-'));
    dirs.push(dir);
    // kwok replaced by a program that exits at once.
    await expect(clusterUp({ dir, ...binaries('full'), kwok: '/bin/false' })).rejects.toThrow(
      /^kwok \(fake Nodes Ready\) exited during start-up/,
    );
    const state = readState(dir);
    expect(state?.procs.map((p) => p.name)).toEqual([
      'etcd',
      'kube-apiserver',
      'redis-server',
      'kube-controller-manager',
      'kube-scheduler',
      'kwok',
    ]);
    await clusterDown(dir);
    expect(state?.procs.filter(procAlive)).toEqual([]);
  });

  it('an unknown CRITSVC_CLUSTER mode is refused, nothing started', () => {
    const dir = mkdtempSync(join(tmpdir(), 'critsvc-mode-'));
    const res = spawnSync(process.execPath, [join(root, 'scripts/cluster/cluster.ts'), 'up'], {
      env: { ...process.env, CRITSVC_CLUSTER: 'tiny', CRITSVC_CLUSTER_DIR: dir },
      encoding: 'utf8',
    });
    expect(res.status).toBe(1);
    expect(res.stderr.trim()).toBe('cluster: CRITSVC_CLUSTER=tiny: expected full (default) or bare');
    expect(readState(dir)).toBeUndefined();
  });
});
