// `cluster down`: stops what `up` recorded, the real node first, and removes its data.
import { rmSync } from 'node:fs';
import { realNodeDown } from './node.ts';
import { readState, statePath, stopProc } from './state.ts';

/** Stops what `up` recorded (apiserver first, etcd last) and removes its data. */
export async function clusterDown(dir: string): Promise<string[]> {
  const state = readState(dir);
  if (!state) return [];
  // The real node first: its teardown needs containerd still running after the kubelet stopped.
  const stopped: string[] = await realNodeDown(state);
  for (const p of [...state.procs].reverse()) {
    if (await stopProc(p)) stopped.push(`${p.name} (pid ${p.pid})`);
  }
  rmSync(state.etcdDataDir, { recursive: true, force: true });
  rmSync(statePath(dir), { force: true });
  return stopped;
}
