// Test access to the real API server: clients, fresh namespaces, and playing kubelet where a test
// needs exact control (on the full local cluster kwok plays it otherwise).
import { randomBytes } from 'node:crypto';
import {
  AppsV1Api,
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  PatchStrategy,
  setHeaderOptions,
  type V1Pod,
} from '@kubernetes/client-node';
import { inject } from 'vitest';
import { httpStatus } from '../../packages/shared/src/kube.ts';

export interface Kube {
  kc: KubeConfig;
  core: CoreV1Api;
  apps: AppsV1Api;
  custom: CustomObjectsApi;
  /** kwok: the cluster's fake Nodes start pods; manual: nothing does (a bare control plane), tests patch status. */
  kubelet: 'kwok' | 'manual';
}

export function kube(kubeconfig: string = inject('kubeconfig'), kubelet: Kube['kubelet'] = 'kwok'): Kube {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfig);
  return {
    kc,
    core: kc.makeApiClient(CoreV1Api),
    apps: kc.makeApiClient(AppsV1Api),
    custom: kc.makeApiClient(CustomObjectsApi),
    kubelet,
  };
}

/** Pod annotation read by the local cluster's kwok stages (scripts/cluster/kwok/stages.yaml). */
export const KUBELET_ANNOTATION = 'critsvc.test/kubelet';
/** kwok leaves such a pod's status alone: the test patches it itself. */
export const MANUAL = { [KUBELET_ANNOTATION]: 'manual' };
/** kwok starts such a pod but never makes it Ready (a crash loop). */
export const NEVER_READY = { [KUBELET_ANNOTATION]: 'never-ready' };

export function suffix(): string {
  return randomBytes(3).toString('hex');
}

/** Every test gets its own namespace (without a controller-manager they never finish deleting). */
export async function freshNamespace(k: Kube, prefix: string): Promise<string> {
  const name = `${prefix}-${suffix()}`;
  await k.core.createNamespace({ body: { metadata: { name, labels: { 'critsvc-test': 'true' } } } });
  return name;
}

export async function ensureNamespace(k: Kube, name: string): Promise<void> {
  try {
    await k.core.createNamespace({ body: { metadata: { name } } });
  } catch (err) {
    if (statusOf(err) !== 409) throw err;
  }
}

/** The HTTP status of a failed API call (the product's own classifier). */
export const statusOf = httpStatus;

const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

/** What a kubelet would report for a started pod. */
export async function setPodStatus(
  k: Kube,
  namespace: string,
  name: string,
  opts: { phase?: string; ready: boolean },
): Promise<V1Pod> {
  const now = new Date().toISOString();
  return k.core.patchNamespacedPodStatus(
    {
      name,
      namespace,
      body: {
        status: {
          phase: opts.phase ?? 'Running',
          podIP: '10.0.0.10',
          startTime: now,
          conditions: [{ type: 'Ready', status: opts.ready ? 'True' : 'False', lastTransitionTime: now }],
        },
      },
    },
    mergePatch,
  );
}
