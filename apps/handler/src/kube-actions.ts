// The handler's only door to the API server: narrow, so the controller can be read (and
// tested) without knowing client-node.
import { hostname } from 'node:os';
import {
  CoreV1Api, CustomObjectsApi, PatchStrategy, setHeaderOptions, type KubeConfig, type V1Pod,
} from '@kubernetes/client-node';
import { CRD_GROUP, CRD_PLURAL, CRD_VERSION, httpStatus, listPage, type RawPage } from '@critsvc/shared';
import { ownerReference } from './model/default-pod.ts';
import type { OwnerRef } from './model/types.ts';

export type CreateResult = 'created' | 'exists';
export type OwnersResult = 'patched' | 'gone' | 'replaced';
export type DeleteResult = 'deleted' | 'gone' | 'replaced';

export interface ServiceRef {
  namespace: string;
  name: string;
  uid: string;
}

export interface KubeActions {
  createPod(pod: Record<string, unknown>): Promise<CreateResult>;
  /** Deletes only the pod with that uid: never a pod that replaced ours under the same name. force: grace period 0. */
  deletePod(namespace: string, name: string, uid: string, force?: boolean): Promise<DeleteResult>;
  /**
   * Sets the CriticalService ownerReferences of the pod with that uid (other owners untouched):
   * `owners` merged in by uid, `stale` removed.
   */
  patchPodOwners(namespace: string, name: string, uid: string, owners: OwnerRef[], stale: OwnerRef[]): Promise<OwnersResult>;
  readTemplate(namespace: string, name: string): Promise<unknown>;
  recordEvent(svc: ServiceRef, type: 'Normal' | 'Warning', reason: string, message: string): Promise<void>;
  patchCritStatus(name: string, status: Record<string, unknown>): Promise<'patched' | 'gone'>;
  /** Every page of a list (plain JSON, 500 objects a page), for the start-up state. */
  listPages(path: string): AsyncIterable<RawPage>;
}

const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
const strategicMergePatch = setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch);
const FIELD_MANAGER = 'critsvc-handler';

export function kubeActions(kc: KubeConfig): KubeActions {
  const core = kc.makeApiClient(CoreV1Api);
  const custom = kc.makeApiClient(CustomObjectsApi);
  const instance = hostname();

  return {
    async createPod(pod) {
      const ns = (pod.metadata as { namespace: string }).namespace;
      try {
        await core.createNamespacedPod({ namespace: ns, body: pod as V1Pod, fieldManager: FIELD_MANAGER });
        return 'created';
      } catch (err) {
        if (httpStatus(err) === 409) return 'exists';
        throw err;
      }
    },
    async deletePod(namespace, name, uid, force = false) {
      try {
        await core.deleteNamespacedPod({ namespace, name, body: { preconditions: { uid }, ...(force ? { gracePeriodSeconds: 0 } : {}) } });
        return 'deleted';
      } catch (err) {
        const code = httpStatus(err);
        if (code === 404) return 'gone';
        if (code === 409) return 'replaced'; // uid precondition failed: not the pod we meant
        throw err;
      }
    },
    async patchPodOwners(namespace, name, uid, owners, stale) {
      // Strategic merge: ownerReferences merge by uid, so owners set by others stay. metadata.uid
      // makes it a precondition: a pod that replaced ours under the same name answers 409.
      const body = { metadata: { uid, ownerReferences: [...stale.map((o) => ({ uid: o.uid, $patch: 'delete' })), ...owners.map(ownerReference)] } };
      try {
        await core.patchNamespacedPod({ namespace, name, body, fieldManager: FIELD_MANAGER }, strategicMergePatch);
        return 'patched';
      } catch (err) {
        const code = httpStatus(err);
        if (code === 404) return 'gone';
        if (code === 409) return 'replaced';
        throw err;
      }
    },
    async readTemplate(namespace, name) {
      return core.readNamespacedPodTemplate({ namespace, name });
    },
    async recordEvent(svc, type, reason, message) {
      const now = new Date();
      await core.createNamespacedEvent({
        namespace: svc.namespace,
        body: {
          metadata: { generateName: `${svc.name}.`, namespace: svc.namespace },
          involvedObject: { apiVersion: 'v1', kind: 'Service', namespace: svc.namespace, name: svc.name, uid: svc.uid },
          type, reason, message, count: 1, firstTimestamp: now, lastTimestamp: now,
          source: { component: FIELD_MANAGER }, reportingComponent: FIELD_MANAGER, reportingInstance: instance,
        },
      });
    },
    async patchCritStatus(name, status) {
      try {
        await custom.patchClusterCustomObjectStatus(
          { group: CRD_GROUP, version: CRD_VERSION, plural: CRD_PLURAL, name, body: { status }, fieldManager: FIELD_MANAGER },
          mergePatch,
        );
        return 'patched';
      } catch (err) {
        if (httpStatus(err) === 404) return 'gone';
        throw err;
      }
    },
    async *listPages(path) {
      let cont: string | undefined;
      do {
        const page = await listPage(kc, path, 500, cont);
        yield page;
        cont = page.continue;
      } while (cont);
    },
  };
}
