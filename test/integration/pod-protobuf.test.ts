// Pod lists in protobuf (what the handler's start-up list, its live check and watcher-pods' lists
// ask for) must read exactly what the JSON list reads after stripObject: the same pods, the same
// fields, zero values omitted as JSON omits them. Checked on the real API server's answers.
import { get, type RequestOptions } from 'node:https';
import { describe, expect, it } from 'vitest';
import { decodePodList } from '../../packages/shared/src/pod-protobuf.ts';
import {
  apiMessage,
  getJson,
  httpStatus,
  listPodPage,
  requestJson,
  stripObject,
} from '../../packages/shared/src/index.ts';
import { freshNamespace, kube, MANUAL } from '../support/kube.ts';
import { ensureCrd } from '../support/pipeline.ts';

const k = kube();

/** The raw answer of a list asked for in protobuf only: the test sees the bytes the decoder gets. */
async function protobufList(path: string): Promise<{ contentType: string; bytes: Buffer }> {
  const opts: RequestOptions = { headers: {} };
  await k.kc.applyToHTTPSOptions(opts);
  const url = new URL(`${k.kc.getCurrentCluster()?.server ?? ''}${path}`);
  url.searchParams.set('limit', '500');
  return new Promise((resolve, reject) => {
    get(url, { ...opts, headers: { ...opts.headers, accept: 'application/vnd.kubernetes.protobuf' } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ contentType: String(res.headers['content-type']), bytes: Buffer.concat(chunks) }));
      res.on('error', reject);
    }).on('error', reject);
  });
}

const CRITS = '/apis/mycrd.com/v1/criticalservices';
/** A CriticalService covering nothing (its namespace does not exist). */
const crit = (name: string): unknown => ({
  apiVersion: 'mycrd.com/v1',
  kind: 'CriticalService',
  metadata: { name },
  spec: { namespace: 'nowhere', matchLabels: [{ key: 'a', value: 'b' }] },
});

const pod = (
  name: string,
  extra: {
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    ownerReferences?: unknown[];
    finalizers?: string[];
  } = {},
): unknown => ({
  metadata: { name, ...extra, annotations: { ...MANUAL, ...extra.annotations } },
  spec: {
    containers: [{ name: 'app', image: 'nginx:1.27', env: [{ name: 'X', value: 'é'.repeat(50) }] }],
    terminationGracePeriodSeconds: 1,
  },
});

describe('pod lists in protobuf', () => {
  it('read the same stripped pods as the JSON list: labels, the ownership annotation, CriticalService owners, status, deletion', async () => {
    const ns = await freshNamespace(k, 'protobuf');
    // Owners that exist: the garbage collector removes references to owners it cannot find.
    await ensureCrd(k);
    const owners = [`${ns}-web`, `${ns}-web-too`];
    const uids = await Promise.all(
      owners.map(
        async (name) =>
          ((await requestJson(k.kc, 'POST', CRITS, { body: crit(name) })).body as { metadata: { uid: string } })
            .metadata.uid,
      ),
    );
    const base = `/api/v1/namespaces/${ns}/pods`;
    const cm = (
      await requestJson(k.kc, 'POST', `/api/v1/namespaces/${ns}/configmaps`, { body: { metadata: { name: 'owner' } } })
    ).body as { metadata: { uid: string } };
    await requestJson(k.kc, 'POST', base, { body: pod('plain') });
    await requestJson(k.kc, 'POST', base, {
      body: pod('labelled', { labels: { app: 'web', 'app.kubernetes.io/name': 'web-1' } }),
    });
    await requestJson(k.kc, 'POST', base, {
      body: pod('service-watcher-web', {
        labels: { app: 'web', 'app.kubernetes.io/managed-by': 'critsvc', 'critsvc.mycrd.com/service': 'web' },
        annotations: {
          'service-watcher': 'owned',
          'critsvc.mycrd.com/message': 'Fermé pour travaux — retour à 10 h',
          'other/annotation': 'x',
        },
        ownerReferences: [
          {
            apiVersion: 'mycrd.com/v1',
            kind: 'CriticalService',
            name: owners[0],
            uid: uids[0],
            controller: true,
            blockOwnerDeletion: true,
          },
          { apiVersion: 'mycrd.com/v1', kind: 'CriticalService', name: owners[1], uid: uids[1] },
          { apiVersion: 'v1', kind: 'ConfigMap', name: 'owner', uid: cm.metadata.uid },
        ],
      }),
    });
    await requestJson(k.kc, 'POST', base, { body: pod('ready', { labels: { app: 'web' } }) });
    const now = new Date().toISOString();
    await requestJson(k.kc, 'PATCH', `${base}/ready/status`, {
      contentType: 'application/merge-patch+json',
      body: {
        status: {
          phase: 'Running',
          podIP: '10.0.0.7',
          startTime: now,
          conditions: [
            { type: 'PodScheduled', status: 'True', lastTransitionTime: now },
            { type: 'Ready', status: 'True', lastTransitionTime: now, reason: 'r', message: 'm' },
            { type: 'ContainersReady', status: 'True', lastTransitionTime: now },
          ],
        },
      },
    });
    await requestJson(k.kc, 'POST', base, {
      body: pod('leaving', { labels: { app: 'web' }, finalizers: ['critsvc.test/hold'] }),
    });
    await requestJson(k.kc, 'DELETE', `${base}/leaving`);

    // The controllers may touch a pod between two reads (the pod garbage collector does, on the
    // terminating one): the JSON list is read at exactly the protobuf list's version.
    const raw = await protobufList(base);
    expect(raw.contentType).toMatch(/^application\/vnd\.kubernetes\.protobuf/);
    const decoded = decodePodList(raw.bytes);
    const atVersion = { resourceVersion: decoded.resourceVersion, resourceVersionMatch: 'Exact' };
    const json = (await getJson(k.kc, base, atVersion)) as { items: unknown[] };
    const expected = json.items.map((p) => stripObject('Pod', p));
    expect(decoded.items).toEqual(expected);
    // The cases the decoder must not lose, as the JSON strip keeps them.
    const byName = new Map(decoded.items.map((p) => [p.metadata?.name, p]));
    expect(byName.get('service-watcher-web')?.metadata?.annotations).toEqual({ 'service-watcher': 'owned' });
    expect(byName.get('service-watcher-web')?.metadata?.ownerReferences?.map((o) => o.name)).toEqual(owners);
    expect(byName.get('ready')?.status).toEqual({
      phase: 'Running',
      podIP: '10.0.0.7',
      conditions: [{ type: 'Ready', status: 'True' }],
    });
    expect(byName.get('leaving')?.metadata?.deletionTimestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    const plainJson = json.items.find((p) => (p as { metadata: { name: string } }).metadata.name === 'plain') as {
      metadata: { creationTimestamp: string };
    };
    expect(byName.get('plain')?.metadata?.creationTimestamp).toBe(plainJson.metadata.creationTimestamp);

    // Page by page, as the lists run: the same pods, the continue token and the list's version carried.
    const paged: unknown[] = [];
    let cont: string | undefined;
    let pages = 0;
    do {
      const page = await listPodPage(k.kc, base, 2, cont, cont ? {} : atVersion);
      paged.push(...page.items);
      expect(page.resourceVersion).toMatch(/^\d+$/);
      cont = page.continue;
      pages++;
    } while (cont);
    expect(pages).toBe(3);
    expect(paged).toEqual(expected);

    await requestJson(k.kc, 'PATCH', `${base}/leaving`, {
      contentType: 'application/merge-patch+json',
      body: { metadata: { finalizers: null } },
    });
    for (const name of owners) await requestJson(k.kc, 'DELETE', `${CRITS}/${name}`);
  });

  it('a server that answers JSON instead is read as JSON (custom resources have no protobuf: the same negotiation)', async () => {
    await ensureCrd(k);
    const crits = CRITS;
    const name = `protobuf-${Date.now()}`;
    await requestJson(k.kc, 'POST', crits, { body: crit(name) });
    try {
      const json = (await getJson(k.kc, crits)) as { items: unknown[] };
      const page = await listPodPage(k.kc, crits, 500);
      expect(page.items.map((o) => o.metadata?.name)).toContain(name);
      expect(page.items).toEqual(json.items.map((o) => stripObject('Pod', o)));
    } finally {
      await requestJson(k.kc, 'DELETE', `${crits}/${name}`);
    }
  });

  it("an error answered in protobuf keeps its code and the API server's message", async () => {
    const err = await listPodPage(k.kc, '/api/v1/namespaces/default/pods', 10, undefined, {
      labelSelector: 'a in (',
    }).catch((e: unknown) => e);
    expect(httpStatus(err)).toBe(400);
    expect(apiMessage(err)).toMatch(/^400: .*unable to parse requirement/);
  });
});
