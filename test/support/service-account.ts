// A kubeconfig that authenticates as a ServiceAccount, with a token from the TokenRequest API.
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Kube } from './kube.ts';

export async function serviceAccountKubeconfig(k: Kube, namespace: string, name: string): Promise<string> {
  const req = await k.core.createNamespacedServiceAccountToken({
    namespace,
    name,
    body: { spec: { audiences: [], expirationSeconds: 3600 } },
  });
  const token = req.status?.token;
  if (!token) throw new Error(`no token for ${namespace}/${name}`);
  const cluster = k.kc.getCurrentCluster();
  if (!cluster) throw new Error('no cluster');
  const file = join(tmpdir(), `critsvc-${name}-${Date.now()}.kubeconfig`);
  writeFileSync(
    file,
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      'current-context': 'sa',
      clusters: [{ name: 'c', cluster: { server: cluster.server, 'certificate-authority-data': cluster.caData } }],
      users: [{ name: name, user: { token } }],
      contexts: [{ name: 'sa', context: { cluster: 'c', user: name } }],
    }),
    { mode: 0o600 },
  );
  return file;
}
