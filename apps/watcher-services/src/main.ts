// watcher-services: lists then watches Services in the watched namespaces, pushing every event.
import { narrowClientNode } from '@critsvc/shared/narrow-client-node';

// Before client-node is loaded: KubeConfig without the generated API it does not use (~45 MB of RSS; narrow-client-node.ts).
narrowClientNode();
const { runMain, runWatcher, serviceTargets } = await import('@critsvc/shared');

runMain('watcher-services', () =>
  runWatcher(
    { name: 'watcher-services', kind: 'Service', targets: (kc, config) => serviceTargets(kc, config.NAMESPACES) },
    process.env,
  ),
);
