// watcher-crds: lists then watches the cluster-scoped CriticalServices, pushing every event.
import { criticalServiceTargets, runMain, runWatcher } from '@critsvc/shared';

runMain('watcher-crds', () =>
  runWatcher({ name: 'watcher-crds', kind: 'CriticalService', targets: (kc) => criticalServiceTargets(kc) }, process.env));
