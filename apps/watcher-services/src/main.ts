// watcher-services: lists then watches Services in the watched namespaces, pushing every event.
import { runMain, runWatcher, serviceTargets } from '@critsvc/shared';

runMain('watcher-services', () =>
  runWatcher({ name: 'watcher-services', kind: 'Service', targets: (kc, config) => serviceTargets(kc, config.NAMESPACES) }, process.env));
