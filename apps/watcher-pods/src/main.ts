// watcher-pods: lists then watches pods in the watched namespaces, pushing every event.
import { narrowClientNode } from '@critsvc/shared/narrow-client-node';

// Before client-node is loaded: KubeConfig without the generated API it does not use (~45 MB of RSS; narrow-client-node.ts).
narrowClientNode();
const { podTargets, runMain, runWatcher } = await import('@critsvc/shared');

runMain('watcher-pods', () =>
  runWatcher(
    { name: 'watcher-pods', kind: 'Pod', targets: (kc, config) => podTargets(kc, config.NAMESPACES) },
    process.env,
  ),
);
