// watcher-pods: lists then watches pods in the watched namespaces, pushing every event.
import { podTargets, runMain, runWatcher } from '@critsvc/shared';

runMain('watcher-pods', () =>
  runWatcher({ name: 'watcher-pods', kind: 'Pod', targets: (kc, config) => podTargets(kc, config.NAMESPACES) }, process.env));
