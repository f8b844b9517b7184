// What /healthz says of the handler: alive means still able to act. A kubelet restarts a handler
// whose queue worker stopped for good or whose work loops stopped making progress (a decision
// that never returns, a loop that died); a merely idle or slow handler is alive.

/** No decision finished for this long while Services wait: the work loops are wedged. */
export const WEDGED_AFTER_MS = 120_000;

export interface LivenessInput {
  /** The queue worker exists (after the start-up list) and whether it still runs. */
  workerRunning: boolean | undefined;
  /** Services waiting for a decision, and in work now. */
  waiting: number;
  busy: number;
  /** When a decision last finished, or work last arrived at an idle queue. */
  lastProgressAt: number;
  now: number;
}

/** undefined: alive; otherwise why not. */
export function livenessProblem(i: LivenessInput): string | undefined {
  if (i.workerRunning === false) return 'the queue worker has stopped';
  const idleFor = i.now - i.lastProgressAt;
  if ((i.waiting > 0 || i.busy > 0) && idleFor > WEDGED_AFTER_MS) {
    return `no decision finished for ${Math.round(idleFor / 1000)} s while ${i.waiting} Service(s) wait and ${i.busy} are in work`;
  }
  return undefined;
}
