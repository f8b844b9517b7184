// A complete list, page by page, pushed as ADDED jobs carrying the list's id, with back-pressure
// between pages: what ListWatcher takes before it watches, and after a 410 Gone.
import { randomBytes } from 'node:crypto';
import type { RawPage } from './kube-list.ts';
import type { Kind, KubeObject, SyncJob, WatchJob } from './types.ts';

/** One page of a list, as the API server returns it. */
export type ListPage = RawPage;

export interface WatchTarget<K extends string = Kind> {
  kind: K;
  /** A namespace, or '' for all namespaces / a cluster-scoped resource. */
  scope: string;
  /** e.g. /api/v1/namespaces/ns/pods */
  path: string;
  list: (opts: { limit: number; continue?: string }) => Promise<ListPage>;
  /** Added to every watch request (list adds its own), e.g. a fieldSelector naming one object. */
  query?: Record<string, string>;
  /** Objects per list page (LIST_PAGE by default). */
  pageSize?: number;
  /** `list` gives its objects stripped already (pods decoded from protobuf): not stripped again. */
  listsStripped?: boolean;
}

/** A queue job, for any kind watched (the queue's kinds by default). */
export type ListedJob<K extends string = Kind> =
  (Omit<WatchJob, 'kind'> & { kind: K }) | (Omit<SyncJob, 'kind'> & { kind: K });

const LIST_PAGE = 500;

/**
 * A complete list, page by page: each page's objects are pushed as ADDED as soon as it arrives
 * (each is true at the list's version; a list that fails half-way is simply taken again), and
 * the next page is asked for only once `room` says the consumer can take more. Every ADDED
 * carries the list's id; gives the list's version, id and size, for the SYNCED marker that
 * tells what is gone (the objects of that scope no ADDED of this list named).
 */
export async function listInto<K extends string>(o: {
  target: Pick<WatchTarget<K>, 'kind' | 'list' | 'pageSize' | 'listsStripped'>;
  push: (job: ListedJob<K>) => void;
  strip: (obj: unknown) => KubeObject;
  now: () => number;
  room?: () => Promise<void>;
}): Promise<{ resourceVersion: string; list: string; count: number }> {
  // Short: every listed job carries it (48 random bits tell this scope's lists apart).
  const list = randomBytes(6).toString('base64url');
  let count = 0;
  let cont: string | undefined;
  let rv: string;
  do {
    if (cont) await o.room?.();
    const page = await o.target.list({ limit: o.target.pageSize ?? LIST_PAGE, ...(cont ? { continue: cont } : {}) });
    for (const item of page.items) {
      const object = o.target.listsStripped ? (item as KubeObject) : o.strip(item);
      o.push({ kind: o.target.kind, type: 'ADDED', object, seenAt: o.now(), list });
      count++;
    }
    rv = page.resourceVersion;
    cont = page.continue || undefined;
  } while (cont);
  return { resourceVersion: rv, list, count };
}
