// The physical floor: the least any controller can do, as fast as it can be done. One process,
// one pod watch on its own connection, and on the DELETE of a pod labelled
// critsvc-bench/floor=<svc> it POSTs the stand-in on one kept-alive, already open connection:
// no queue, no state, no reads, no safety, no client library.
import { Agent, request, type RequestOptions } from 'node:https';
import { KubeConfig } from '@kubernetes/client-node';

const [kubeconfig, namespace] = process.argv.slice(2);
if (!kubeconfig || !namespace) throw new Error('usage: floor-bare.ts <kubeconfig> <namespace>');
const kc = new KubeConfig();
kc.loadFromFile(kubeconfig);
const server = new URL(kc.getCurrentCluster()?.server ?? '');
const tls: RequestOptions = { headers: {} };
await kc.applyToHTTPSOptions(tls);
const base: RequestOptions = {
  ...tls,
  host: server.hostname,
  port: server.port,
  headers: { ...tls.headers, accept: 'application/json' },
};
const writer = new Agent({ keepAlive: true, maxSockets: 1, ca: tls.ca, cert: tls.cert, key: tls.key });

function call(method: string, path: string, body?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const headers = {
      ...base.headers,
      ...(body ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } : {}),
    };
    const req = request({ ...base, agent: writer, method, path, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve(text));
    });
    req.on('error', reject);
    req.end(body);
  });
}

// Open the writer's connection now, and keep it warm (the API server closes idle ones after a while).
const list = JSON.parse(await call('GET', `/api/v1/namespaces/${namespace}/pods?limit=1`)) as {
  metadata: { resourceVersion: string };
};
setInterval(() => void call('GET', '/readyz').catch(() => undefined), 10_000).unref();

const watchPath = `/api/v1/namespaces/${namespace}/pods?watch=true&allowWatchBookmarks=true&resourceVersion=${list.metadata.resourceVersion}`;
const watch = request({ ...base, agent: false, method: 'GET', path: watchPath }, (res) => {
  let buf = '';
  res.setEncoding('utf8');
  res.on('data', (chunk: string) => {
    buf += chunk;
    let nl;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      const ev = JSON.parse(line) as { type: string; object: { metadata?: { labels?: Record<string, string> } } };
      const svc = ev.object.metadata?.labels?.['critsvc-bench/floor'];
      if (ev.type !== 'DELETED' || !svc) continue;
      const pod = {
        metadata: { name: `floor-${svc}`, labels: { role: svc, 'critsvc-bench/standin': 'true' } },
        spec: { containers: [{ name: 'c', image: 'nginx' }] },
      };
      call('POST', `/api/v1/namespaces/${namespace}/pods`, JSON.stringify(pod)).catch((err: unknown) =>
        console.error(`floor create failed: ${String(err)}`),
      );
    }
  });
  res.on('end', () => {
    console.error('floor watch ended');
    process.exit(1);
  });
});
watch.on('error', (err) => {
  console.error(`floor watch failed: ${String(err)}`);
  process.exit(1);
});
watch.end();
console.log('ready');
