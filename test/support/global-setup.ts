// Brings the local control plane up once for the integration tests (reusing one that
// `pnpm cluster up` already started), and hands its coordinates to the tests.
import { spawnSync } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestProject } from 'vitest/node';
import { readState } from '../../scripts/cluster/state.ts';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const cli = join(root, 'scripts/cluster/cluster.ts');

declare module 'vitest' {
  export interface ProvidedContext {
    kubeconfig: string;
    redisUrl: string;
    clusterDir: string;
  }
}

function run(cmd: string): void {
  const res = spawnSync(process.execPath, [cli, cmd], { stdio: 'inherit', cwd: root });
  if (res.status !== 0) throw new Error(`pnpm cluster ${cmd} failed (exit ${res.status})`);
}

export default function setup(project: TestProject): () => void {
  const dir = process.env.CRITSVC_CLUSTER_DIR ?? join(root, '.cluster');
  const wasUp = spawnSync(process.execPath, [cli, 'status'], { cwd: root, stdio: 'ignore' }).status === 0;
  if (!wasUp) run('up');
  const state = readState(dir);
  if (!state) throw new Error(`no cluster state in ${dir} after cluster up`);
  project.provide('kubeconfig', state.kubeconfig);
  project.provide('redisUrl', state.redisUrl);
  project.provide('clusterDir', dir);
  return () => {
    // Leave a cluster the developer started; stop the one we started unless asked to keep it.
    if (!wasUp && process.env.CRITSVC_KEEP_CLUSTER !== '1') run('down');
  };
}
