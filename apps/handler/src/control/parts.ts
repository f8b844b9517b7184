// What the controller is built from: the part of the handler's config it reads, and the parts a
// test or tool may hand in instead of those built from that config.
import type { HandlerConfig } from '@critsvc/shared';
import type { DecisionQueue } from './decision-queue.ts';
import type { Expectations } from './expectations.ts';
import type { Templates } from '../kube/template-watch.ts';
import type { Store } from '../model/store.ts';
import type { Reporter } from '../status/reporter.ts';

export type ControllerConfig = Pick<
  HandlerConfig,
  | 'NAMESPACES'
  | 'POD_NAME_PREFIX'
  | 'POD_TEMPLATE_NAME'
  | 'POD_TEMPLATE_NAMESPACE'
  | 'READY_PODS_ONLY'
  | 'DECISION_WORKERS'
  | 'RESYNC_SECONDS'
  | 'RELIST_SECONDS'
  | 'TEMPLATE_RETRY_SECONDS'
  | 'STATUS_FLUSH_MS'
  | 'LAME_GRACE_SECONDS'
  | 'HEALTHY_GRACE_SECONDS'
  | 'MAX_DEFAULT_PODS'
  | 'MAX_DEFAULT_PODS_PER_NAMESPACE'
>;

/** What the controller works with; each may be handed in (tests, tools), else it is built from the config. */
export interface ControllerParts {
  store: Store;
  /** Services waiting for a decision (not the event queue in Redis: that one feeds handleJob). */
  queue: DecisionQueue;
  expectations: Expectations;
  templates: Templates;
  reporter: Reporter;
}
