// deploy/ applied to the real API server: every ServiceAccount can do what its process needs
// and nothing dangerous; then the pipeline runs under those very ServiceAccounts.
import { spawnSync } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AuthorizationV1Api } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { freshNamespace, kube, suffix } from '../support/kube.ts';
import { createCrit, createRealPod, createService, defaultPods, deleteCrit } from '../support/objects.ts';
import { Pipeline, PROCESSES, type ProcessName } from '../support/pipeline.ts';
import { TestRedis } from '../support/redis.ts';
import { serviceAccountKubeconfig } from '../support/service-account.ts';
import { eventually } from '../support/wait.ts';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const k = kube();
const authz = k.kc.makeApiClient(AuthorizationV1Api);

beforeAll(() => {
  spawnSync('bash', [join(root, 'deploy/make-secrets.sh')], { stdio: 'ignore' });
  const res = spawnSync('kubectl', ['apply', '-k', join(root, 'deploy')], {
    env: { ...process.env, KUBECONFIG: inject('kubeconfig') },
    encoding: 'utf8',
  });
  if (res.status !== 0) throw new Error(`kubectl apply -k deploy/ failed: ${res.stderr}`);
});

async function can(
  sa: string,
  verb: string,
  resource: string,
  o: { group?: string; ns?: string; name?: string; sub?: string } = {},
): Promise<boolean> {
  const review = await authz.createSubjectAccessReview({
    body: {
      spec: {
        user: `system:serviceaccount:linux-mag:${sa}`,
        groups: ['system:serviceaccounts', 'system:serviceaccounts:linux-mag', 'system:authenticated'],
        resourceAttributes: {
          verb,
          resource,
          group: o.group ?? '',
          ...(o.ns ? { namespace: o.ns } : {}),
          ...(o.name ? { name: o.name } : {}),
          ...(o.sub ? { subresource: o.sub } : {}),
        },
      },
    },
  });
  return review.status?.allowed ?? false;
}

const CRD = { group: 'mycrd.com' };
type Row = [string, string, string, Parameters<typeof can>[3], boolean];
const needed: Row[] = [
  ['critsvc-watcher-services', 'list', 'services', { ns: 'any' }, true],
  ['critsvc-watcher-services', 'watch', 'services', {}, true],
  ['critsvc-watcher-pods', 'list', 'pods', {}, true],
  ['critsvc-watcher-pods', 'watch', 'pods', { ns: 'any' }, true],
  ['critsvc-watcher-crds', 'list', 'criticalservices', CRD, true],
  ['critsvc-watcher-crds', 'watch', 'criticalservices', CRD, true],
  ['critsvc-handler', 'list', 'pods', {}, true],
  ['critsvc-handler', 'create', 'pods', { ns: 'any' }, true],
  ['critsvc-handler', 'delete', 'pods', { ns: 'any' }, true],
  ['critsvc-handler', 'patch', 'pods', { ns: 'any' }, true], // default pods' ownerReferences follow coverage
  ['critsvc-handler', 'get', 'pods', { ns: 'any', name: 'x' }, true], // the live pod, before a delete or patch
  ['critsvc-handler', 'get', 'services', { ns: 'any', name: 'x' }, true], // the live check before a create
  ['critsvc-handler', 'get', 'criticalservices', { ...CRD, name: 'x' }, true],
  ['critsvc-handler', 'list', 'services', {}, true],
  ['critsvc-handler', 'list', 'criticalservices', CRD, true],
  ['critsvc-handler', 'patch', 'criticalservices', { ...CRD, sub: 'status', name: 'x' }, true],
  ['critsvc-handler', 'get', 'podtemplates', { ns: 'linux-mag', name: 'critical-service-pod-template' }, true],
  // The template's watch: list and watch with fieldSelector metadata.name=<name> (the API server authorizes them by that name).
  ['critsvc-handler', 'list', 'podtemplates', { ns: 'linux-mag', name: 'critical-service-pod-template' }, true],
  ['critsvc-handler', 'watch', 'podtemplates', { ns: 'linux-mag', name: 'critical-service-pod-template' }, true],
  ['critsvc-handler', 'create', 'events', { ns: 'any' }, true],
  [
    'critsvc-handler',
    'get',
    'leases',
    { group: 'coordination.k8s.io', ns: 'linux-mag', name: 'critsvc-handler' },
    true,
  ], // leader election
  [
    'critsvc-handler',
    'update',
    'leases',
    { group: 'coordination.k8s.io', ns: 'linux-mag', name: 'critsvc-handler' },
    true,
  ],
  ['critsvc-handler', 'create', 'leases', { group: 'coordination.k8s.io', ns: 'linux-mag' }, true],
  // The hand-back's proof: the Service's EndpointSlices show a ready endpoint that is a real pod.
  ['critsvc-handler', 'list', 'endpointslices', { group: 'discovery.k8s.io', ns: 'any' }, true],
];
const dangerous: Row[] = [
  ...['critsvc-watcher-services', 'critsvc-watcher-pods', 'critsvc-watcher-crds'].flatMap((sa): Row[] => [
    [sa, 'delete', 'pods', { ns: 'any' }, false],
    [sa, 'create', 'pods', { ns: 'any' }, false],
    [sa, 'get', 'secrets', { ns: 'linux-mag' }, false],
  ]),
  ['critsvc-watcher-services', 'list', 'pods', {}, false],
  ['critsvc-watcher-pods', 'list', 'services', {}, false],
  ['critsvc-watcher-crds', 'patch', 'criticalservices', { ...CRD, sub: 'status', name: 'x' }, false],
  ['critsvc-handler', 'get', 'secrets', { ns: 'linux-mag' }, false],
  ['critsvc-handler', 'list', 'secrets', {}, false],
  ['critsvc-handler', 'update', 'pods', { ns: 'any' }, false],
  ['critsvc-handler', 'patch', 'pods', { ns: 'any', sub: 'status' }, false],
  ['critsvc-handler', 'create', 'pods', { ns: 'any', sub: 'exec' }, false],
  ['critsvc-handler', 'delete', 'services', { ns: 'any' }, false],
  ['critsvc-handler', 'update', 'criticalservices', CRD, false],
  ['critsvc-handler', 'delete', 'criticalservices', CRD, false],
  ['critsvc-handler', 'get', 'podtemplates', { ns: 'other' }, false],
  [
    'critsvc-handler',
    'update',
    'leases',
    { group: 'coordination.k8s.io', ns: 'linux-mag', name: 'another-lease' },
    false,
  ],
  [
    'critsvc-handler',
    'update',
    'leases',
    { group: 'coordination.k8s.io', ns: 'kube-system', name: 'kube-controller-manager' },
    false,
  ],
  [
    'critsvc-handler',
    'delete',
    'leases',
    { group: 'coordination.k8s.io', ns: 'linux-mag', name: 'critsvc-handler' },
    false,
  ],
  ['critsvc-handler', 'list', 'podtemplates', { ns: 'linux-mag' }, false], // every template there
  ['critsvc-handler', 'watch', 'podtemplates', { ns: 'linux-mag', name: 'another' }, false],
  ['critsvc-handler', 'create', 'clusterrolebindings', { group: 'rbac.authorization.k8s.io' }, false],
  ['critsvc-dashboard', 'list', 'pods', {}, false],
  // Only the handler reads EndpointSlices, and it never writes them.
  ...['critsvc-watcher-services', 'critsvc-watcher-pods', 'critsvc-watcher-crds', 'critsvc-dashboard'].map(
    (sa): Row => [sa, 'list', 'endpointslices', { group: 'discovery.k8s.io', ns: 'any' }, false],
  ),
  ['critsvc-handler', 'watch', 'endpointslices', { group: 'discovery.k8s.io', ns: 'any' }, false],
  ['critsvc-handler', 'update', 'endpointslices', { group: 'discovery.k8s.io', ns: 'any' }, false],
];

describe('RBAC of deploy/', () => {
  it.each(needed)('%s may %s %s %o', async (sa, verb, res, o, allowed) => {
    expect(await can(sa, verb, res, o)).toBe(allowed);
  });
  it.each(dangerous)('%s may not %s %s %o', async (sa, verb, res, o, allowed) => {
    expect(await can(sa, verb, res, o)).toBe(allowed);
  });
});

describe('the pipeline under its own ServiceAccounts', () => {
  let redis: TestRedis;
  let pipeline: Pipeline | undefined;
  const crit = `rbac-${suffix()}`;
  beforeAll(async () => {
    redis = await TestRedis.start();
  });
  afterAll(async () => {
    await pipeline?.stop();
    await redis.stop();
    await deleteCrit(k, crit);
  });

  it("runs the article's scenario with nothing but the deployed permissions", async () => {
    const ns = await freshNamespace(k, 'rbac-run');
    const kubeconfigs: Partial<Record<ProcessName, string>> = {};
    for (const p of PROCESSES) kubeconfigs[p] = await serviceAccountKubeconfig(k, 'linux-mag', `critsvc-${p}`);
    // As deployed: the handler elects itself leader on the Lease in linux-mag, with its own token.
    pipeline = await Pipeline.start({
      namespaces: [ns],
      redisUrl: redis.url,
      templateNamespace: 'linux-mag',
      kubeconfigs,
      env: { LEADER_ELECTION: 'true', LEASE_NAMESPACE: 'linux-mag' },
    });
    await createService(k, ns, 'frontend', { labels: { role: 'frontend' } });
    await createCrit(k, crit, { namespace: ns, matchLabels: [{ key: 'role', value: 'frontend' }] });
    await eventually('default pod', async () => (await defaultPods(k, ns)).length === 1);
    await createRealPod(k, ns, 'nginx', { role: 'frontend' });
    await eventually('default pod removed', async () => (await defaultPods(k, ns)).length === 0);
    const forbidden = PROCESSES.flatMap(
      (p) =>
        pipeline
          ?.logs(p)
          .filter((l) => ['warn', 'error'].includes(l.level) && /\b403\b|forbidden/i.test(JSON.stringify(l))) ?? [],
    );
    expect(forbidden).toEqual([]);
  });
});
