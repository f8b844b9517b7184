// What one watch means to the ListWatcher loop: its server-side timeout and stall deadline, why
// it ended, and what each of its events does (an object, a bookmark, 410 Gone).
import { httpStatus } from './kube.ts';
import type { WatchEventType } from './types.ts';

export type WatchEnd =
  { reason: 'closed' | 'gone' | 'stopped' | 'relist' | 'stalled' } | { reason: 'error'; err: unknown };

const WATCH_TYPES = new Set(['ADDED', 'MODIFIED', 'DELETED']);

/**
 * The server-side timeout of one watch, spread by up to +20% so that watchers do not all
 * reconnect at once, and when that watch counts as stalled: its timeout plus the margin.
 */
export function watchTimeouts(
  timeoutSeconds: number,
  marginSeconds: number,
  random: () => number = Math.random,
): { serverSeconds: number; stallMs: number } {
  const serverSeconds = Math.max(1, Math.round(timeoutSeconds * (1 + random() * 0.2)));
  return { serverSeconds, stallMs: Math.round((serverSeconds + marginSeconds) * 1000) };
}

/** Why a watch ended, from what the loop knows and the error the client reported. */
export function watchEnd(
  state: { stopped: boolean; gone: boolean; relist: boolean; stalled: boolean },
  err: unknown,
): WatchEnd {
  if (state.stopped) return { reason: 'stopped' };
  if (state.gone || httpStatus(err) === 410) return { reason: 'gone' };
  if (state.relist) return { reason: 'relist' };
  const name = err instanceof Error || err instanceof DOMException ? err.name : '';
  if (state.stalled || name === 'TimeoutError') return { reason: 'stalled' };
  if (err === null || err === undefined || name === 'AbortError') return { reason: 'closed' };
  return { reason: 'error', err };
}

export type EventEffect =
  | { effect: 'object'; type: WatchEventType; resourceVersion: string | undefined }
  | { effect: 'bookmark'; resourceVersion: string | undefined }
  | { effect: 'gone' }
  | { effect: 'error' }
  | { effect: 'unknown' };

/** What one watch event means to the loop; the resourceVersion is where to resume after it. */
export function eventEffect(type: string, obj: unknown): EventEffect {
  if (type === 'ERROR') return isRecord(obj) && obj.code === 410 ? { effect: 'gone' } : { effect: 'error' };
  if (type === 'BOOKMARK') return { effect: 'bookmark', resourceVersion: resourceVersionOf(obj) };
  if (WATCH_TYPES.has(type))
    return { effect: 'object', type: type as WatchEventType, resourceVersion: resourceVersionOf(obj) };
  return { effect: 'unknown' };
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;

function resourceVersionOf(obj: unknown): string | undefined {
  const m = isRecord(obj) ? obj.metadata : undefined;
  return isRecord(m) && typeof m.resourceVersion === 'string' ? m.resourceVersion : undefined;
}
