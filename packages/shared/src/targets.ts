// What each watcher lists and watches: per watched namespace, or all namespaces at once.
import { CoreV1Api, CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import type { ListPage, WatchTarget } from './list-watcher.ts';

export const CRD_GROUP = 'mycrd.com';
export const CRD_VERSION = 'v1';
export const CRD_PLURAL = 'criticalservices';

interface TypedList {
  items: unknown[];
  metadata?: { resourceVersion?: string; _continue?: string };
}

function page(list: TypedList): ListPage {
  return { items: list.items, resourceVersion: list.metadata?.resourceVersion ?? '', ...(list.metadata?._continue ? { continue: list.metadata._continue } : {}) };
}

const scopes = (namespaces: readonly string[]): string[] => (namespaces.length ? [...namespaces] : ['']);

export function serviceTargets(kc: KubeConfig, namespaces: readonly string[]): WatchTarget[] {
  const core = kc.makeApiClient(CoreV1Api);
  return scopes(namespaces).map((ns) => ({
    kind: 'Service',
    scope: ns,
    path: ns ? `/api/v1/namespaces/${ns}/services` : '/api/v1/services',
    list: async ({ limit, continue: c }) => page(ns
      ? await core.listNamespacedService({ namespace: ns, limit, ...(c ? { _continue: c } : {}) })
      : await core.listServiceForAllNamespaces({ limit, ...(c ? { _continue: c } : {}) })),
  }));
}

export function podTargets(kc: KubeConfig, namespaces: readonly string[]): WatchTarget[] {
  const core = kc.makeApiClient(CoreV1Api);
  return scopes(namespaces).map((ns) => ({
    kind: 'Pod',
    scope: ns,
    path: ns ? `/api/v1/namespaces/${ns}/pods` : '/api/v1/pods',
    list: async ({ limit, continue: c }) => page(ns
      ? await core.listNamespacedPod({ namespace: ns, limit, ...(c ? { _continue: c } : {}) })
      : await core.listPodForAllNamespaces({ limit, ...(c ? { _continue: c } : {}) })),
  }));
}

export function criticalServiceTargets(kc: KubeConfig): WatchTarget[] {
  const custom = kc.makeApiClient(CustomObjectsApi);
  return [{
    kind: 'CriticalService',
    scope: '',
    path: `/apis/${CRD_GROUP}/${CRD_VERSION}/${CRD_PLURAL}`,
    list: async ({ limit, continue: c }) => {
      const raw = (await custom.listClusterCustomObject({ group: CRD_GROUP, version: CRD_VERSION, plural: CRD_PLURAL, limit, ...(c ? { _continue: c } : {}) })) as
        { items?: unknown[]; metadata?: { resourceVersion?: string; continue?: string } };
      return { items: raw.items ?? [], resourceVersion: raw.metadata?.resourceVersion ?? '', ...(raw.metadata?.continue ? { continue: raw.metadata.continue } : {}) };
    },
  }];
}
