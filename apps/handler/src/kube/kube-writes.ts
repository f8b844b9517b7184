// The handler's writes to the API server: default pods created, deleted, re-owned and promoted
// (each after a live read, with preconditions), Events and CriticalService status.
import { hostname } from 'node:os';
import type { KubeConfig } from '@kubernetes/client-node';
import { CRD_GROUP, CRD_PLURAL, CRD_VERSION, getJson, httpStatus, requestJson, type KubeObject } from '@critsvc/shared';
import type { KubeActions, PodRef } from './kube-actions.ts';
import { ownerReference } from '../model/default-pod.ts';
import {
  hasOwnershipMarks,
  MANAGED_BY_LABEL,
  MANAGED_BY_VALUE,
  OWNER_ANNOTATION,
  OWNER_ANNOTATION_VALUE,
  SERVICE_LABEL,
  STANDBY_LABEL,
} from '../model/rules.ts';

/** The live pod changed between our read and our write: decide again. */
export class LiveConflict extends Error {
  override name = 'LiveConflict';
}

function writeFailed(err: unknown): 'gone' {
  const code = httpStatus(err);
  if (code === 404) return 'gone';
  // A precondition failed: the uid (another pod under the name) or the resourceVersion (changed since read).
  if (code === 409)
    throw new LiveConflict(
      `the pod changed since it was read: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`,
    );
  throw err;
}

const FIELD_MANAGER = 'critsvc-handler';

export function kubeWrites(
  kc: KubeConfig,
): Pick<KubeActions, 'createPod' | 'deletePod' | 'patchPodOwners' | 'promotePod' | 'recordEvent' | 'patchCritStatus'> {
  const instance = hostname();

  /** The live pod's resourceVersion if it is the default pod meant, else why not. */
  async function readOurs(ref: PodRef): Promise<{ resourceVersion: string } | 'gone' | 'replaced' | 'refused'> {
    const live = (await getJson(kc, `/api/v1/namespaces/${ref.namespace}/pods/${ref.name}`)) as KubeObject | undefined;
    if (!live) return 'gone';
    const m = live.metadata ?? {};
    if (m.uid !== ref.uid) return 'replaced';
    if (!hasOwnershipMarks(m.labels ?? {}, m.annotations ?? {}) || m.labels?.[SERVICE_LABEL] !== ref.service)
      return 'refused';
    return { resourceVersion: m.resourceVersion ?? '' };
  }

  return {
    async createPod(pod) {
      const ns = (pod.metadata as { namespace: string }).namespace;
      try {
        const { body } = await requestJson(kc, 'POST', `/api/v1/namespaces/${ns}/pods`, {
          body: pod,
          query: { fieldManager: FIELD_MANAGER },
        });
        return { result: 'created', uid: (body as KubeObject).metadata?.uid ?? '' };
      } catch (err) {
        if (httpStatus(err) === 409) return { result: 'exists' };
        throw err;
      }
    },
    async deletePod(ref, force = false) {
      const live = await readOurs(ref);
      if (typeof live === 'string') return live;
      try {
        await requestJson(kc, 'DELETE', `/api/v1/namespaces/${ref.namespace}/pods/${ref.name}`, {
          body: {
            preconditions: { uid: ref.uid, resourceVersion: live.resourceVersion },
            ...(force ? { gracePeriodSeconds: 0 } : {}),
          },
        });
        return 'deleted';
      } catch (err) {
        return writeFailed(err);
      }
    },
    async patchPodOwners(ref, owners, stale) {
      const live = await readOurs(ref);
      if (typeof live === 'string') return live;
      // Strategic merge: ownerReferences merge by uid, so owners set by others stay. metadata.uid
      // and resourceVersion are preconditions: the pod we checked, unchanged since.
      const body = {
        metadata: {
          uid: ref.uid,
          resourceVersion: live.resourceVersion,
          ownerReferences: [...stale.map((o) => ({ uid: o.uid, $patch: 'delete' })), ...owners.map(ownerReference)],
        },
      };
      try {
        await requestJson(kc, 'PATCH', `/api/v1/namespaces/${ref.namespace}/pods/${ref.name}`, {
          body,
          query: { fieldManager: FIELD_MANAGER },
          contentType: 'application/strategic-merge-patch+json',
        });
        return 'patched';
      } catch (err) {
        return writeFailed(err);
      }
    },
    async promotePod(ref, selector) {
      try {
        await requestJson(kc, 'PATCH', `/api/v1/namespaces/${ref.namespace}/pods/${ref.name}`, {
          body: promotionPatch(ref, selector),
          query: { fieldManager: FIELD_MANAGER },
          contentType: 'application/json-patch+json',
        });
        return 'promoted';
      } catch (err) {
        if (httpStatus(err) === 404) return 'gone';
        // A test operation failed (422; 409 for a path the pod lacks): say which, from the live pod.
        if (httpStatus(err) !== 422 && httpStatus(err) !== 409) throw err;
        const live = await readOurs(ref);
        return typeof live === 'string' ? live : 'changed';
      }
    },
    // its whole generated API (~30 MB of RSS) for these two calls.
    async recordEvent(svc, type, reason, message) {
      const now = new Date().toISOString();
      await requestJson(kc, 'POST', `/api/v1/namespaces/${svc.namespace}/events`, {
        body: {
          apiVersion: 'v1',
          kind: 'Event',
          metadata: { generateName: `${svc.name}.`, namespace: svc.namespace },
          involvedObject: {
            apiVersion: 'v1',
            kind: svc.kind ?? 'Service',
            namespace: svc.namespace,
            name: svc.name,
            ...(svc.uid ? { uid: svc.uid } : {}),
          },
          type,
          reason,
          message,
          count: 1,
          firstTimestamp: now,
          lastTimestamp: now,
          source: { component: FIELD_MANAGER },
          reportingComponent: FIELD_MANAGER,
          reportingInstance: instance,
        },
      });
    },
    async patchCritStatus(name, status) {
      try {
        await requestJson(kc, 'PATCH', `/apis/${CRD_GROUP}/${CRD_VERSION}/${CRD_PLURAL}/${name}/status`, {
          body: { status },
          contentType: 'application/merge-patch+json',
          query: { fieldManager: FIELD_MANAGER },
        });
        return 'patched';
      } catch (err) {
        if (httpStatus(err) === 404) return 'gone';
        throw err;
      }
    },
  };
}

/** JSON Pointer escaping of a label or annotation key (RFC 6901). */
const pointer = (key: string): string => key.replace(/~/g, '~0').replace(/\//g, '~1');

export function promotionPatch(ref: PodRef, selector: Readonly<Record<string, string>>): Record<string, unknown>[] {
  const test = (path: string, value: string): Record<string, unknown> => ({ op: 'test', path, value });
  return [
    test('/metadata/uid', ref.uid),
    test(`/metadata/annotations/${pointer(OWNER_ANNOTATION)}`, OWNER_ANNOTATION_VALUE),
    test(`/metadata/labels/${pointer(MANAGED_BY_LABEL)}`, MANAGED_BY_VALUE),
    test(`/metadata/labels/${pointer(SERVICE_LABEL)}`, ref.service),
    test(`/metadata/labels/${pointer(STANDBY_LABEL)}`, 'true'),
    { op: 'remove', path: `/metadata/labels/${pointer(STANDBY_LABEL)}` },
    ...Object.entries(selector).map(([k, v]) => ({ op: 'add', path: `/metadata/labels/${pointer(k)}`, value: v })),
  ];
}
