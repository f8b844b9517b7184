// What the handler tells people, besides its log: Events on Services (and on the PodTemplate),
// each problem once per Service and topic, Warnings rate-limited per reason across Services.
// Events are best effort: a failure to record one is logged and counted, never retried.
import { logError, type Logger } from '@critsvc/shared';
import { EventLimiter } from './event-limiter.ts';
import type { KubeActions } from '../kube/kube-actions.ts';
import type { HandlerMetrics } from '../metrics/metrics.ts';
import type { NormalReason, WarningReason } from '../model/reasons.ts';
import type { ServiceInfo } from '../model/types.ts';

type EventType = 'Normal' | 'Warning';

/** A problem of one Service, said once per topic until what it is changes (or the topic is settled). */
export interface Warning {
  /** What kind of problem (template, refused, limit, …): settled() ends it. */
  topic: string;
  /** Which one: the same `what` again is not said again. */
  what: string;
  reason: WarningReason;
  /** The Event's message and the log line's detail. */
  message: string;
  /** More fields for the log line. */
  detail?: object;
}

export class Reporter {
  /** Service → what was already reported, by topic (template, refused, name-taken, …). */
  private readonly reported = new Map<string, Map<string, string>>();
  private readonly warnings: EventLimiter;
  /** PodTemplate (namespace/name) → the problem last reported on it. */
  private readonly templateReported = new Map<string, string>();
  private readonly kube: KubeActions;
  private readonly log: Logger;
  private readonly metrics: HandlerMetrics;

  constructor(kube: KubeActions, log: Logger, metrics: HandlerMetrics, warnings = new EventLimiter()) {
    this.kube = kube;
    this.log = log;
    this.metrics = metrics;
    this.warnings = warnings;
  }

  /** Says `w.message` about the Service once for each new `w.what` of a topic: one log line and one Warning Event. */
  async warnOnce(svc: ServiceInfo, w: Warning): Promise<void> {
    let topics = this.reported.get(svc.key);
    if (topics?.get(w.topic) === w.what) return;
    if (!topics) this.reported.set(svc.key, (topics = new Map()));
    topics.set(w.topic, w.what);
    // A constant message; what happened is in reason and detail (grep '"reason":"DefaultPodRefused"').
    this.log
      .child({ svc: svc.key })
      .error(
        { reason: w.reason, detail: w.message, ...w.detail },
        'a Service needs attention; reported in a Warning Event',
      );
    await this.event(svc, 'Warning', w.reason, w.message);
  }

  /** These topics are over for the Service: a new occurrence is reported again. */
  settled(serviceKey: string, ...topics: string[]): void {
    for (const t of topics) this.reported.get(serviceKey)?.delete(t);
  }

  /** The Service is gone: forget what was said of it. */
  forget(serviceKey: string): void {
    this.reported.delete(serviceKey);
  }

  /** One Warning on the PodTemplate itself per problem: the place to look, whatever the number of lame Services. */
  async templateProblem(template: { namespace: string; name: string }, problem: string): Promise<void> {
    const key = `${template.namespace}/${template.name}`;
    if (this.templateReported.get(key) === problem) return;
    this.templateReported.set(key, problem);
    const ref = { kind: 'PodTemplate' as const, namespace: template.namespace, name: template.name, uid: '' };
    try {
      await this.kube.recordEvent(
        ref,
        'Warning',
        'PodTemplateUnusable',
        `no default pod can be created from it: ${problem}`,
      );
    } catch (err) {
      this.metrics.apiErrors.inc({ op: 'event' });
      this.log.warn({ template: `${ref.namespace}/${ref.name}`, err: logError(err) }, 'could not record event');
    }
  }

  templateFixed(template: { namespace: string; name: string }): void {
    this.templateReported.delete(`${template.namespace}/${template.name}`);
  }

  async event(svc: ServiceInfo, type: EventType, reason: NormalReason | WarningReason, message: string): Promise<void> {
    if (type === 'Warning' && !this.warnings.allow(reason)) {
      this.metrics.eventsSuppressed.inc({ reason });
      return;
    }
    try {
      await this.kube.recordEvent({ namespace: svc.namespace, name: svc.name, uid: svc.uid }, type, reason, message);
    } catch (err) {
      // Events are best effort: never a reason to redo an action.
      this.metrics.apiErrors.inc({ op: 'event' });
      this.log.child({ svc: svc.key }).warn({ reason, err: logError(err) }, 'could not record event');
    }
  }
}
