// Builders for the decision model's unit tables (apps/handler/src/model/*.test.ts).
import { SERVICE_LABEL } from '../../apps/handler/src/model/rules.ts';
import type { CritInfo, LabelPair, PodInfo, ServiceInfo } from '../../apps/handler/src/model/types.ts';

let rv = 100;
const nextRv = (): string => String(++rv);

export function svc(name: string, o: Partial<ServiceInfo> = {}): ServiceInfo {
  const namespace = o.namespace ?? 'ns';
  return {
    key: `${namespace}/${name}`,
    namespace,
    name,
    uid: `uid-svc-${name}`,
    resourceVersion: nextRv(),
    labels: { role: 'frontend' },
    selector: { role: 'frontend' },
    type: 'ClusterIP',
    ports: [{ port: 80, targetPort: 8080, protocol: 'TCP' }],
    publishNotReady: false,
    ...o,
  };
}

export function pod(
  name: string,
  labels: Record<string, string>,
  o: Partial<PodInfo> & { owned?: boolean; forService?: string } = {},
): PodInfo {
  const namespace = o.namespace ?? 'ns';
  const owned = o.owned ?? false;
  const forService = o.forService ?? (owned ? (labels[SERVICE_LABEL] ?? 'frontend') : undefined);
  return {
    key: `${namespace}/${name}`,
    namespace,
    name,
    uid: `uid-pod-${name}`,
    resourceVersion: nextRv(),
    labels,
    terminating: false,
    phase: 'Running',
    ready: true,
    hasIP: true,
    legacy: false,
    standby: false,
    ...o,
    owned,
    ...(forService !== undefined ? { forService } : {}),
  };
}

export function crit(name: string, matchLabels: LabelPair[], namespace?: string): CritInfo {
  return {
    name,
    uid: `uid-crit-${name}`,
    resourceVersion: nextRv(),
    generation: 1,
    matchLabels,
    problems: [],
    ...(namespace !== undefined ? { namespace } : {}),
  };
}
