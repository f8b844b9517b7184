// Building blocks of the acceptance scenarios, all through the real API server.
import { DiscoveryV1Api, type V1Pod, type V1Service } from '@kubernetes/client-node';
import { MANUAL, setPodStatus, statusOf, type Kube } from './kube.ts';
import { eventually } from './wait.ts';

export const GROUP = { group: 'mycrd.com', version: 'v1', plural: 'criticalservices' };
export const OWNED = 'service-watcher';

export async function createService(
  k: Kube,
  ns: string,
  name: string,
  o: { labels?: Record<string, string>; selector?: Record<string, string>; type?: string; targetPort?: number } = {},
): Promise<V1Service> {
  const spec: V1Service['spec'] =
    o.type === 'ExternalName'
      ? { type: 'ExternalName', externalName: 'example.org' }
      : {
          ...(o.selector === undefined
            ? { selector: { role: name } }
            : Object.keys(o.selector).length
              ? { selector: o.selector }
              : {}),
          ports: [{ port: 80, targetPort: o.targetPort ?? 8080 }],
        };
  return k.core.createNamespacedService({
    namespace: ns,
    body: { metadata: { name, labels: o.labels ?? { role: name } }, spec },
  });
}

/**
 * A "real" pod, returned once Ready. On the full local cluster the scheduler binds it and kwok
 * starts it; on a bare control plane (k.kubelet === 'manual') the test reports its status as a
 * kubelet would.
 */
export async function createRealPod(
  k: Kube,
  ns: string,
  name: string,
  labels: Record<string, string>,
  o: { annotations?: Record<string, string> } = {},
): Promise<V1Pod> {
  const annotations = { ...o.annotations, ...(k.kubelet === 'manual' ? MANUAL : {}) };
  const pod = await k.core.createNamespacedPod({
    namespace: ns,
    body: {
      metadata: { name, labels, annotations },
      spec: { containers: [{ name: 'app', image: 'nginx:1.27' }], terminationGracePeriodSeconds: 1 },
    },
  });
  if (k.kubelet === 'manual') return setPodStatus(k, ns, name, { ready: true });
  let ready: V1Pod = pod;
  await eventually(
    `pod ${ns}/${name} Ready (scheduled and started by kwok)`,
    async () => {
      ready = await k.core.readNamespacedPod({ namespace: ns, name });
      return ready.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
    },
    30_000,
  );
  return ready;
}

/**
 * On a bare control plane nobody runs the EndpointSlice controller: the test publishes the ready
 * endpoint it would (the Service's name label, the pod as targetRef), which is what critsvc reads
 * before it hands a Service back to its real pods.
 */
export async function publishEndpoint(k: Kube, ns: string, service: string, pod: V1Pod): Promise<void> {
  await k.kc.makeApiClient(DiscoveryV1Api).createNamespacedEndpointSlice({
    namespace: ns,
    body: {
      metadata: { name: `${service}-${pod.metadata?.name ?? ''}`, labels: { 'kubernetes.io/service-name': service } },
      addressType: 'IPv4',
      ports: [{ port: 8080, protocol: 'TCP' }],
      endpoints: [
        {
          addresses: ['10.0.0.1'],
          conditions: { ready: true },
          targetRef: { kind: 'Pod', namespace: ns, name: pod.metadata?.name, uid: pod.metadata?.uid },
        },
      ],
    },
  });
}

export async function createTemplate(
  k: Kube,
  ns: string,
  name = 'critical-service-pod-template',
  containerPort = 80,
  gracePeriodSeconds = 2,
): Promise<void> {
  const body = {
    metadata: { name },
    // A short grace period: kwok removes a terminating pod when it ends, as a kubelet does for a
    // container that ignores SIGTERM; until then the pod holds the default pod's name.
    template: {
      metadata: { labels: { from: 'template' } },
      spec: {
        terminationGracePeriodSeconds: gracePeriodSeconds,
        containers: [{ name: 'maintenance', image: 'nginx:1.27-alpine', ports: [{ containerPort }] }],
      },
    },
  };
  try {
    await k.core.createNamespacedPodTemplate({ namespace: ns, body });
  } catch (err) {
    if (statusOf(err) !== 409) throw err;
    await k.core.replaceNamespacedPodTemplate({
      namespace: ns,
      name,
      body: {
        ...body,
        metadata: {
          ...body.metadata,
          resourceVersion: (await k.core.readNamespacedPodTemplate({ namespace: ns, name })).metadata?.resourceVersion,
        },
      },
    });
  }
}

export interface CritSpec {
  namespace?: string;
  matchLabels: { key: string; value: string }[];
  defaultPod?: { templateRef?: { namespace: string; name: string }; message?: string; hotStandby?: boolean };
}

export async function createCrit(k: Kube, name: string, spec: CritSpec): Promise<void> {
  await deleteCrit(k, name);
  await k.custom.createClusterCustomObject({
    ...GROUP,
    body: { apiVersion: 'mycrd.com/v1', kind: 'CriticalService', metadata: { name }, spec },
  });
}

export async function deleteCrit(k: Kube, name: string): Promise<void> {
  try {
    await k.custom.deleteClusterCustomObject({ ...GROUP, name });
  } catch (err) {
    if (statusOf(err) !== 404) throw err;
  }
}

export interface CritStatus {
  observedGeneration?: number;
  coveredServices?: number;
  lameCount?: number;
  defaultPodCount?: number;
  lameServices?: string[];
  defaultPods?: string[];
  standbyPodCount?: number;
  standbyPods?: string[];
  conditions?: { type: string; status: string; reason: string; message: string }[];
}

export async function critStatus(k: Kube, name: string): Promise<CritStatus | undefined> {
  const obj = (await k.custom.getClusterCustomObject({ ...GROUP, name })) as { status?: CritStatus };
  return obj.status;
}

export async function pods(k: Kube, ns: string): Promise<V1Pod[]> {
  return (await k.core.listNamespacedPod({ namespace: ns })).items;
}

export const isOwned = (p: V1Pod): boolean => p.metadata?.annotations?.[OWNED] === 'owned';

export async function defaultPods(k: Kube, ns: string): Promise<V1Pod[]> {
  return (await pods(k, ns)).filter((p) => isOwned(p) && !p.metadata?.deletionTimestamp);
}

export async function deletePod(k: Kube, ns: string, name: string): Promise<void> {
  await k.core.deleteNamespacedPod({ namespace: ns, name, gracePeriodSeconds: 0 });
}

export async function events(k: Kube, ns: string): Promise<{ reason: string; message: string; object: string }[]> {
  return (await k.core.listNamespacedEvent({ namespace: ns })).items.map((e) => ({
    reason: e.reason ?? '',
    message: e.message ?? '',
    object: e.involvedObject.name ?? '',
  }));
}
