// The handler's only door to the API server: narrow, so the controller can be read (and
// tested) without knowing client-node.
import { hostname } from 'node:os';
import type { KubeConfig } from '@kubernetes/client-node';
import {
  CRD_GROUP,
  CRD_PLURAL,
  CRD_VERSION,
  getJson,
  httpStatus,
  listerFor,
  listPage,
  listPodPage,
  ListWatcher,
  requestJson,
  type Kind,
  type KubeObject,
  type RawPage,
} from '@critsvc/shared';
import { ownerReference } from '../model/default-pod.ts';
import { isComparable } from '../model/resource-version.ts';
import {
  hasOwnershipMarks,
  MANAGED_BY_LABEL,
  MANAGED_BY_VALUE,
  OWNER_ANNOTATION,
  OWNER_ANNOTATION_VALUE,
  SERVICE_LABEL,
  STANDBY_LABEL,
} from '../model/rules.ts';
import type { OwnerRef, TemplateRef } from '../model/types.ts';
import type { TemplateWatch, WatchTemplate } from './template-watch.ts';

/** The template watches' server-side timeout and stall margin (the watchers' defaults). */
const TEMPLATE_WATCH_TIMEOUT_SECONDS = 300;
const TEMPLATE_WATCH_STALL_SECONDS = 30;

/** created: with the new pod's uid (what undoing it needs); exists: the name was taken already. */
export type CreateResult = { result: 'created'; uid: string } | { result: 'exists' };
/** refused: the live pod lacks critsvc's ownership marks (or is another Service's): never touched. */
export type OwnersResult = 'patched' | 'gone' | 'replaced' | 'refused';
export type DeleteResult = 'deleted' | 'gone' | 'replaced' | 'refused';
/** changed: the live pod is ours but no longer a warm pod (promoted already, or relabelled). */
export type PromoteResult = 'promoted' | 'gone' | 'replaced' | 'refused' | 'changed';

/** Which pod an action means: the queue said so, the live object must agree. */
export interface PodRef {
  namespace: string;
  name: string;
  uid: string;
  /** The Service the default pod stands in for. */
  service: string;
}

/** The live pod changed between our read and our write: decide again. */
export class LiveConflict extends Error {
  override name = 'LiveConflict';
}

export interface ServiceRef {
  namespace: string;
  name: string;
  uid: string;
  /** What the Event is about: a Service unless said otherwise. */
  kind?: 'Service' | 'PodTemplate';
}

export interface KubeActions {
  createPod(pod: Record<string, unknown>): Promise<CreateResult>;
  /**
   * Deletes a default pod, after reading it live: only if it carries both ownership marks, stands
   * in for that Service and has that uid; with uid and resourceVersion preconditions, so that
   * nothing changed in between (a queue payload is a hint, never proof). force: grace period 0.
   */
  deletePod(pod: PodRef, force?: boolean): Promise<DeleteResult>;
  /**
   * Sets the CriticalService ownerReferences of a default pod (other owners untouched: `owners`
   * merged in by uid, `stale` removed), after the same live checks as deletePod.
   */
  patchPodOwners(pod: PodRef, owners: OwnerRef[], stale: OwnerRef[]): Promise<OwnersResult>;
  /**
   * Hot standby: relabels a warm pod into its Service (adds the selector's labels, removes the
   * standby label) in one JSON patch whose `test` operations check the live object: that uid,
   * both ownership marks, that Service, still a warm pod. Nothing else is touched.
   */
  promotePod(pod: PodRef, selector: Readonly<Record<string, string>>): Promise<PromoteResult>;
  readPod(namespace: string, name: string): Promise<KubeObject | undefined>;
  /**
   * Plain JSON reads for the live check before a create: the Service, its pods, the
   * CriticalServices. notOlderThan: the resourceVersion the state reflects; the answer is then at
   * least that new, from the API server's watch cache (see freshRead). Without it, a quorum read.
   */
  readService(namespace: string, name: string, notOlderThan?: string): Promise<KubeObject | undefined>;
  /** resourceVersion: the version the list was answered at. */
  listPods(
    namespace: string,
    labelSelector: string,
    notOlderThan?: string,
  ): Promise<{ items: KubeObject[]; resourceVersion: string }>;
  readCriticalService(name: string, notOlderThan?: string): Promise<KubeObject | undefined>;
  /** The Service's EndpointSlices (label kubernetes.io/service-name), every page: what its clients are sent to. */
  listEndpointSlices(namespace: string, service: string): Promise<KubeObject[]>;
  /** Every CriticalService, every page, as a consistent read. */
  listCriticalServices(): Promise<{ items: KubeObject[]; resourceVersion: string }>;
  /** The API server's newest resourceVersion, from a consistent one-object list of `path`. */
  currentRevision(path: string): Promise<string>;
  /**
   * Lists then watches one PodTemplate (fieldSelector metadata.name, so that RBAC resourceNames
   * can allow just it), resuming, re-listing on 410 and reconnecting as the watchers do.
   */
  watchTemplate: WatchTemplate;
  recordEvent(svc: ServiceRef, type: 'Normal' | 'Warning', reason: string, message: string): Promise<void>;
  patchCritStatus(name: string, status: Record<string, unknown>): Promise<'patched' | 'gone'>;
  /** Every page of a list (pods in protobuf, already stripped: see listerFor), for the start-up state. */
  listPages(kind: Kind, path: string): AsyncIterable<RawPage>;
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

/** Objects to a page in the live checks' lists (every page is read). */
export const LIVE_PAGE = 500;

/** How long a read at the state's resourceVersion may take before it is taken again as a quorum read. */
export const FRESH_READ_TIMEOUT_MS = 1_000;

/**
 * The query of a read at least as new as `rv`, or undefined when rv cannot be one (absent, "0"
 * meaning "any", not an etcd revision).
 */
export function notOlderThanQuery(rv: string | undefined, list: boolean): Record<string, string> | undefined {
  if (rv === undefined || rv === '0' || !isComparable(rv)) return undefined;
  return list ? { resourceVersion: rv, resourceVersionMatch: 'NotOlderThan' } : { resourceVersion: rv };
}

/**
 * A read the API server answers from its watch cache once the cache is at least at `rv` (the
 * version the state reflects, which the watchers got from that cache). Without a resourceVersion
 * a get is a quorum read from etcd, and a list a consistent read: since Kubernetes 1.31 served
 * from the cache too, but only once etcd's progress notification confirms the cache is current;
 * while the newest write in etcd went to another resource (an EndpointSlice, a Lease, an Event:
 * always, in a busy cluster) that waits up to the 100 ms progress-request period. Measured here:
 * a pod list 89-96 ms after an unrelated write, 2.6 ms at the state's version (a get 2.8 → 2.0 ms).
 * rv comes from queue payloads, which may lie: a version from the future makes the API server
 * wait (3 s, then 504 "Too large resource version"), a malformed one is refused (400). Either way,
 * or on a timeout, the read is taken again as a consistent one: a forged version can delay a
 * decision by FRESH_READ_TIMEOUT_MS, never change it.
 */
async function freshRead<T>(
  rv: string | undefined,
  list: boolean,
  read: (query: Record<string, string>, timeoutMs?: number) => Promise<T>,
): Promise<T> {
  const query = notOlderThanQuery(rv, list);
  if (!query) return read({});
  try {
    return await read(query, FRESH_READ_TIMEOUT_MS);
  } catch {
    return read({});
  }
}

export function kubeActions(kc: KubeConfig): KubeActions {
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
    async readPod(namespace, name) {
      return (await getJson(kc, `/api/v1/namespaces/${namespace}/pods/${name}`)) as KubeObject | undefined;
    },
    async readService(namespace, name, notOlderThan) {
      return freshRead(
        notOlderThan,
        false,
        async (query, timeoutMs) =>
          (await getJson(kc, `/api/v1/namespaces/${namespace}/services/${name}`, query, timeoutMs)) as
            KubeObject | undefined,
      );
    },
    async listPods(namespace, labelSelector, notOlderThan) {
      return freshRead(notOlderThan, true, async (query, timeoutMs) => {
        // Every page: a Service may select more pods than one page holds. The next pages carry the
        // continue token only (it pins the first page's version; a resourceVersion beside it is refused).
        const path = `/api/v1/namespaces/${namespace}/pods`;
        const first = await listPodPage(kc, path, LIVE_PAGE, undefined, { labelSelector, ...query }, timeoutMs);
        const items = [...first.items];
        for (let cont = first.continue; cont;) {
          const page = await listPodPage(kc, path, LIVE_PAGE, cont, { labelSelector }, timeoutMs);
          items.push(...page.items);
          cont = page.continue;
        }
        return { items, resourceVersion: first.resourceVersion };
      });
    },
    async listEndpointSlices(namespace, service) {
      const path = `/apis/discovery.k8s.io/v1/namespaces/${namespace}/endpointslices`;
      const items: KubeObject[] = [];
      let cont: string | undefined;
      do {
        const page = await listPage(kc, path, LIVE_PAGE, cont, {
          labelSelector: `kubernetes.io/service-name=${service}`,
        });
        items.push(...(page.items as KubeObject[]));
        cont = page.continue;
      } while (cont);
      return items;
    },
    async listCriticalServices() {
      const path = `/apis/${CRD_GROUP}/${CRD_VERSION}/${CRD_PLURAL}`;
      const items: KubeObject[] = [];
      let cont: string | undefined;
      let resourceVersion = '';
      do {
        const page = await listPage(kc, path, LIVE_PAGE, cont);
        items.push(...(page.items as KubeObject[]));
        resourceVersion ||= page.resourceVersion;
        cont = page.continue;
      } while (cont);
      return { items, resourceVersion };
    },
    async currentRevision(path) {
      // A consistent list of one object: its resourceVersion is the API server's newest revision.
      return (await listPage(kc, path, 1)).resourceVersion;
    },
    async readCriticalService(name, notOlderThan) {
      return freshRead(
        notOlderThan,
        false,
        async (query, timeoutMs) =>
          (await getJson(kc, `/apis/${CRD_GROUP}/${CRD_VERSION}/${CRD_PLURAL}/${name}`, query, timeoutMs)) as
            KubeObject | undefined,
      );
    },
    watchTemplate(ref, on) {
      return templateWatch(kc, ref, on);
    },
    // Plain JSON on the shared pool, as every other call here: client-node's typed APIs would load
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
    async *listPages(kind, path) {
      const lister = listerFor(kind);
      let cont: string | undefined;
      do {
        const page = await lister.page(kc, path, lister.pageSize, cont);
        yield page;
        cont = page.continue;
      } while (cont);
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

function templateWatch(kc: KubeConfig, ref: TemplateRef, on: Parameters<WatchTemplate>[1]): TemplateWatch {
  const path = `/api/v1/namespaces/${ref.namespace}/podtemplates`;
  const query = { fieldSelector: `metadata.name=${ref.name}` };
  return new ListWatcher<'PodTemplate'>({
    kc,
    log: on.log,
    push: on.push,
    target: {
      kind: 'PodTemplate',
      scope: ref.namespace,
      path,
      query,
      list: async ({ limit, continue: c }) => {
        try {
          return await listPage(kc, path, limit, c, query);
        } catch (err) {
          on.listFailed(err);
          throw err;
        }
      },
    },
    // The whole object: the template is what matters.
    strip: (obj) => obj as KubeObject,
    timeoutSeconds: TEMPLATE_WATCH_TIMEOUT_SECONDS,
    stallSeconds: TEMPLATE_WATCH_STALL_SECONDS,
  });
}
