// What the actions share: the parts they work with, a write awaited as an expectation, the
// repair of a pod the API server holds otherwise than the state, a logger per Service.
import type { HandlerConfig, Logger } from '@critsvc/shared';
import type { DecisionQueue } from './decision-queue.ts';
import { EXPECTATION_TTL_MS, type Expectations, type Expected } from './expectations.ts';
import type { Confirmed } from '../kube/confirmed.ts';
import type { KubeActions, PodRef } from '../kube/kube-actions.ts';
import type { Templates } from '../kube/template-watch.ts';
import type { HandlerMetrics } from '../metrics/metrics.ts';
import type { OutageClock } from '../metrics/outage-clock.ts';
import type { Timeline } from '../metrics/timeline.ts';
import type { ApplyResult, Store } from '../model/store.ts';
import type { PodInfo } from '../model/types.ts';
import type { Reporter } from '../status/reporter.ts';
import type { StatusWriter } from '../status/status-writer.ts';

export interface ActionParts {
  cfg: Pick<HandlerConfig, 'NAMESPACES' | 'READY_PODS_ONLY'>;
  kube: KubeActions;
  log: Logger;
  metrics: HandlerMetrics;
  store: Store;
  queue: DecisionQueue;
  expectations: Expectations;
  templates: Templates;
  reporter: Reporter;
  status: Pick<StatusWriter, 'markAll'>;
  timeline: Timeline;
  clock: OutageClock;
  /** The state took what the API server said: the Services it concerns are decided again. */
  applyLive: (results: ApplyResult[]) => void;
  /** Versions of Services and CriticalServices the API server gave: the live reads add theirs. */
  confirmed: Confirmed;
}

/**
 * A write awaited as an expectation: the decisions taken meanwhile see it coming, the Service is
 * decided again after the expectation's TTL in case the watch never shows the result, and a call
 * that fails clears it.
 */
export async function awaited<T>(
  o: Pick<ActionParts, 'queue' | 'expectations'>,
  key: string,
  expected: Expected,
  call: () => Promise<T>,
): Promise<T> {
  o.expectations.expect(expected);
  o.queue.addAfter(key, EXPECTATION_TTL_MS + 1_000);
  try {
    return await call();
  } catch (err) {
    o.expectations.clear(expected);
    throw err;
  }
}

/** The live pod was not what the state said (gone, another, not ours): the state takes what the API server says. */
export async function repairPod(
  o: Pick<ActionParts, 'kube' | 'store' | 'applyLive'>,
  pod: PodInfo,
  result: 'gone' | 'replaced' | 'refused',
): Promise<void> {
  // 'gone' was the API server's answer already; the others need the object it holds now.
  const live = result === 'gone' ? undefined : await o.kube.readPod(pod.namespace, pod.name);
  o.applyLive([o.store.takeLive('Pod', pod.key, live)]);
}

/** A child logger per Service: every line about it carries `svc` (grep '"svc":"ns/name"'). */
export function logFor(log: Logger, key: string): Logger {
  return log.child({ svc: key });
}

/** What a delete or owners patch means: this pod, standing in for this Service. */
export function podRef(serviceKey: string, pod: PodInfo): PodRef {
  return {
    namespace: pod.namespace,
    name: pod.name,
    uid: pod.uid,
    service: serviceKey.slice(serviceKey.indexOf('/') + 1),
  };
}
