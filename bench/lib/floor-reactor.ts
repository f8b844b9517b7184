// The floor: the least a controller can do. One process, one pod watch, and on the DELETE of a
// pod labelled critsvc-bench/floor=<svc> it creates the stand-in pod directly: no queue, no
// handler, no state, no safety. critsvc's latency is reported as a ratio to this one's.
import { CoreV1Api, KubeConfig, Watch } from '@kubernetes/client-node';

const [kubeconfig, namespace] = process.argv.slice(2);
if (!kubeconfig || !namespace) throw new Error('usage: floor-reactor.ts <kubeconfig> <namespace>');
const kc = new KubeConfig();
kc.loadFromFile(kubeconfig);
const core = kc.makeApiClient(CoreV1Api);

interface RawPod {
  metadata?: { name?: string; labels?: Record<string, string> };
}

const list = await core.listNamespacedPod({ namespace });
await new Watch(kc).watch(
  `/api/v1/namespaces/${namespace}/pods`,
  { resourceVersion: list.metadata?.resourceVersion, allowWatchBookmarks: true },
  (type, obj: RawPod) => {
    const svc = obj.metadata?.labels?.['critsvc-bench/floor'];
    if (type !== 'DELETED' || !svc) return;
    core
      .createNamespacedPod({
        namespace,
        body: {
          metadata: { name: `floor-${svc}`, labels: { role: svc, 'critsvc-bench/standin': 'true' } },
          spec: { containers: [{ name: 'c', image: 'nginx' }] },
        },
      })
      .catch((err: unknown) => console.error(`floor create failed: ${String(err)}`));
  },
  (err) => {
    console.error(`floor watch ended: ${String(err)}`);
    process.exit(1);
  },
);
console.log('ready');
