// What each watcher lists and watches: per watched namespace, or all namespaces at once.
import type { KubeConfig } from '@kubernetes/client-node';
import { listerFor } from './kube-list.ts';
import type { WatchTarget } from './list-watcher.ts';

export const CRD_GROUP = 'mycrd.com';
export const CRD_VERSION = 'v1';
export const CRD_PLURAL = 'criticalservices';

const scopes = (namespaces: readonly string[]): string[] => (namespaces.length ? [...namespaces] : ['']);

function target(kc: KubeConfig, kind: WatchTarget['kind'], scope: string, path: string): WatchTarget {
  const lister = listerFor(kind);
  return {
    kind,
    scope,
    path,
    pageSize: lister.pageSize,
    listsStripped: lister.stripped,
    list: ({ limit, continue: c }) => lister.page(kc, path, limit, c),
  };
}

export function serviceTargets(kc: KubeConfig, namespaces: readonly string[]): WatchTarget[] {
  return scopes(namespaces).map((ns) =>
    target(kc, 'Service', ns, ns ? `/api/v1/namespaces/${ns}/services` : '/api/v1/services'),
  );
}

export function podTargets(kc: KubeConfig, namespaces: readonly string[]): WatchTarget[] {
  return scopes(namespaces).map((ns) => target(kc, 'Pod', ns, ns ? `/api/v1/namespaces/${ns}/pods` : '/api/v1/pods'));
}

export function criticalServiceTargets(kc: KubeConfig): WatchTarget[] {
  return [target(kc, 'CriticalService', '', `/apis/${CRD_GROUP}/${CRD_VERSION}/${CRD_PLURAL}`)];
}
