// Jobs from the event queue into the state: each checked (a malformed one is logged and skipped),
// applied, and what follows from it (awaited creates settled, the Services it concerns made due).
// The fast path's messages take the same way, lists' jobs and markers never.
import { objectKey, type KubeObject, type Logger, type QueueJob } from '@critsvc/shared';
import type { Expectations } from './expectations.ts';
import type { RevisionCheck } from '../kube/revision-check.ts';
import type { HandlerMetrics } from '../metrics/metrics.ts';
import type { ApplyResult, Change, Store } from '../model/store.ts';
import { asQueueJob, summarize } from '../queue/queue-job.ts';
import type { FastPathResult } from '../queue/queue-consumer.ts';

export interface IntakeParts {
  store: Store;
  expectations: Expectations;
  revisions: Pick<RevisionCheck, 'poke'>;
  metrics: HandlerMetrics;
  log: Logger;
  /** A change the state took: the controller follows it (expectations, outage clock, affected Services). */
  onChange: (change: Change, seenAt: number) => void;
  /** The Service is due for a decision. */
  trigger: (key: string, seenAt: number) => void;
  relist: (reason: string) => Promise<void>;
}

export class JobIntake {
  private readonly o: IntakeParts;

  constructor(o: IntakeParts) {
    this.o = o;
  }

  /** One job from the queue. Never throws for bad data: a malformed job is logged and skipped. */
  job(data: unknown): void {
    const job = asQueueJob(data);
    if (!job) {
      this.o.metrics.events.inc({ kind: 'unknown', type: 'unknown', outcome: 'invalid' });
      this.o.log.warn({ job: summarize(data) }, 'malformed queue job skipped');
      return;
    }
    const result = this.take(job);
    this.o.metrics.events.inc({ kind: job.kind, type: job.type, outcome: result.outcome });
    if (result.outcome === 'invalid') {
      this.o.log.warn(
        {
          kind: job.kind,
          key: job.type === 'SYNCED' ? job.scope : objectKey(job.object.metadata),
          error: result.error,
        },
        'malformed object skipped',
      );
    } else if (result.outcome === 'incomplete') {
      this.o.log.warn(
        { kind: job.kind, scope: job.type === 'SYNCED' ? job.scope || '*' : '', error: result.error },
        "a watcher's list did not reach this state whole; listing again instead of trusting it",
      );
      void this.o.relist('incomplete-list');
    }
  }

  /**
   * A watcher's fast-path message: the job it will also deliver, applied now (the queue consumer
   * hands it over only while its worker has no job left to take). Never a list's job or marker:
   * those count only in order, through the queue. Not logged or counted as an event: its job is,
   * and then finds nothing new (outcome stale or unchanged).
   */
  fastPath(data: unknown): FastPathResult {
    const job = asQueueJob(data);
    if (!job || job.type === 'SYNCED' || job.list !== undefined) return 'invalid';
    const { outcome } = this.take(job);
    return outcome === 'changed' ? 'applied' : outcome === 'invalid' ? 'invalid' : 'known';
  }

  /** Applies a job to the state, and what follows from it (awaited creates settled, Services made due). */
  private take(job: QueueJob): ApplyResult {
    const result = this.o.store.apply(job);
    this.o.revisions.poke();
    if (job.kind === 'Pod' && job.type === 'DELETED') this.settleGone(job.object, job.seenAt);
    if (result.outcome === 'changed') for (const change of result.changes) this.o.onChange(change, job.seenAt);
    return result;
  }

  /** A DELETED settles an awaited create even when the pod's ADDED never arrived (coalesced away). */
  private settleGone(obj: KubeObject, seenAt: number): void {
    const { namespace = '', name = '', uid = '' } = obj.metadata ?? {};
    for (const key of this.o.expectations.gone(namespace, name, uid)) this.o.trigger(key, seenAt);
  }
}
