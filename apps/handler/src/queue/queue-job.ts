// A job from the event queue, checked before it reaches the state: the queue is a trust
// boundary (anyone with Redis access can write to it), so a job that is not one is skipped.
import { KINDS, type Kind, type QueueJob } from '@critsvc/shared';

const EVENT_TYPES: readonly unknown[] = ['ADDED', 'MODIFIED', 'DELETED'];

export function asQueueJob(data: unknown): QueueJob | undefined {
  if (typeof data !== 'object' || data === null) return undefined;
  const d = data as Record<string, unknown>;
  if (!KINDS.includes(d.kind as Kind)) return undefined;
  if (d.type === 'SYNCED')
    return isSyncJob(d)
      ? ({ ...(d as unknown as QueueJob), seenAt: typeof d.seenAt === 'number' ? d.seenAt : 0 } as QueueJob)
      : undefined;
  if (!isEventJob(d)) return undefined;
  // Without seenAt the latency is unknown: 0 keeps the job out of the latency metric.
  return { ...(d as unknown as QueueJob), seenAt: typeof d.seenAt === 'number' ? d.seenAt : 0 } as QueueJob;
}

/**
 * A list's marker names its list, whose ADDED jobs must all have reached the state before it (see
 * ListMarks). The older form naming every key (`keys`) is refused from the queue: it let anyone
 * holding the Redis password empty a whole scope with one job (`keys: []`). Only the handler's own
 * lists, which never go through Redis, still name their keys.
 */
function isSyncJob(d: Record<string, unknown>): boolean {
  return (
    typeof d.scope === 'string' &&
    typeof d.resourceVersion === 'string' &&
    typeof d.list === 'string' &&
    d.list !== '' &&
    d.keys === undefined &&
    (d.count === undefined || (typeof d.count === 'number' && Number.isInteger(d.count) && d.count >= 0))
  );
}

function isEventJob(d: Record<string, unknown>): boolean {
  return (
    EVENT_TYPES.includes(d.type) &&
    typeof d.object === 'object' &&
    d.object !== null &&
    (d.list === undefined || (typeof d.list === 'string' && d.list !== ''))
  );
}

/** A malformed job as a log line can carry it: 200 characters at most. */
export function summarize(data: unknown): string {
  const s = JSON.stringify(data) ?? String(data);
  return s.length > 200 ? `${s.slice(0, 200)}…` : s;
}
