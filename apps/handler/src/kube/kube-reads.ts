// The handler's reads of the API server: live objects and lists for the checks before a create,
// at least as new as the state (freshRead), and the list pages of the start-up state.
import type { KubeConfig } from '@kubernetes/client-node';
import {
  CRD_GROUP,
  CRD_PLURAL,
  CRD_VERSION,
  getJson,
  listerFor,
  listPage,
  listPodPage,
  type KubeObject,
} from '@critsvc/shared';
import type { KubeActions } from './kube-actions.ts';
import { isComparable } from '../model/resource-version.ts';

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

export function kubeReads(
  kc: KubeConfig,
): Pick<
  KubeActions,
  | 'readPod'
  | 'readService'
  | 'listPods'
  | 'listEndpointSlices'
  | 'listCriticalServices'
  | 'currentRevision'
  | 'readCriticalService'
  | 'listPages'
> {
  return {
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
