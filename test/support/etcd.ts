// etcd's own API (its gRPC gateway): compaction is what makes old resourceVersions answer 410.
async function post<T>(etcdUrl: string, path: string, body: object): Promise<T> {
  const res = await fetch(`${etcdUrl}${path}`, { method: 'POST', body: JSON.stringify(body) });
  if (!res.ok) throw new Error(`etcd ${path}: HTTP ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

/** Compacts etcd's history up to its current revision; returns that revision. */
export async function compactEtcd(etcdUrl: string): Promise<string> {
  const range = await post<{ header: { revision: string } }>(etcdUrl, '/v3/kv/range', {
    key: Buffer.from('/').toString('base64'),
  });
  await post(etcdUrl, '/v3/kv/compaction', { revision: range.header.revision, physical: true });
  return range.header.revision;
}
