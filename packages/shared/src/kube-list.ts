// Lists, page by page: JSON pages, and pod pages in protobuf decoded straight to the stripped
// shape; which of the two each kind is listed with.
import type { KubeConfig } from '@kubernetes/client-node';
import { call, getJson } from './kube.ts';
import { decodePodList, PROTOBUF, PROTOBUF_OR_JSON } from './pod-protobuf.ts';
import { stripObject } from './strip.ts';
import type { KubeObject } from './types.ts';

export interface RawPage {
  items: unknown[];
  resourceVersion: string;
  continue?: string;
}

/**
 * One page of a list as plain JSON. client-node's typed lists build a class instance (and Date
 * objects) for every field of every object: for 20,000 pods that is most of a process's memory
 * and start-up time, for objects we trim right away.
 */
export async function listPage(
  kc: KubeConfig,
  path: string,
  limit: number,
  cont?: string,
  query: Record<string, string> = {},
  timeoutMs?: number,
): Promise<RawPage> {
  const list = (await getJson(
    kc,
    path,
    { ...query, limit: String(limit), ...(cont ? { continue: cont } : {}) },
    timeoutMs,
  )) as JsonList | undefined;
  if (!list) throw Object.assign(new Error(`GET ${path}: HTTP 404`), { statusCode: 404 });
  return rawPage(list);
}

type JsonList = { items?: unknown[]; metadata?: { resourceVersion?: string; continue?: string } };

function rawPage(list: JsonList): RawPage {
  return {
    items: list.items ?? [],
    resourceVersion: list.metadata?.resourceVersion ?? '',
    ...(list.metadata?.continue ? { continue: list.metadata.continue } : {}),
  };
}

/**
 * Pods listed per page. The API server's cost of a page grows with the number of objects it
 * holds, not only with the page (each continue request seeks through its cache again): listing
 * 150,000 pods here took 14 s (14-19 s of its CPU) in pages of 500 and 6-8 s (6-11 s) in pages
 * of 2,000, in protobuf. A page of 2,000 real pods is a few MB of protobuf, decoded to what
 * critsvc keeps as it is read.
 */
export const POD_LIST_PAGE = 2_000;

/**
 * One page of a pod list, its pods already stripped (stripObject's shape), asked for in protobuf:
 * listing 150,000 pods here in pages of 500, protobuf took 11.5-13 s against 17.5-22 s for JSON,
 * the API server used 14-17 s of CPU against 21-23 s, and the client 2.7-3.2 s against 5.9-7.2 s
 * (JSON.parse and stripObject), as only the fields critsvc reads are decoded (pod-protobuf.ts).
 * A server that answers JSON instead (a proxy in between that only passes JSON) is read as JSON.
 */
export async function listPodPage(
  kc: KubeConfig,
  path: string,
  limit: number,
  cont?: string,
  query: Record<string, string> = {},
  timeoutMs?: number,
): Promise<Omit<RawPage, 'items'> & { items: KubeObject[] }> {
  const res = await call(kc, 'GET', path, {
    query: { ...query, limit: String(limit), ...(cont ? { continue: cont } : {}) },
    accept: PROTOBUF_OR_JSON,
    ...(timeoutMs === undefined ? {} : { timeoutMs }),
  });
  if (res.status === 404) throw Object.assign(new Error(`GET ${path}: HTTP 404`), { statusCode: 404 });
  if (res.contentType.startsWith(PROTOBUF)) return decodePodList(res.bytes);
  const page = rawPage(JSON.parse(res.bytes.toString('utf8')) as JsonList);
  return { ...page, items: page.items.map((p) => stripObject('Pod', p)) };
}

/** How a kind's lists are taken (by the watchers and by the handler): pages, their size, stripped or not. */
export interface Lister {
  pageSize: number;
  /** The page's objects come stripped already. */
  stripped: boolean;
  page: (kc: KubeConfig, path: string, limit: number, cont?: string) => Promise<RawPage>;
}

/** Pods, the bulk of a cluster, in protobuf and POD_LIST_PAGE to a page; the rest as JSON, 500 to a page. */
export function listerFor(kind: string): Lister {
  return kind === 'Pod'
    ? { pageSize: POD_LIST_PAGE, stripped: true, page: listPodPage }
    : { pageSize: 500, stripped: false, page: listPage };
}
