// watcher-crds: lists then watches the cluster-scoped CriticalServices, pushing every event.
import { narrowClientNode } from '@critsvc/shared/narrow-client-node';

// Before client-node is loaded: KubeConfig without the generated API it does not use (~45 MB of RSS; narrow-client-node.ts).
narrowClientNode();
const { criticalServiceTargets, runMain, runWatcher } = await import('@critsvc/shared');

runMain('watcher-crds', () =>
  runWatcher(
    { name: 'watcher-crds', kind: 'CriticalService', targets: (kc) => criticalServiceTargets(kc) },
    process.env,
  ),
);
